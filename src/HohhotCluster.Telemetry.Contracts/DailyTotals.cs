namespace HohhotCluster.Telemetry.Contracts;

/// <summary>
/// Fresh-milk totals of one scope for one local day. Members report absolute values, never deltas,
/// so a repeated report (a retry, a redelivery) cannot count anything twice.
/// </summary>
[GenerateSerializer, Immutable, Alias("hohhot.DailyTotals")]
public readonly record struct DailyTotals(
    [property: Id(0)] double ProcessedKg,
    [property: Id(1)] long IntakeCount,
    [property: Id(2)] double CollectedKg,
    [property: Id(3)] long CollectionCount,
    [property: Id(4)] double MilkedKg,
    [property: Id(5)] long MilkingCount)
{
    public static DailyTotals operator +(DailyTotals a, DailyTotals b) => new(
        a.ProcessedKg + b.ProcessedKg,
        a.IntakeCount + b.IntakeCount,
        a.CollectedKg + b.CollectedKg,
        a.CollectionCount + b.CollectionCount,
        a.MilkedKg + b.MilkedKg,
        a.MilkingCount + b.MilkingCount);
}
