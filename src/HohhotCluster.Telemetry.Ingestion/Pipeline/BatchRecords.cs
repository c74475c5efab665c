using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.TimeSeries;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// The accepted records of one batch, one typed slot per kind (<see cref="KindBatch{TRecord}"/>), each entry with
/// its message's index in the batch. The stages call the slots through <see cref="IKindBatch"/>. Dispose it when
/// the batch is done (or retried): the slots are released.
/// </summary>
public sealed class BatchRecords : IDisposable
{
    private readonly List<IKindBatch> _kinds = [];

    /// <summary>The slots of the kinds that have records in this batch, in the order they were opened.</summary>
    public IReadOnlyList<IKindBatch> Kinds => _kinds;

    /// <summary>How many records all slots hold.</summary>
    public int Count => _kinds.Sum(k => k.Count);

    internal TBatch Open<TBatch>(TBatch batch)
        where TBatch : IKindBatch
    {
        lock (_kinds)
        {
            _kinds.Add(batch);
        }

        return batch;
    }

    public void Dispose()
    {
        foreach (var kind in _kinds)
        {
            kind.Release();
        }

        _kinds.Clear();
    }
}

/// <summary>One kind's records of a batch, as the stages see them (the record type stays inside).</summary>
public interface IKindBatch
{
    ITelemetryKind Kind { get; }

    int Count { get; }

    /// <summary>Each record's batch index, key and event time, in slot order.</summary>
    IEnumerable<(int Index, ReadingKey Key, DateTimeOffset EventTime)> Entries { get; }

    /// <summary>Runs the kind's gates; every refused record leaves the slot and is added to <paramref name="rejections"/>.</summary>
    Task GateAsync(List<(int Index, Rejection Rejection)> rejections, CancellationToken cancellationToken);

    /// <summary>Drops the records at these batch indexes (e.g. a conflicting digest): no later stage sees them.</summary>
    void Remove(IReadOnlySet<int> indexes);

    /// <summary>
    /// The kind's <see cref="TelemetryKind{TRecord}.ApplyAsync"/>; returns each record's outcome by batch index. From
    /// here on the slot holds the stored records only (applied, or a duplicate of the same body).
    /// </summary>
    Task<IReadOnlyList<(int Index, ApplyOutcome Outcome)>> ApplyAsync(CancellationToken cancellationToken);

    /// <summary>The kind's typed observers, over the stored records.</summary>
    Task ObserveAsync(CancellationToken cancellationToken);

    /// <summary>The stored records' keys, for the observers of every kind's keys.</summary>
    void AddKeys(List<AcceptedKey> keys);

    /// <summary>The stored records' batch indexes, in slot order (the positions <see cref="WritePoints(LineProtocolWriter, int)"/> takes).</summary>
    IReadOnlyList<int> StoredIndexes { get; }

    /// <summary>Every stored record's points.</summary>
    void WritePoints(LineProtocolWriter writer);

    /// <summary>The points of the stored record at <paramref name="position"/> of <see cref="StoredIndexes"/>.</summary>
    void WritePoints(LineProtocolWriter writer, int position);

    internal void Release();
}

internal sealed class KindBatch<TRecord>(KindRuntime<TRecord> runtime, Action release) : IKindBatch
    where TRecord : class
{
    private readonly List<(int Index, Accepted<TRecord> Record, ApplyOutcome Outcome)> _entries = [];

    public ITelemetryKind Kind => runtime.Kind;

    public int Count => _entries.Count;

    public IEnumerable<(int Index, ReadingKey Key, DateTimeOffset EventTime)> Entries => _entries.Select(e => (e.Index, e.Record.Key, e.Record.EventTime));

    public IReadOnlyList<int> StoredIndexes => [.. _entries.Select(e => e.Index)];

    public void Add(int index, Accepted<TRecord> record)
    {
        lock (_entries)
        {
            _entries.Add((index, record, ApplyOutcome.Applied));
        }
    }

    public async Task GateAsync(List<(int Index, Rejection Rejection)> rejections, CancellationToken cancellationToken)
    {
        if (runtime.Gates.Length == 0 || _entries.Count == 0)
        {
            return;
        }

        var records = _entries.ConvertAll(e => e.Record);
        var refused = new SortedSet<int>();
        foreach (var gate in runtime.Gates)
        {
            foreach (var (position, rejection) in await gate.CheckAsync(records, cancellationToken))
            {
                if (position < 0 || position >= records.Count)
                {
                    throw new InvalidOperationException($"{gate.GetType().Name} refused record {position} of {records.Count}.");
                }

                if (refused.Add(position))
                {
                    rejections.Add((_entries[position].Index, rejection));
                }
            }
        }

        foreach (var position in refused.Reverse())
        {
            _entries.RemoveAt(position);
        }
    }

    public void Remove(IReadOnlySet<int> indexes) => _entries.RemoveAll(e => indexes.Contains(e.Index));

    public async Task<IReadOnlyList<(int Index, ApplyOutcome Outcome)>> ApplyAsync(CancellationToken cancellationToken)
    {
        if (_entries.Count == 0)
        {
            return [];
        }

        var outcomes = await runtime.Kind.ApplyAsync(_entries.ConvertAll(e => e.Record), cancellationToken);
        if (outcomes.Length != _entries.Count)
        {
            throw new InvalidOperationException($"Kind {runtime.Kind} returned {outcomes.Length} outcomes for {_entries.Count} records.");
        }

        var result = new (int, ApplyOutcome)[outcomes.Length];
        var stored = new List<(int, Accepted<TRecord>, ApplyOutcome)>(outcomes.Length);
        for (var i = 0; i < outcomes.Length; i++)
        {
            result[i] = (_entries[i].Index, outcomes[i]);
            if (outcomes[i] is ApplyOutcome.Applied or ApplyOutcome.Duplicate)
            {
                stored.Add((_entries[i].Index, _entries[i].Record, outcomes[i]));
            }
        }

        _entries.Clear();
        _entries.AddRange(stored);
        return result;
    }

    public async Task ObserveAsync(CancellationToken cancellationToken)
    {
        if (_entries.Count == 0)
        {
            return;
        }

        var records = _entries.ConvertAll(e => e.Record);
        foreach (var observer in runtime.Observers)
        {
            await observer.OnAcceptedAsync(records, cancellationToken);
        }
    }

    public void AddKeys(List<AcceptedKey> keys)
    {
        foreach (var (_, record, outcome) in _entries)
        {
            keys.Add(new AcceptedKey(record.Key, record.EventTime, record.Device, runtime.Kind, outcome));
        }
    }

    public void WritePoints(LineProtocolWriter writer)
    {
        foreach (var (_, record, _) in _entries)
        {
            runtime.Kind.WritePoints(writer, record);
        }
    }

    public void WritePoints(LineProtocolWriter writer, int position) => runtime.Kind.WritePoints(writer, _entries[position].Record);

    void IKindBatch.Release() => release();
}
