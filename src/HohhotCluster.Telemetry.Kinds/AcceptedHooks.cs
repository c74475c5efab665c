using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Kinds;

/// <summary>
/// Sees a kind's accepted records after its <see cref="TelemetryKind{TRecord}.ApplyAsync"/> and before the PUBACK,
/// duplicates included (a redelivery may be the retry of a batch whose observation was lost), so it must be
/// idempotent. A failure fails the batch, which is then retried unacknowledged.
/// </summary>
public interface IAcceptedObserver<TRecord>
    where TRecord : class
{
    Task OnAcceptedAsync(IReadOnlyList<Accepted<TRecord>> records, CancellationToken cancellationToken);
}

/// <summary>
/// Refuses records before <see cref="TelemetryKind{TRecord}.ApplyAsync"/> (by index, with the reason): a refused
/// record is quarantined, counted nowhere and written to no store. Runs for redeliveries too, so it must answer the
/// same way for the same record.
/// </summary>
public interface IAcceptedGate<TRecord>
    where TRecord : class
{
    Task<IReadOnlyList<(int Index, Rejection Rejection)>> CheckAsync(IReadOnlyList<Accepted<TRecord>> records, CancellationToken cancellationToken);
}

/// <summary>A key the pipeline accepted for any kind: applied, or a duplicate of the same body.</summary>
public readonly record struct AcceptedKey(ReadingKey Key, DateTimeOffset EventTime, DeviceContext Device, ITelemetryKind Kind, ApplyOutcome Outcome);

/// <summary>
/// Sees the keys of every kind's accepted records, once per batch, after every kind's apply and observers and before
/// the PUBACK, duplicates included (so it must be idempotent): the one place device activity and delivered sequence
/// numbers are noted, for all kinds alike. A failure fails the batch, which is then retried unacknowledged.
/// </summary>
public interface IAcceptedKeysObserver
{
    Task OnAcceptedAsync(IReadOnlyList<AcceptedKey> keys, CancellationToken cancellationToken);
}
