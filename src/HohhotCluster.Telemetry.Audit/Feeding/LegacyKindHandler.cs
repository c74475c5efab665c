using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Ingestion;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.TimeSeries;

namespace HohhotCluster.Telemetry.Audit.Feeding;

/// <summary>
/// Temporary: runs a typed kind on the pipeline's old extension point until the pipeline reads the kind registry
/// (issue 14's first part); deleted with <see cref="IRecordKindHandler"/>. Nothing here but the casts the old
/// interface needs.
/// </summary>
public sealed class LegacyKindHandler<TRecord>(TelemetryKind<TRecord> kind) : IRecordKindHandler
    where TRecord : class
{
    public string Kind => kind.Name;

    public OwnerKind Owner => kind.Owner;

    public bool TryParse(JsonElement payload, ReadingKey key, DateTimeOffset eventTime, out object? record, out Rejection rejection)
    {
        var parsed = kind.TryParse(payload, key, eventTime, out var typed, out rejection);
        record = typed;
        return parsed;
    }

    public ValueTask<Rejection?> CheckAsync(AcceptedRecord record, CancellationToken cancellationToken) => kind.CheckAsync(Typed(record), cancellationToken);

    public Task<ApplyOutcome[]> StoreAsync(IReadOnlyList<AcceptedRecord> records, CancellationToken cancellationToken)
    {
        var typed = new Accepted<TRecord>[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            typed[i] = Typed(records[i]);
        }

        return kind.ApplyAsync(typed, cancellationToken);
    }

    public void WritePoints(LineProtocolWriter writer, AcceptedRecord record) => kind.WritePoints(writer, Typed(record));

    private static Accepted<TRecord> Typed(AcceptedRecord record) =>
        new(record.Key, record.EventTime, record.Device, record.Topic, (TRecord)record.Record);
}
