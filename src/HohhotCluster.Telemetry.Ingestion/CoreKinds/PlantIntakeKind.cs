using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.TimeSeries;
using static HohhotCluster.Telemetry.Ingestion.TelemetryPayloadParser;

namespace HohhotCluster.Telemetry.Ingestion.CoreKinds;

/// <summary><c>plant_intake</c>: a tanker load weighed in at a plant's weighbridge, applied by the plant's grain.</summary>
public sealed class PlantIntakeKind(GrainApply grains) : TelemetryKind<PlantIntakeDraft>
{
    public const string KindName = "plant_intake";

    public override string Name => KindName;

    public override OwnerKind Owner => OwnerKind.Plant;

    /// <summary>A weighbridge reports when a tanker arrives, never on a clock.</summary>
    public override ReportingCadence Cadence => ReportingCadence.EventDriven;

    public override bool TryParse(JsonElement body, ReadingKey key, DateTimeOffset eventTime, [NotNullWhen(true)] out PlantIntakeDraft? record, out Rejection rejection) =>
        TryBody(body, Parse, out record, out rejection);

    private static PlantIntakeDraft Parse(JsonElement body)
    {
        var dto = body.Deserialize(PayloadJsonContext.Default.PlantIntakePayload)
            ?? throw Reject(QuarantineReasons.MalformedJson, "payload must be a JSON object");
        return new PlantIntakeDraft(
            Required(dto.TankerLoadId, "tankerLoadId"),
            InRange(Present(dto.NetKg, "netKg"), "netKg", 0, 60_000, exclusiveMin: true)!.Value,
            InRange(dto.TemperatureC, "temperatureC", -5, 50),
            string.IsNullOrEmpty(dto.TankerPlate) ? null : Required(dto.TankerPlate, "tankerPlate"),
            string.IsNullOrEmpty(dto.SiloId) ? null : Required(dto.SiloId, "siloId"));
    }

    public override Task<ApplyOutcome[]> ApplyAsync(IReadOnlyList<Accepted<PlantIntakeDraft>> records, CancellationToken cancellationToken) =>
        grains.ApplyAsync(records, r => r.Device.OwnerId, CoreReadings.ToReading,
            (plantId, batch) => grains.Grains.GetGrain<IPlantGrain>(plantId).ApplyIntakesAsync(batch));

    public override void WritePoints(LineProtocolWriter writer, Accepted<PlantIntakeDraft> record) =>
        ReadingPointEncoder.Write(writer, record.ToReading());
}
