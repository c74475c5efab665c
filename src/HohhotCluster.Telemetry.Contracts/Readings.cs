namespace HohhotCluster.Telemetry.Contracts;

/// <summary>One milking of one animal, measured by a parlour milk meter (ICAR ADE milking visit).</summary>
[GenerateSerializer, Immutable, Alias("hohhot.MilkingReading")]
public sealed record MilkingReading
{
    [Id(0)] public required ReadingKey Key { get; init; }
    [Id(1)] public required DateTimeOffset EventTime { get; init; }
    [Id(2)] public required string PastureId { get; init; }
    [Id(3)] public required string HerdId { get; init; }
    [Id(4)] public required string AnimalId { get; init; }
    [Id(5)] public required double YieldKg { get; init; }
    [Id(6)] public double? DurationSeconds { get; init; }
    [Id(7)] public double? ConductivityMsPerCm { get; init; }
    [Id(8)] public double? MilkTemperatureC { get; init; }
    [Id(9)] public double? FatPercent { get; init; }
    [Id(10)] public double? ProteinPercent { get; init; }
    [Id(11)] public double? SomaticCellsThousandPerMl { get; init; }
    [Id(12)] public required string CountyId { get; init; }
}

[GenerateSerializer, Alias("hohhot.BulkTankEventKind")]
public enum BulkTankEventKind
{
    Level = 0,
    Collection = 1,
    // The pasture's milk line was switched to this tank: the milkings that reach the tank from this time on go into it
    // (until the line is switched to another tank), so each bulk-tank lot knows its milkings (issue 17).
    Filling = 2,
}

/// <summary>A bulk-tank reading: a level/temperature sample, a collection that closes a bulk-tank lot, or the milk line switched to the tank.</summary>
[GenerateSerializer, Immutable, Alias("hohhot.BulkTankReading")]
public sealed record BulkTankReading
{
    [Id(0)] public required ReadingKey Key { get; init; }
    [Id(1)] public required DateTimeOffset EventTime { get; init; }
    [Id(2)] public required string PastureId { get; init; }
    [Id(3)] public required string TankId { get; init; }
    [Id(4)] public required BulkTankEventKind Kind { get; init; }
    [Id(5)] public double? VolumeLitres { get; init; }
    [Id(6)] public double? TemperatureC { get; init; }
    [Id(7)] public string? LotId { get; init; }
    [Id(8)] public double? CollectedKg { get; init; }
    [Id(9)] public string? TankerLoadId { get; init; }
    [Id(10)] public required string CountyId { get; init; }
}

/// <summary>A tanker load weighed into a processing plant at its weighbridge.</summary>
[GenerateSerializer, Immutable, Alias("hohhot.PlantIntakeReading")]
public sealed record PlantIntakeReading
{
    [Id(0)] public required ReadingKey Key { get; init; }
    [Id(1)] public required DateTimeOffset EventTime { get; init; }
    [Id(2)] public required string PlantId { get; init; }
    [Id(3)] public required string TankerLoadId { get; init; }
    [Id(4)] public required double NetKg { get; init; }
    [Id(5)] public double? TemperatureC { get; init; }
    [Id(6)] public string? TankerPlate { get; init; }
    [Id(7)] public string? SiloId { get; init; }
    [Id(8)] public required string CountyId { get; init; }
}

/// <summary>What a grain did with one reading of a batch.</summary>
[GenerateSerializer, Alias("hohhot.ApplyOutcome")]
public enum ApplyOutcome
{
    Applied = 0,
    Duplicate = 1,

    /// <summary>
    /// The key's boot epoch was evicted from the grain's applied-key log, or the key falls in a hole the log had to
    /// close: the grain cannot tell whether it was applied, so it neither counts it nor calls it a duplicate. The
    /// pipeline quarantines it (never a silent drop, never a second count).
    /// </summary>
    Unverifiable = 2,
}
