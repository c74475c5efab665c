using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.TimeSeries;

namespace HohhotCluster.Telemetry.Audit.Farm;

/// <summary>The <c>manure</c> kind: a pasture's daily manure account (produced, collected, applied to fields, treated).</summary>
public sealed class ManureKind(FarmRecordStore store) : TelemetryKind<ManureRecord>
{
    private const double MaxKg = 100_000_000;

    public override string Name => "manure";

    /// <summary>A daily account (at 20:00 in the simulator): silent after 36 h, a day with slack for its hour.</summary>
    public override ReportingCadence Cadence => ReportingCadence.SilentAfterOf(TimeSpan.FromHours(36));

    public override OwnerKind Owner => OwnerKind.Pasture;

    public override bool TryParse(JsonElement payload, ReadingKey key, DateTimeOffset eventTime, [NotNullWhen(true)] out ManureRecord? record, out Rejection rejection) =>
        PayloadFields.TryRead(() => Parse(payload, eventTime), out record, out rejection);

    private static ManureRecord Parse(JsonElement payload, DateTimeOffset eventTime)
    {
        var produced = PayloadFields.RequiredDouble(payload, "producedKg", 0, MaxKg);
        var collected = PayloadFields.OptionalDouble(payload, "collectedKg", 0, MaxKg, 0);
        var applied = PayloadFields.OptionalDouble(payload, "appliedKg", 0, MaxKg, 0);
        var treated = PayloadFields.OptionalDouble(payload, "treatedKg", 0, MaxKg, 0);
        var day = PayloadFields.OptionalDate(payload, "localDate") ?? ChinaTime.LocalDate(eventTime);
        if (day > ChinaTime.LocalDate(eventTime) || day < ChinaTime.LocalDate(eventTime).AddDays(-31))
        {
            throw PayloadFields.Invalid("localDate", "must be the event's local day or up to 31 days before it");
        }

        return new ManureRecord(day, produced, collected, applied, treated, PayloadFields.OptionalString(payload, "treatment", 32));
    }

    public override Task<ApplyOutcome[]> ApplyAsync(IReadOnlyList<Accepted<ManureRecord>> records, CancellationToken cancellationToken) =>
        store.AddManureAsync(records, cancellationToken);

    public override void WritePoints(LineProtocolWriter writer, Accepted<ManureRecord> record)
    {
        var m = record.Record;
        writer.Measurement("manure", record.Key)
            .Tag("county", record.Device.CountyId).Tag("device", record.Key.DeviceId).Tag("pasture", record.Device.OwnerId)
            .Field("produced_kg", m.ProducedKg).Field("collected_kg", m.CollectedKg)
            .Field("applied_kg", m.AppliedKg).Field("treated_kg", m.TreatedKg)
            .Field("seq", record.Key.Sequence)
            .Timestamp(LineProtocolWriter.TimestampFor(record.EventTime, record.Key.Sequence));
    }
}
