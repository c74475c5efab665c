using System.ComponentModel.DataAnnotations;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.Storage;

/// <summary>Configuration section <c>Retention</c>: how long PostgreSQL keeps what only grows, and how often it is pruned.</summary>
public sealed class RetentionOptions
{
    public const string Section = "Retention";

    /// <summary>Quarantined messages (their raw payloads), by <c>received_at</c>.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00", ErrorMessage = "Retention:Quarantine must be between 1 and 3650 days.")]
    public TimeSpan Quarantine { get; set; } = TimeSpan.FromDays(90);

    /// <summary>The alert change feed (<c>alert_event</c>), by event time; the alerts themselves stay.</summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00", ErrorMessage = "Retention:AlertEvents must be between 1 and 3650 days.")]
    public TimeSpan AlertEvents { get; set; } = TimeSpan.FromDays(400);

    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Retention:PurgeInterval must be between 1 second and 1 day.")]
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Rows deleted per statement, so a first purge of a large backlog never holds long locks.</summary>
    [Range(100, 1_000_000)]
    public int BatchRows { get; set; } = 10_000;
}

/// <summary>
/// One table's retention, registered by the component that owns the table (<see cref="StoreRetentionExtensions.AddRetentionRule"/>).
/// <paramref name="DeleteSql"/> deletes at most <c>$2</c> rows older than <c>$1</c> (a timestamptz) and returns how many.
/// </summary>
public sealed record RetentionRule(string Table, string DeleteSql, Func<IServiceProvider, TimeSpan> Retention);

public static class StoreRetentionExtensions
{
    /// <summary>Adds a table to the PostgreSQL retention (the owner's own delete statement and retention).</summary>
    public static IServiceCollection AddRetentionRule(this IServiceCollection services, RetentionRule rule) => services.AddSingleton(rule);
}

/// <summary>
/// Deletes what is past its retention in every registered table, at start and every <see cref="RetentionOptions.PurgeInterval"/>,
/// counting what it removed (<c>hohhot.retention.rows_deleted</c> by table, and a log line per table).
/// </summary>
public sealed partial class StoreRetention : BackgroundService
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly IReadOnlyList<RetentionRule> _rules;
    private readonly IServiceProvider _services;
    private readonly RetentionOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<StoreRetention> _logger;
    private readonly Counter<long> _deleted;

    public StoreRetention(NpgsqlDataSource dataSource, IEnumerable<RetentionRule> rules, IServiceProvider services, IOptions<RetentionOptions> options,
        TimeProvider clock, IMeterFactory meters, ILogger<StoreRetention> logger)
    {
        _dataSource = dataSource;
        _rules = [.. rules];
        _services = services;
        _options = options.Value;
        _clock = clock;
        _logger = logger;
        _deleted = meters.Create("HohhotCluster.Telemetry.Storage").CreateCounter<long>(
            "hohhot.retention.rows_deleted", "{row}", "Rows deleted past their retention, by table");
    }

    /// <summary>One pass over every table: the rows deleted per table (tables with nothing to delete included, as 0).</summary>
    public async Task<IReadOnlyDictionary<string, long>> PurgeAsync(CancellationToken cancellationToken)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var rule in _rules)
        {
            var cutoff = _clock.GetUtcNow() - rule.Retention(_services);
            long total = 0;
            while (true)
            {
                await using var command = _dataSource.CreateCommand(rule.DeleteSql);
                command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = cutoff.UtcDateTime });
                command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = _options.BatchRows });
                var deleted = await command.ExecuteNonQueryAsync(cancellationToken);
                total += deleted;
                if (deleted < _options.BatchRows)
                {
                    break;
                }
            }

            counts[rule.Table] = total;
            if (total > 0)
            {
                _deleted.Add(total, new KeyValuePair<string, object?>("table", rule.Table));
                LogPurged(total, rule.Table, cutoff);
            }
        }

        return counts;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(_options.PurgeInterval, _clock);
        do
        {
            try
            {
                await PurgeAsync(stoppingToken);
            }
            catch (NpgsqlException exception)
            {
                // PostgreSQL away (or a table not yet migrated): the rows wait for the next tick, nothing is lost.
                LogPurgeFailed(exception);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 1111, Level = LogLevel.Information, Message = "Retention deleted {Count} rows of {Table} older than {Cutoff:O}")]
    private partial void LogPurged(long count, string table, DateTimeOffset cutoff);

    [LoggerMessage(EventId = 1112, Level = LogLevel.Warning, Message = "Retention failed; retrying at the next tick")]
    private partial void LogPurgeFailed(Exception exception);
}
