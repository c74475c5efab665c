using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.TimeSeries;
using static HohhotCluster.Telemetry.Ingestion.TelemetryPayloadParser;

namespace HohhotCluster.Telemetry.Ingestion.CoreKinds;

/// <summary>
/// <c>bulk_tank</c>: a tank's level and temperature, a collection of a lot into a tanker, or the pasture's milk line switched
/// to the tank (<c>filling</c>: the milkings from then on go into it), applied by the pasture's grain.
/// </summary>
public sealed class BulkTankKind(GrainApply grains) : TelemetryKind<BulkTankDraft>
{
    public const string KindName = "bulk_tank";

    public override string Name => KindName;

    public override OwnerKind Owner => OwnerKind.Pasture;

    /// <summary>A tank probe reports its level every few minutes: 30 minutes without one is worth a look.</summary>
    public override ReportingCadence Cadence => ReportingCadence.SilentAfterOf(TimeSpan.FromMinutes(30));

    public override bool TryParse(JsonElement body, ReadingKey key, DateTimeOffset eventTime, [NotNullWhen(true)] out BulkTankDraft? record, out Rejection rejection) =>
        TryBody(body, Parse, out record, out rejection);

    private static BulkTankDraft Parse(JsonElement body)
    {
        var dto = body.Deserialize(PayloadJsonContext.Default.BulkTankPayload)
            ?? throw Reject(QuarantineReasons.MalformedJson, "payload must be a JSON object");
        var tankId = Required(dto.TankId, "tankId");
        return Required(dto.Event, "event") switch
        {
            "level" => new BulkTankDraft(
                tankId,
                BulkTankEventKind.Level,
                InRange(Present(dto.VolumeL, "volumeL"), "volumeL", 0, 200_000),
                InRange(Present(dto.TemperatureC, "temperatureC"), "temperatureC", -5, 50),
                null,
                null,
                null),
            "collection" => new BulkTankDraft(
                tankId,
                BulkTankEventKind.Collection,
                InRange(dto.VolumeL, "volumeL", 0, 200_000),
                InRange(dto.TemperatureC, "temperatureC", -5, 50),
                Required(dto.LotId, "lotId"),
                InRange(Present(dto.CollectedKg, "collectedKg"), "collectedKg", 0, 200_000, exclusiveMin: true),
                string.IsNullOrEmpty(dto.TankerLoadId) ? null : Required(dto.TankerLoadId, "tankerLoadId")),
            "filling" => new BulkTankDraft(
                tankId,
                BulkTankEventKind.Filling,
                InRange(dto.VolumeL, "volumeL", 0, 200_000),
                InRange(dto.TemperatureC, "temperatureC", -5, 50),
                null,
                null,
                null),
            _ => throw Reject(QuarantineReasons.InvalidField, "event must be level, collection or filling"),
        };
    }

    public override Task<ApplyOutcome[]> ApplyAsync(IReadOnlyList<Accepted<BulkTankDraft>> records, CancellationToken cancellationToken) =>
        grains.ApplyAsync(records, r => r.Device.OwnerId, CoreReadings.ToReading,
            (pastureId, batch) => grains.Grains.GetGrain<IPastureGrain>(pastureId).ApplyBulkTankAsync(batch));

    public override void WritePoints(LineProtocolWriter writer, Accepted<BulkTankDraft> record) =>
        ReadingPointEncoder.Write(writer, record.ToReading());
}
