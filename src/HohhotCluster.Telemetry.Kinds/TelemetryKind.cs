using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.TimeSeries;

namespace HohhotCluster.Telemetry.Kinds;

/// <summary>A record of a kind that passed its parse and the registry's checks, with who sent it and on which topic.</summary>
public sealed record Accepted<TRecord>(ReadingKey Key, DateTimeOffset EventTime, DeviceContext Device, string Topic, TRecord Record)
    where TRecord : class;

/// <summary>How often a device sending this kind is expected to report. <see cref="SilentAfter"/> null: event-driven, never "silent".</summary>
public readonly record struct ReportingCadence(TimeSpan? SilentAfter)
{
    public static ReportingCadence EventDriven => new(null);

    public static ReportingCadence SilentAfterOf(TimeSpan silentAfter) =>
        silentAfter > TimeSpan.Zero ? new(silentAfter) : throw new ArgumentOutOfRangeException(nameof(silentAfter), "a cadence is a positive time");
}

/// <summary>
/// What the registry and the pipeline know of a kind without its record type. Implemented by
/// <see cref="TelemetryKind{TRecord}"/> only: <see cref="Accept{TResult}"/> hands the typed definition to a visitor,
/// so a consumer gets from here to the typed kind without a cast.
/// </summary>
public interface ITelemetryKind
{
    /// <summary>The topic's last segment, e.g. <c>tmr</c>.</summary>
    string Name { get; }

    /// <summary>Whose topics may carry it. One kind name may have one definition per owner kind.</summary>
    OwnerKind Owner { get; }

    ReportingCadence Cadence { get; }

    Type RecordType { get; }

    /// <summary>Calls <paramref name="visitor"/> with the typed definition.</summary>
    TResult Accept<TResult>(ITelemetryKindVisitor<TResult> visitor);
}

/// <summary>Receives a kind as its typed definition (see <see cref="ITelemetryKind.Accept{TResult}"/>).</summary>
public interface ITelemetryKindVisitor<out TResult>
{
    TResult Visit<TRecord>(TelemetryKind<TRecord> kind) where TRecord : class;
}

/// <summary>
/// One telemetry kind, as one typed unit: how its body parses (pure), what it checks against current data, how it is
/// stored durably and idempotently, and the InfluxDB points it writes. Ingestion does the rest the same way for every
/// kind: size, UTF-8, JSON, the envelope, the device's registration, quarantine, digests, acknowledgement only after
/// <see cref="ApplyAsync"/> and the points succeeded. Register it with
/// <c>services.AddTelemetryKind&lt;TKind&gt;()</c>.
/// </summary>
public abstract class TelemetryKind<TRecord> : ITelemetryKind
    where TRecord : class
{
    /// <summary>The topic's last segment, e.g. <c>tmr</c>.</summary>
    public abstract string Name { get; }

    /// <summary>Whose topics may carry it; one kind name may have one definition per owner kind.</summary>
    public abstract OwnerKind Owner { get; }

    public abstract ReportingCadence Cadence { get; }

    public Type RecordType => typeof(TRecord);

    public TResult Accept<TResult>(ITelemetryKindVisitor<TResult> visitor) => visitor.Visit(this);

    /// <summary>
    /// Pure (no I/O): the body to the record. The envelope (deviceId, bootEpoch, seq, eventTime) is already checked.
    /// On false, the rejection names the field (use <see cref="QuarantineReasons"/> codes).
    /// </summary>
    public abstract bool TryParse(JsonElement body, ReadingKey key, DateTimeOffset eventTime,
        [NotNullWhen(true)] out TRecord? record, out Rejection rejection);

    /// <summary>Against the registry and current data (the herd is on the pasture, the lot exists...); null: it may be applied.</summary>
    public virtual ValueTask<Rejection?> CheckAsync(Accepted<TRecord> record, CancellationToken cancellationToken) =>
        ValueTask.FromResult<Rejection?>(null);

    /// <summary>
    /// Durable and idempotent by key (a redelivery comes back as <see cref="ApplyOutcome.Duplicate"/> and changes
    /// nothing). One outcome per record, in order.
    /// </summary>
    public abstract Task<ApplyOutcome[]> ApplyAsync(IReadOnlyList<Accepted<TRecord>> records, CancellationToken cancellationToken);

    /// <summary>The record's InfluxDB point(s), if any (layout rules: ARCHITECTURE.md step 5).</summary>
    public abstract void WritePoints(LineProtocolWriter writer, Accepted<TRecord> record);

    public override string ToString() => $"{Name}@{OwnerKinds.Name(Owner)}";
}
