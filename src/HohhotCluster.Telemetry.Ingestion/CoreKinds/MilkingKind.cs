using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.TimeSeries;
using static HohhotCluster.Telemetry.Ingestion.TelemetryPayloadParser;

namespace HohhotCluster.Telemetry.Ingestion.CoreKinds;

/// <summary><c>milking</c>: one ICAR milking visit of one animal, applied by its herd's grain.</summary>
public sealed class MilkingKind(DeviceDirectory directory, GrainApply grains) : TelemetryKind<MilkingDraft>
{
    public const string KindName = "milking";

    public override string Name => KindName;

    public override OwnerKind Owner => OwnerKind.Pasture;

    /// <summary>ICAR <c>icarMilkingRemarksType</c>; <c>MilkedSeparately</c> means the milk did not go to the bulk tank.</summary>
    private static readonly string[] MilkingRemarks = ["AnimalSick", "MilkingIncomplete", "TeatSeparated", "MilkedSeparately", "SamplingFailed"];

    /// <summary>
    /// A milk meter reports only during milking sessions, two or three a day, 8-12 h apart: silent after 14 h, a
    /// session missed (the simulator's and the contract's rhythm; no vendor figure).
    /// </summary>
    public override ReportingCadence Cadence => ReportingCadence.SilentAfterOf(TimeSpan.FromHours(14));

    public override bool TryParse(JsonElement body, ReadingKey key, DateTimeOffset eventTime, [NotNullWhen(true)] out MilkingDraft? record, out Rejection rejection) =>
        TryBody(body, Parse, out record, out rejection);

    private static MilkingDraft Parse(JsonElement body)
    {
        var dto = body.Deserialize(PayloadJsonContext.Default.MilkingPayload)
            ?? throw Reject(QuarantineReasons.MalformedJson, "payload must be a JSON object");
        var herdId = Required(dto.HerdId, "herdId", MaxRegistryIdLength);
        var visit = dto.Visit ?? throw Reject(QuarantineReasons.MissingField, "visit");
        if (visit.ResourceType != "icarMilkingVisitEventResource")
        {
            throw Reject(visit.ResourceType is null ? QuarantineReasons.MissingField : QuarantineReasons.InvalidField,
                "visit.resourceType must be icarMilkingVisitEventResource");
        }

        var animal = visit.Animal ?? throw Reject(QuarantineReasons.MissingField, "visit.animal");
        var animalId = Required(animal.Id, "visit.animal.id");
        var scheme = Required(animal.Scheme, "visit.animal.scheme");
        if (scheme == EarTagScheme && !IsEarTag(animalId))
        {
            throw Reject(QuarantineReasons.InvalidField, "visit.animal.id must be a 15-digit ear tag (species 2 or 3, county code, serial)");
        }

        ParseTime(Required(visit.MilkingStartingDateTime, "visit.milkingStartingDateTime"), "visit.milkingStartingDateTime");
        var weight = visit.MilkingMilkWeight ?? throw Reject(QuarantineReasons.MissingField, "visit.milkingMilkWeight");
        if (weight.UnitCode != "KGM")
        {
            throw Reject(QuarantineReasons.InvalidField, "visit.milkingMilkWeight.unitCode must be KGM");
        }

        var yieldKg = InRange(weight.Value, "visit.milkingMilkWeight.value", 0, 60, exclusiveMin: true)!.Value;
        double? durationSeconds = null;
        if (visit.MilkingDuration is { } duration)
        {
            var factor = duration.UnitCode switch
            {
                "SEC" => 1.0,
                "MIN" => 60.0,
                _ => throw Reject(QuarantineReasons.InvalidField, "visit.milkingDuration.unitCode must be SEC or MIN"),
            };
            durationSeconds = InRange(duration.Value * factor, "visit.milkingDuration", 0, 3600);
        }

        double? conductivity = null, temperature = null, fat = null, protein = null, scc = null;
        if (visit.MilkCharacteristics is { } characteristics)
        {
            foreach (var c in characteristics)
            {
                switch (c.Characteristic)
                {
                    case "AVGCOND": conductivity = Characteristic(c, 0, 20); break;
                    case "TEMPERATURE": temperature = Characteristic(c, 0, 45); break;
                    case "FAT": fat = Characteristic(c, 0, 15); break;
                    case "PROTEIN": protein = Characteristic(c, 0, 15); break;
                    case "SCC": scc = Characteristic(c, 0, 100_000); break;
                    default: break; // other ICAR characteristics are accepted and not stored
                }
            }
        }

        var milkedSeparately = false;
        if (visit.MilkingRemarks is { } remarks)
        {
            for (var i = 0; i < remarks.Count; i++)
            {
                if (Array.IndexOf(MilkingRemarks, remarks[i]) < 0)
                {
                    throw Reject(QuarantineReasons.InvalidField, $"visit.milkingRemarks[{i}] must be one of {string.Join(", ", MilkingRemarks)} (ICAR icarMilkingRemarksType)");
                }

                milkedSeparately |= remarks[i] == "MilkedSeparately";
            }
        }

        return new MilkingDraft(herdId, animalId, yieldKg, durationSeconds, conductivity, temperature, fat, protein, scc, milkedSeparately);
    }

    private static double Characteristic(IcarMilkCharacteristic c, double min, double max)
    {
        var field = "visit.milkCharacteristics." + c.Characteristic;
        if (!double.TryParse(c.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            throw Reject(c.Value is null ? QuarantineReasons.MissingField : QuarantineReasons.InvalidField, field + " must be a decimal string");
        }

        return InRange(value, field, min, max)!.Value;
    }

    /// <summary>The herd must be registered on the pasture that sent the milking.</summary>
    public override async ValueTask<Rejection?> CheckAsync(Accepted<MilkingDraft> record, CancellationToken cancellationToken)
    {
        var herd = await directory.FindHerdAsync(record.Record.HerdId, cancellationToken);
        return herd is null || herd.PastureId != record.Device.OwnerId
            ? new Rejection(QuarantineReasons.UnknownHerd, $"herd '{record.Record.HerdId}' is not registered on pasture '{record.Device.OwnerId}'")
            : null;
    }

    public override Task<ApplyOutcome[]> ApplyAsync(IReadOnlyList<Accepted<MilkingDraft>> records, CancellationToken cancellationToken) =>
        grains.ApplyAsync(records, r => r.Record.HerdId, CoreReadings.ToReading,
            (herdId, batch) => grains.Grains.GetGrain<IHerdGrain>(herdId).ApplyMilkingsAsync(batch));

    public override void WritePoints(LineProtocolWriter writer, Accepted<MilkingDraft> record) =>
        ReadingPointEncoder.Write(writer, record.ToReading());
}
