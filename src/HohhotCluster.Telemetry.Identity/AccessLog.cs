using System.Threading.Channels;
using Dapper;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.Identity;

public sealed record AccessLogEntry
{
    public required DateTimeOffset At { get; init; }
    public string? AccountId { get; init; }
    public string? OrganisationId { get; init; }
    public required string Method { get; init; }
    /// <summary>What was asked for: the request, shortened (a large document is named by its size only).</summary>
    public string Request { get; init; } = "";
    /// <summary>The gRPC status code's name, e.g. OK, PERMISSION_DENIED.</summary>
    public required string Status { get; init; }
    public string Detail { get; init; } = "";
    public double DurationMs { get; init; }
    public string Peer { get; init; } = "";
}

public sealed record AccessLogQuery
{
    public DateTimeOffset? From { get; init; }
    public DateTimeOffset? To { get; init; }
    public string? AccountId { get; init; }
    public string? OrganisationId { get; init; }
    public string? Method { get; init; }
    public int Limit { get; init; } = 200;
}

/// <summary>
/// The access log in PostgreSQL: every call is queued as it ends and written in batches (one statement a batch, at
/// most a second later); a full queue makes the caller wait rather than lose an entry. Entries older than
/// <see cref="IdentityOptions.AccessLogRetention"/> are deleted by storage's <c>StoreRetention</c> (a rule registered with identity).
/// </summary>
public sealed partial class AccessLog(NpgsqlDataSource dataSource, IOptions<IdentityOptions> options, TimeProvider clock, ILogger<AccessLog> logger)
    : BackgroundService
{
    private readonly Channel<AccessLogEntry> _queue = Channel.CreateBounded<AccessLogEntry>(
        new BoundedChannelOptions(50_000) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    public ValueTask RecordAsync(AccessLogEntry entry, CancellationToken cancellationToken) => _queue.Writer.WriteAsync(entry, cancellationToken);

    /// <summary>
    /// Writes the entry before returning (exports and traces: the answer leaves only once its log row is committed,
    /// so no crash can hide who took what). Transient PostgreSQL failures are retried; then the call fails.
    /// </summary>
    public Task RecordNowAsync(AccessLogEntry entry, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await WriteAsync([entry], ct);
            return 0;
        }, cancellationToken);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<AccessLogEntry>(1000);
        while (await WaitAsync(stoppingToken))
        {
            // Gather what arrives within the flush interval into one statement (stopping: write at once).
            try
            {
                await Task.Delay(options.Value.AccessLogFlushInterval, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                // Stopping: write what is queued now.
            }

            while (batch.Count < 5000 && _queue.Reader.TryRead(out var entry))
            {
                batch.Add(entry);
            }

            await WriteWithRetryAsync(batch, stoppingToken);
            batch.Clear();
        }
    }

    private async Task<bool> WaitAsync(CancellationToken stoppingToken)
    {
        try
        {
            return await _queue.Reader.WaitToReadAsync(stoppingToken);
        }
        catch (OperationCanceledException)
        {
            // Stopping: write what is left without waiting for more.
            return _queue.Reader.Count > 0;
        }
    }

    private async Task WriteWithRetryAsync(List<AccessLogEntry> batch, CancellationToken stoppingToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await WriteAsync(batch, CancellationToken.None);
                return;
            }
            catch (NpgsqlException exception) when (attempt < 30 && !stoppingToken.IsCancellationRequested)
            {
                LogWriteFailed(batch.Count, exception);
                await Task.Delay(TimeSpan.FromSeconds(Math.Min(10, 1 << Math.Min(attempt, 4))), clock, CancellationToken.None);
            }
        }
    }

    private async Task WriteAsync(List<AccessLogEntry> batch, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            insert into access_log (at, account_id, organisation_id, method, request, status, detail, duration_ms, peer)
            select * from unnest(@at, @account, @organisation, @method, @request, @status, @detail, @duration, @peer)
            """,
            new
            {
                at = batch.Select(e => e.At.UtcDateTime).ToArray(),
                account = batch.Select(e => e.AccountId).ToArray(),
                organisation = batch.Select(e => e.OrganisationId).ToArray(),
                method = batch.Select(e => e.Method).ToArray(),
                request = batch.Select(e => e.Request).ToArray(),
                status = batch.Select(e => e.Status).ToArray(),
                detail = batch.Select(e => e.Detail).ToArray(),
                duration = batch.Select(e => (float)e.DurationMs).ToArray(),
                peer = batch.Select(e => e.Peer).ToArray(),
            }, cancellationToken: cancellationToken));
    }

    public async Task<IReadOnlyList<AccessLogEntry>> QueryAsync(AccessLogQuery query, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        var rows = await connection.QueryAsync<Row>(new CommandDefinition(
            """
            select at as At, account_id as AccountId, organisation_id as OrganisationId, method as Method, request as Request,
                   status as Status, detail as Detail, duration_ms as DurationMs, peer as Peer
            from access_log
            where (@from::timestamptz is null or at >= @from) and (@to::timestamptz is null or at < @to)
              and (@account::text is null or account_id = @account) and (@organisation::text is null or organisation_id = @organisation)
              and (@method::text is null or method = @method)
            order by at desc, id desc limit @limit
            """,
            new
            {
                from = query.From?.UtcDateTime,
                to = query.To?.UtcDateTime,
                account = query.AccountId,
                organisation = query.OrganisationId,
                method = query.Method,
                limit = query.Limit,
            }, cancellationToken: cancellationToken));
        return rows.Select(r => new AccessLogEntry
        {
            At = new DateTimeOffset(DateTime.SpecifyKind(r.At, DateTimeKind.Utc)),
            AccountId = r.AccountId,
            OrganisationId = r.OrganisationId,
            Method = r.Method,
            Request = r.Request,
            Status = r.Status,
            Detail = r.Detail,
            DurationMs = r.DurationMs,
            Peer = r.Peer,
        }).ToList();
    }

    private sealed class Row
    {
        public DateTime At { get; init; }
        public string? AccountId { get; init; }
        public string? OrganisationId { get; init; }
        public string Method { get; init; } = "";
        public string Request { get; init; } = "";
        public string Status { get; init; } = "";
        public string Detail { get; init; } = "";
        public float DurationMs { get; init; }
        public string Peer { get; init; } = "";
    }

    [LoggerMessage(EventId = 7001, Level = LogLevel.Warning, Message = "Writing {Count} access log entries failed; retrying")]
    private partial void LogWriteFailed(int count, Exception exception);
}
