using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.TimeSeries;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>A record of an extension kind that passed its checks and the registry's, with who sent it.</summary>
public sealed record AcceptedRecord(ReadingKey Key, DateTimeOffset EventTime, DeviceContext Device, string Topic, object Record);

/// <summary>
/// A telemetry kind beyond the core three (milking, bulk_tank, plant_intake), owned by another component
/// (traceability, audits): it validates its own payload body and stores its records. Ingestion does the rest
/// exactly as for the core kinds: size, UTF-8, JSON, the envelope, the device's registration, quarantine of what
/// fails, InfluxDB points, and acknowledgement only after <see cref="StoreAsync"/> and the points succeeded.
/// </summary>
public interface IRecordKindHandler
{
    /// <summary>The topic's last segment, e.g. <c>quality</c>.</summary>
    string Kind { get; }

    /// <summary>Whose topics may carry it. One kind name may have one handler per owner kind.</summary>
    OwnerKind Owner { get; }

    /// <summary>
    /// Validates the payload body (the envelope is already checked). Returns the record to store, or false with a
    /// rejection (use <see cref="QuarantineReasons"/> codes and name the field in the detail).
    /// </summary>
    bool TryParse(JsonElement payload, ReadingKey key, DateTimeOffset eventTime, out object? record, out Rejection rejection);

    /// <summary>
    /// Checks the record against the registry and current data (e.g. the lot it names exists); null when it may be
    /// stored, otherwise the rejection that sends it to quarantine.
    /// </summary>
    ValueTask<Rejection?> CheckAsync(AcceptedRecord record, CancellationToken cancellationToken);

    /// <summary>
    /// Stores the records durably and idempotently by <see cref="AcceptedRecord.Key"/> (a redelivered record must
    /// come back as <see cref="ApplyOutcome.Duplicate"/> and change nothing). One outcome per record, in order.
    /// </summary>
    Task<ApplyOutcome[]> StoreAsync(IReadOnlyList<AcceptedRecord> records, CancellationToken cancellationToken);

    /// <summary>Writes the record's InfluxDB point(s), if it has any; see <see cref="ReadingPointEncoder"/> for the layout rules.</summary>
    void WritePoints(LineProtocolWriter writer, AcceptedRecord record);
}

/// <summary>
/// Sees every accepted core reading (milking, bulk tank, plant intake) after its grain applied it and before it is
/// acknowledged, duplicates included (a redelivery may be the retry of a batch whose observation was lost), so an
/// observer must be idempotent. A failure fails the batch, which is then retried unacknowledged.
/// </summary>
public interface IAcceptedReadingObserver
{
    Task OnAcceptedAsync(IReadOnlyList<object> readings, CancellationToken cancellationToken);
}

/// <summary>
/// Checks the accepted core readings of a batch against what a component already holds, before any grain applies
/// them: a refused reading is quarantined with the gate's reason, counted nowhere and written to no store. Runs for
/// redeliveries too, so it must answer the same way for the same reading.
/// </summary>
public interface IAcceptedReadingGate
{
    /// <summary>The readings to refuse, by their index in <paramref name="readings"/>, each with its reason.</summary>
    Task<IReadOnlyList<(int Index, Rejection Rejection)>> CheckAsync(IReadOnlyList<object> readings, CancellationToken cancellationToken);
}
