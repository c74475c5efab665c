using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.TimeSeries;

namespace HohhotCluster.Telemetry.Traceability.Tanker;

/// <summary>
/// <c>tanker_log</c>, published by a plant's tanker logger (<c>hohhot/v1/plant/{plantId}/{deviceId}/tanker_log</c>):
/// every few minutes between pickup and intake, the load it carries, each compartment's milk temperature and the GPS
/// position (docs/mqtt-contract.md). The plant owns it because it runs the tanker (there is no haulier owner kind).
/// A reading for a load the chain does not know yet is stored and joined by load id later; one for a load another
/// plant weighed in is refused.
/// </summary>
public sealed class TankerLogKind(TankerLogStore store) : TelemetryKind<TankerLogRecord>
{
    public const string KindName = "tanker_log";

    public override string Name => KindName;

    public override OwnerKind Owner => OwnerKind.Plant;

    /// <summary>Event-driven: a logger reports only while its tanker carries a load, and is silent between loads (overnight too).</summary>
    public override ReportingCadence Cadence => ReportingCadence.EventDriven;

    public override bool TryParse(JsonElement body, ReadingKey key, DateTimeOffset eventTime, [NotNullWhen(true)] out TankerLogRecord? record, out Rejection rejection) =>
        TankerLogPayload.TryParse(body, out record, out rejection);

    public override async ValueTask<Rejection?> CheckAsync(Accepted<TankerLogRecord> record, CancellationToken cancellationToken)
    {
        var load = record.Record.TankerLoadId;
        var receivedBy = await store.ReceivedByAsync(load, cancellationToken);
        return receivedBy is not null && receivedBy != record.Device.OwnerId
            ? new Rejection(QuarantineReasons.InvalidField, $"tankerLoadId: tanker load '{load}' was weighed in by plant '{receivedBy}'")
            : null;
    }

    public override Task<ApplyOutcome[]> ApplyAsync(IReadOnlyList<Accepted<TankerLogRecord>> records, CancellationToken cancellationToken)
    {
        var readings = new (ReadingKey, DateTimeOffset, string, TankerLogRecord)[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            var r = records[i];
            readings[i] = (r.Key, r.EventTime, r.Device.OwnerId, r.Record);
        }

        return store.ApplyAsync(readings, cancellationToken);
    }

    /// <summary>
    /// One point per reading: tags boot, county, device, plant (never the load: a series per load would grow without
    /// bound); fields per compartment (<c>c1_temperature_c</c> ...), the warmest, the position and the speed.
    /// </summary>
    public override void WritePoints(LineProtocolWriter writer, Accepted<TankerLogRecord> record)
    {
        var log = record.Record;
        writer.Measurement(KindName, record.Key)
            .Tag("county", record.Device.CountyId).Tag("device", record.Key.DeviceId).Tag("plant", record.Device.OwnerId);
        foreach (var compartment in log.Compartments)
        {
            writer.Field(CompartmentField(compartment.Compartment), compartment.TemperatureC);
        }

        writer.Field("max_temperature_c", log.MaxTemperatureC)
            .Field("latitude_deg", log.Position.LatitudeDeg)
            .Field("longitude_deg", log.Position.LongitudeDeg)
            .Field("speed_kmh", log.SpeedKmh)
            .Field("seq", record.Key.Sequence)
            .Timestamp(LineProtocolWriter.TimestampFor(record.EventTime, record.Key.Sequence));
    }

    private static readonly string[] CompartmentFields = [.. Enumerable.Range(1, TankerLogPayload.MaxCompartments).Select(n => $"c{n}_temperature_c")];

    private static string CompartmentField(int compartment) => CompartmentFields[compartment - 1];
}
