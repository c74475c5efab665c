using HohhotCluster.Telemetry.Contracts;

namespace HohhotCluster.Telemetry.Kinds;

// The bodies of the three core kinds (milking, bulk_tank, plant_intake), as their kinds parse them. The device's
// county and owner come with the Accepted<T> around them; ToReading makes the grains' reading of each.

public sealed record MilkingDraft(
    string HerdId,
    string AnimalId,
    double YieldKg,
    double? DurationSeconds,
    double? ConductivityMsPerCm,
    double? MilkTemperatureC,
    double? FatPercent,
    double? ProteinPercent,
    double? SomaticCellsThousandPerMl,
    // ICAR milkingRemarks MilkedSeparately: the milk was kept out of the bulk tank (issue 17).
    bool MilkedSeparately = false);

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

/// <summary>The grains' readings of the core kinds' accepted records: the body with the sending device's county and owner.</summary>
public static class CoreReadings
{
    public static MilkingReading ToReading(this Accepted<MilkingDraft> accepted)
    {
        var m = accepted.Record;
        return new MilkingReading
        {
            Key = accepted.Key,
            EventTime = accepted.EventTime,
            CountyId = accepted.Device.CountyId,
            PastureId = accepted.Device.OwnerId,
            HerdId = m.HerdId,
            AnimalId = m.AnimalId,
            YieldKg = m.YieldKg,
            DurationSeconds = m.DurationSeconds,
            ConductivityMsPerCm = m.ConductivityMsPerCm,
            MilkTemperatureC = m.MilkTemperatureC,
            FatPercent = m.FatPercent,
            ProteinPercent = m.ProteinPercent,
            SomaticCellsThousandPerMl = m.SomaticCellsThousandPerMl,
        };
    }

    public static BulkTankReading ToReading(this Accepted<BulkTankDraft> accepted)
    {
        var b = accepted.Record;
        return new BulkTankReading
        {
            Key = accepted.Key,
            EventTime = accepted.EventTime,
            CountyId = accepted.Device.CountyId,
            PastureId = accepted.Device.OwnerId,
            TankId = b.TankId,
            Kind = b.Kind,
            VolumeLitres = b.VolumeLitres,
            TemperatureC = b.TemperatureC,
            LotId = b.LotId,
            CollectedKg = b.CollectedKg,
            TankerLoadId = b.TankerLoadId,
        };
    }

    public static PlantIntakeReading ToReading(this Accepted<PlantIntakeDraft> accepted)
    {
        var p = accepted.Record;
        return new PlantIntakeReading
        {
            Key = accepted.Key,
            EventTime = accepted.EventTime,
            CountyId = accepted.Device.CountyId,
            PlantId = accepted.Device.OwnerId,
            TankerLoadId = p.TankerLoadId,
            NetKg = p.NetKg,
            TemperatureC = p.TemperatureC,
            TankerPlate = p.TankerPlate,
            SiloId = p.SiloId,
        };
    }
}
