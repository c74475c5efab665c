using HohhotCluster.Telemetry.Contracts;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// A payload that passed every check that needs no registry. Exactly one of the readings is set, matching
/// <see cref="TelemetryTopic.Kind"/>. County (and for milkings the herd's pasture) are checked against the registry next.
/// </summary>
public sealed record ParsedReading(TelemetryTopic Topic, ReadingKey Key, DateTimeOffset EventTime)
{
    public MilkingDraft? Milking { get; init; }
    public BulkTankDraft? BulkTank { get; init; }
    public PlantIntakeDraft? PlantIntake { get; init; }

    /// <summary>Set for an extension kind: the handler that parsed it and its record.</summary>
    public (IRecordKindHandler Handler, object Record)? Extension { get; init; }
}

public sealed record MilkingDraft(
    string HerdId,
    string AnimalId,
    double YieldKg,
    double? DurationSeconds,
    double? ConductivityMsPerCm,
    double? MilkTemperatureC,
    double? FatPercent,
    double? ProteinPercent,
    double? SomaticCellsThousandPerMl);

public sealed record BulkTankDraft(
    string TankId,
    BulkTankEventKind Kind,
    double? VolumeLitres,
    double? TemperatureC,
    string? LotId,
    double? CollectedKg,
    string? TankerLoadId);

public sealed record PlantIntakeDraft(
    string TankerLoadId,
    double NetKg,
    double? TemperatureC,
    string? TankerPlate,
    string? SiloId);
