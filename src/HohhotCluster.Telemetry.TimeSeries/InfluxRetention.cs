using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.TimeSeries;

/// <summary>Configuration section <c>Influx:Retention</c>: how long each resolution of the points is kept.</summary>
public sealed class InfluxRetentionOptions : IValidatableObject
{
    public const string Section = "Influx:Retention";

    /// <summary>The policies and continuous queries are created at start (off: the database is left as it is).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// The revision of these settings. The set-up is done once per cluster and recorded with its revision: a host
    /// starting with the recorded revision or an older one leaves the policies as they are (it only creates what is
    /// missing, with the recorded durations), so a host with a stale configuration never reverts a change. To change
    /// the durations, raise the revision with them (on one host is enough; the others should follow).
    /// </summary>
    [Range(1, int.MaxValue)]
    public int Revision { get; set; } = 1;

    /// <summary>Every raw point (policy <c>raw</c>, the database's default): 90 days.</summary>
    public TimeSpan Raw { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Hourly aggregates (policy <c>hourly</c>): two years.</summary>
    public TimeSpan Hourly { get; set; } = TimeSpan.FromDays(730);

    /// <summary>Daily aggregates by China Standard Time day (policy <c>daily</c>): ten years.</summary>
    public TimeSpan Daily { get; set; } = TimeSpan.FromDays(3650);

    /// <summary>A range longer than this is read from the hourly aggregates even when raw points still cover it.</summary>
    public TimeSpan RawQueryMaxSpan { get; set; } = TimeSpan.FromDays(2);

    /// <summary>A range longer than this is read from the daily aggregates.</summary>
    public TimeSpan HourlyQueryMaxSpan { get; set; } = TimeSpan.FromDays(92);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // InfluxDB 1.x refuses a retention policy shorter than an hour; whole hours keep the statements exact.
        foreach (var (name, value) in new[] { (nameof(Raw), Raw), (nameof(Hourly), Hourly), (nameof(Daily), Daily) })
        {
            if (value < TimeSpan.FromHours(1) || value.Ticks % TimeSpan.TicksPerHour != 0)
            {
                yield return new ValidationResult($"Influx:Retention:{name} must be a whole number of hours, at least one (it is {value}).", [name]);
            }
        }

        if (!(Raw <= Hourly && Hourly <= Daily))
        {
            yield return new ValidationResult("Influx:Retention: Raw <= Hourly <= Daily (coarser aggregates are kept at least as long).", [nameof(Hourly)]);
        }
    }
}

/// <summary>
/// The database's retention policies and continuous queries, created (or brought to the configured durations) at
/// start: <c>raw</c> (default, where every point is written), <c>hourly</c> and <c>daily</c> (sum, mean, min, max and
/// count of every numeric field per series, from the raw points; a day is China Standard Time's, UTC+8). Continuous
/// queries only aggregate what arrives from their creation on: <see cref="BackfillAsync"/> aggregates a past range.
/// At start the set-up runs once per cluster (<see cref="StartOnceAsync"/> through an <see cref="IRetentionSetupGate"/>);
/// <see cref="ApplyAsync"/> applies this host's configuration unconditionally.
/// </summary>
public sealed partial class InfluxRetention(
    IOptions<InfluxOptions> influx, IOptions<InfluxRetentionOptions> options, ILogger<InfluxRetention> logger, IRetentionSetupGate? gate = null) : BackgroundService
{
    public const string RawPolicy = "raw";
    public const string HourlyPolicy = "hourly";
    public const string DailyPolicy = "daily";

    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly string _database = influx.Value.Database;
    private readonly Uri _query = new(new Uri(influx.Value.Url.TrimEnd('/') + "/"), "query");

    /// <summary>Done once the policies and queries are in place (tests and the backfill wait for it), with what this host's start did.</summary>
    public Task<RetentionSetupOutcome> Applied => _applied.Task;

    private readonly TaskCompletionSource<RetentionSetupOutcome> _applied = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly IRetentionSetupGate _gate = gate ?? new UnsharedRetentionSetupGate();

    // In the background, retried: a platform that starts while InfluxDB is away serves (and holds its readings) and sets
    // the policies up once InfluxDB is back; until then points go to the database's default policy.
    protected override async Task ExecuteAsync(CancellationToken cancellationToken)
    {
        if (!options.Value.Enabled)
        {
            return;
        }

        var delay = TimeSpan.FromSeconds(1);
        while (true)
        {
            try
            {
                _applied.TrySetResult(await StartOnceAsync(cancellationToken));
                return;
            }
            catch (Exception exception) when (exception is HttpRequestException or RetentionSetupUnavailableException && !cancellationToken.IsCancellationRequested)
            {
                LogWaiting(exception.Message);
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
        }
    }

    /// <summary>
    /// The start's set-up, once per cluster: alone (through the gate), it applies this host's configuration when nothing
    /// is recorded for the database or the record's revision is older than this host's; otherwise another host (or an
    /// earlier start) did it, and only a policy or continuous query that is missing (an InfluxDB restored or replaced)
    /// is created, with the recorded durations. Nothing existing is altered or dropped then.
    /// </summary>
    public async Task<RetentionSetupOutcome> StartOnceAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var outcome = RetentionSetupOutcome.AlreadyDone;
        await _gate.RunAloneAsync(_database, async (recorded, ct) =>
        {
            if (recorded is { } done && done.Revision >= o.Revision)
            {
                var created = await CreateMissingAsync(done, ct);
                LogAlreadyDone(_database, done.Revision, done.AppliedBy, o.Revision, created);
                return null;
            }

            await ApplyAsync(ct);
            outcome = RetentionSetupOutcome.Applied;
            return new RetentionSetupRecord(o.Revision, o.Raw, o.Hourly, o.Daily);
        }, cancellationToken);
        return outcome;
    }

    /// <summary>The recorded set-up's policies and queries that are not in InfluxDB, created; returns how many.</summary>
    private async Task<int> CreateMissingAsync(RetentionSetupRecord done, CancellationToken cancellationToken)
    {
        var db = Identifier(_database);
        var created = 0;
        await ExecuteAsync($"CREATE DATABASE {db}", cancellationToken);
        var existing = await PolicyNamesAsync(cancellationToken);
        foreach (var (policy, duration, isDefault) in new[] { (RawPolicy, done.Raw, true), (HourlyPolicy, done.Hourly, false), (DailyPolicy, done.Daily, false) })
        {
            if (!existing.Contains(policy))
            {
                await ExecuteAsync($"CREATE RETENTION POLICY {Identifier(policy)} ON {db} DURATION {Hours(duration)} REPLICATION 1{(isDefault ? " DEFAULT" : "")}", cancellationToken);
                created++;
            }
        }

        var queries = await ContinuousQueryNamesAsync(cancellationToken);
        foreach (var (name, policy, interval) in ContinuousQueries)
        {
            if (!queries.Contains(name))
            {
                await ExecuteAsync($"CREATE CONTINUOUS QUERY {Identifier(name)} ON {db} BEGIN {Downsample(policy, interval, null)} END", cancellationToken);
                created++;
            }
        }

        return created;
    }

    /// <summary>Creates or alters the three policies (raw the default) and recreates the two continuous queries: this host's configuration, unconditionally.</summary>
    public async Task ApplyAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        var db = Identifier(_database);
        await ExecuteAsync($"CREATE DATABASE {db}", cancellationToken);
        var existing = await PolicyNamesAsync(cancellationToken);
        foreach (var (policy, duration, isDefault) in new[] { (RawPolicy, o.Raw, true), (HourlyPolicy, o.Hourly, false), (DailyPolicy, o.Daily, false) })
        {
            var verb = existing.Contains(policy) ? "ALTER" : "CREATE";
            await ExecuteAsync(
                $"{verb} RETENTION POLICY {Identifier(policy)} ON {db} DURATION {Hours(duration)} REPLICATION 1{(isDefault ? " DEFAULT" : "")}", cancellationToken);
        }

        var queries = await ContinuousQueryNamesAsync(cancellationToken);
        foreach (var (name, policy, interval) in ContinuousQueries)
        {
            if (queries.Contains(name))
            {
                await ExecuteAsync($"DROP CONTINUOUS QUERY {Identifier(name)} ON {db}", cancellationToken);
            }

            await ExecuteAsync($"CREATE CONTINUOUS QUERY {Identifier(name)} ON {db} BEGIN {Downsample(policy, interval, null)} END", cancellationToken);
        }

        LogApplied(_database, Hours(o.Raw), Hours(o.Hourly), Hours(o.Daily));
    }

    /// <summary>Aggregates the raw points of [from, to) into the hourly and daily policies (idempotent: same points again).</summary>
    public async Task BackfillAsync(DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken)
    {
        foreach (var (_, policy, interval) in ContinuousQueries)
        {
            await ExecuteAsync(Downsample(policy, interval, (from, to)), cancellationToken);
        }
    }

    private static readonly (string Name, string Policy, string Interval)[] ContinuousQueries =
    [
        ("hohhot_hourly", HourlyPolicy, "1h"),
        // -8h: buckets start at 16:00 UTC, midnight in China Standard Time, the platform's business day.
        ("hohhot_daily", DailyPolicy, "1d, -8h"),
    ];

    private string Downsample(string policy, string interval, (DateTimeOffset From, DateTimeOffset To)? range)
    {
        var db = Identifier(_database);
        var where = range is { } r
            ? $" WHERE time >= {r.From.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}ms AND time < {r.To.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}ms"
            : "";
        return $"SELECT sum(*), mean(*), min(*), max(*), count(*) INTO {db}.{Identifier(policy)}.:MEASUREMENT FROM {db}.{Identifier(RawPolicy)}./.*/{where} GROUP BY time({interval}), *";
    }

    private async Task<HashSet<string>> PolicyNamesAsync(CancellationToken cancellationToken)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        var reply = await ExecuteAsync($"SHOW RETENTION POLICIES ON {Identifier(_database)}", cancellationToken);
        foreach (var series in Series(reply))
        {
            foreach (var row in series.GetProperty("values").EnumerateArray())
            {
                names.Add(row[0].GetString()!);
            }
        }

        return names;
    }

    private async Task<HashSet<string>> ContinuousQueryNamesAsync(CancellationToken cancellationToken)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var series in Series(await ExecuteAsync("SHOW CONTINUOUS QUERIES", cancellationToken)))
        {
            if (series.GetProperty("name").GetString() == _database && series.TryGetProperty("values", out var values))
            {
                foreach (var row in values.EnumerateArray())
                {
                    names.Add(row[0].GetString()!);
                }
            }
        }

        return names;
    }

    private static IEnumerable<JsonElement> Series(JsonElement reply)
    {
        var result = reply.GetProperty("results")[0];
        return result.TryGetProperty("series", out var series) ? series.EnumerateArray().ToArray() : [];
    }

    /// <summary>One InfluxQL statement (POST /query, so DDL and SELECT INTO are allowed); an error InfluxDB reports is thrown.</summary>
    internal async Task<JsonElement> ExecuteAsync(string statement, CancellationToken cancellationToken)
    {
        using var content = new FormUrlEncodedContent([new("q", statement), new("db", _database)]);
        using var response = await Http.PostAsync(_query, content, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"InfluxDB answered {(int)response.StatusCode} to '{statement}': {body}");
        }

        using var document = JsonDocument.Parse(body);
        var root = document.RootElement.Clone();
        if (root.GetProperty("results")[0].TryGetProperty("error", out var error))
        {
            throw new InvalidOperationException($"InfluxDB refused '{statement}': {error.GetString()}");
        }

        return root;
    }

    /// <summary>An InfluxQL identifier, double-quoted (the names come from configuration, never from a caller).</summary>
    internal static string Identifier(string name) =>
        "\"" + name.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private static string Hours(TimeSpan duration) => ((long)duration.TotalHours).ToString(CultureInfo.InvariantCulture) + "h";

    [LoggerMessage(EventId = 1201, Level = LogLevel.Information, Message = "InfluxDB {Database}: retention raw {Raw} (default), hourly {Hourly}, daily {Daily}; continuous queries hohhot_hourly and hohhot_daily")]
    private partial void LogApplied(string database, string raw, string hourly, string daily);

    [LoggerMessage(EventId = 1203, Level = LogLevel.Information, Message = "InfluxDB {Database}: retention set up already (revision {Revision}, by {AppliedBy}); this host's revision {Own} leaves it as it is; {Created} missing policies or queries created")]
    private partial void LogAlreadyDone(string database, int revision, string appliedBy, int own, int created);

    [LoggerMessage(EventId = 1202, Level = LogLevel.Warning, Message = "InfluxDB retention set-up waits for InfluxDB: {Error}")]
    private partial void LogWaiting(string error);
}
