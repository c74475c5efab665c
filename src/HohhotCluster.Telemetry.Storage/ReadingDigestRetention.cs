using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.Storage;

/// <summary>How long <c>reading_digest</c> keeps a reading's digest, by its event time.</summary>
public sealed class ReadingDigestOptions
{
    public const string Section = "Postgres:ReadingDigests";

    /// <summary>
    /// Must exceed the ingestion's lateness limit (<c>Ingestion:MaxLateness</c>, 7 days): a reading older than that
    /// is refused as too late before its digest is consulted, so its digest is of no more use. A day's margin.
    /// </summary>
    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00", ErrorMessage = "Postgres:ReadingDigests:Retention must be between 1 and 3650 days (and above Ingestion:MaxLateness).")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(8);

    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00", ErrorMessage = "Postgres:ReadingDigests:PurgeInterval must be between 1 minute and 1 day.")]
    public TimeSpan PurgeInterval { get; set; } = TimeSpan.FromHours(1);
}

/// <summary>
/// Deletes the digests older than <see cref="ReadingDigestOptions.Retention"/> at start and then every
/// <see cref="ReadingDigestOptions.PurgeInterval"/>, and the <c>device_sequence</c> rows of boots not updated for as long
/// (a reading that would fill one of their holes is refused as too late anyway).
/// </summary>
public sealed partial class ReadingDigestRetention(
    ReadingDigestStore store,
    DeviceSequenceStore sequences,
    IOptions<ReadingDigestOptions> options,
    TimeProvider clock,
    ILogger<ReadingDigestRetention> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.PurgeInterval, clock);
        do
        {
            try
            {
                var cutoff = clock.GetUtcNow() - options.Value.Retention;
                var deleted = await store.DeleteEventsBeforeAsync(cutoff, stoppingToken);
                if (deleted > 0)
                {
                    LogPurged(deleted);
                }

                var boots = await sequences.DeleteNotUpdatedSinceAsync(cutoff, stoppingToken);
                if (boots > 0)
                {
                    LogSequencesPurged(boots);
                }
            }
            catch (NpgsqlException exception)
            {
                // PostgreSQL away (or the table not yet migrated): the rows wait for the next tick, nothing is lost.
                LogPurgeFailed(exception);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Deleted {Count} reading digests past their retention")]
    private partial void LogPurged(long count);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Information, Message = "Deleted the delivered-key records of {Count} device boots not updated within the retention")]
    private partial void LogSequencesPurged(long count);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Reading digest retention failed; retrying at the next tick")]
    private partial void LogPurgeFailed(Exception exception);
}
