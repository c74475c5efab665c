using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Dapper;
using Npgsql;

namespace HohhotCluster.Telemetry.Storage;

/// <summary>
/// Group commit of grain state. Writes that grain activations ask for while a flush is running are collected and
/// written together by the next flush: one statement, one round trip, one WAL flush for many grains, each row with
/// its own version check. A write's task completes only after the statement that carries it committed, so
/// <c>WriteStateAsync</c> keeps its meaning for every grain; a failed flush fails every write in it (each grain then
/// drops its activation and the caller retries, as with a single write).
/// </summary>
/// <remarks>
/// One pending write per (type, id) goes into a group; a second one for the same row (two activations of one grain
/// during a failover) waits for the next group, so the version check decides between them as it would one by one.
/// </remarks>
public sealed class GrainStateGroupCommit : IAsyncDisposable
{
    public const string MeterName = "HohhotCluster.Telemetry.Storage";

    // Updates carry the version they expect; inserts carry 0 (stored versions start at 1). The rows returned are
    // the ones written, with their new version: a write that is not among them lost its version check.
    private const string FlushSql =
        """
        with input as (
            select * from unnest(@types::text[], @ids::text[], @states::text[], @expected::bigint[]) as t(grain_type, grain_id, state, expected)
        ), updated as (
            update grain_state g set state = i.state::jsonb, version = g.version + 1, updated_at = now()
            from input i
            where i.expected > 0 and g.grain_type = i.grain_type and g.grain_id = i.grain_id and g.version = i.expected
            returning g.grain_type, g.grain_id, g.version
        ), inserted as (
            insert into grain_state (grain_type, grain_id, state, version)
            select grain_type, grain_id, state::jsonb, 1 from input where expected = 0
            on conflict (grain_type, grain_id) do nothing
            returning grain_type, grain_id, version
        )
        select grain_type, grain_id, version from updated
        union all
        select grain_type, grain_id, version from inserted
        """;

    private static readonly Meter Meter = new(MeterName);
    private static readonly Counter<long> RowsCounter = Meter.CreateCounter<long>("hohhot.grain_state.rows_written", "{row}");
    private static readonly Counter<long> FlushesCounter = Meter.CreateCounter<long>("hohhot.grain_state.flushes", "{flush}");
    private static readonly Histogram<double> CommitDuration = Meter.CreateHistogram<double>(
        "hohhot.grain_state.commit.duration", "s", "PostgreSQL commit latency of one group-committed statement of grain state");

    private readonly NpgsqlDataSource _dataSource;
    private readonly int _maxGroup;
    private readonly Channel<PendingWrite> _pending = Channel.CreateUnbounded<PendingWrite>();
    private readonly Task[] _flushers;
    private long _flushCount;
    private long _rowsWritten;

    /// <param name="flushers">Flushes running at once (each on its own connection).</param>
    /// <param name="maxGroup">Most rows in one flush.</param>
    public GrainStateGroupCommit(NpgsqlDataSource dataSource, int flushers = 2, int maxGroup = 1000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(flushers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxGroup, 1);
        _dataSource = dataSource;
        _maxGroup = maxGroup;
        _flushers = new Task[flushers];
        for (var i = 0; i < flushers; i++)
        {
            _flushers[i] = Task.Run(FlushLoopAsync);
        }
    }

    /// <summary>Flushes run so far (each one statement).</summary>
    public long FlushCount => Interlocked.Read(ref _flushCount);

    /// <summary>Rows written so far by those flushes.</summary>
    public long RowsWritten => Interlocked.Read(ref _rowsWritten);

    /// <summary>
    /// Writes one grain's state (JSON) if its stored version is still <paramref name="expectedVersion"/> (null: the
    /// row must not exist yet). Returns the new version, or null when the version check failed and nothing was written.
    /// </summary>
    public async Task<long?> WriteAsync(string grainType, string grainId, string json, long? expectedVersion)
    {
        var write = new PendingWrite(grainType, grainId, json, expectedVersion ?? 0);
        if (!_pending.Writer.TryWrite(write))
        {
            throw new ObjectDisposedException(nameof(GrainStateGroupCommit), "The grain state writer is shutting down.");
        }

        var version = await write.Done.Task;
        return version > 0 ? version : null;
    }

    private async Task FlushLoopAsync()
    {
        var group = new List<PendingWrite>(_maxGroup);
        var rows = new HashSet<(string, string)>();
        PendingWrite? carried = null;
        while (carried is not null || await _pending.Reader.WaitToReadAsync())
        {
            group.Clear();
            rows.Clear();
            if (carried is not null)
            {
                group.Add(carried);
                rows.Add((carried.GrainType, carried.GrainId));
                carried = null;
            }

            while (group.Count < _maxGroup && _pending.Reader.TryRead(out var write))
            {
                if (!rows.Add((write.GrainType, write.GrainId)))
                {
                    carried = write;
                    break;
                }

                group.Add(write);
            }

            if (group.Count > 0)
            {
                await FlushAsync(group);
            }
        }
    }

    private async Task FlushAsync(List<PendingWrite> group)
    {
        try
        {
            var types = new string[group.Count];
            var ids = new string[group.Count];
            var states = new string[group.Count];
            var expected = new long[group.Count];
            for (var i = 0; i < group.Count; i++)
            {
                (types[i], ids[i], states[i], expected[i]) = (group[i].GrainType, group[i].GrainId, group[i].Json, group[i].ExpectedVersion);
            }

            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            await using var connection = await _dataSource.OpenConnectionAsync();
            var written = new Dictionary<(string, string), long>(group.Count);
            foreach (var row in await connection.QueryAsync<(string Type, string Id, long Version)>(FlushSql, new { types, ids, states, expected }))
            {
                written[(row.Type, row.Id)] = row.Version;
            }

            Interlocked.Increment(ref _flushCount);
            Interlocked.Add(ref _rowsWritten, written.Count);
            FlushesCounter.Add(1);
            CommitDuration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);
            RowsCounter.Add(written.Count);
            foreach (var write in group)
            {
                write.Done.TrySetResult(written.TryGetValue((write.GrainType, write.GrainId), out var version) ? version : 0);
            }
        }
        catch (Exception exception)
        {
            foreach (var write in group)
            {
                write.Done.TrySetException(exception);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        await Task.WhenAll(_flushers);
    }

    private sealed class PendingWrite(string grainType, string grainId, string json, long expectedVersion)
    {
        public string GrainType { get; } = grainType;
        public string GrainId { get; } = grainId;
        public string Json { get; } = json;
        public long ExpectedVersion { get; } = expectedVersion;
        public TaskCompletionSource<long> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
