namespace HohhotCluster.Telemetry.Contracts;

/// <summary>Something whose daily totals can be read back for every day it has seen.</summary>
public interface IDailyTotalsSource
{
    Task<DailyTotals> GetDayAsync(DateOnly localDate);

    Task<Dictionary<DateOnly, DailyTotals>> GetAllDaysAsync();
}

/// <summary>A herd (one group of animals on one pasture). Key: herd id. Owns its milkings.</summary>
public interface IHerdGrain : IGrainWithStringKey, IDailyTotalsSource
{
    /// <summary>
    /// Applies a batch durably (one state write) and returns an outcome per reading, in order, with the totals the
    /// caller reports to the herd's rollups.
    /// </summary>
    Task<ApplyResult> ApplyMilkingsAsync(MilkingReading[] batch);
}

/// <summary>A pasture. Key: pasture id. Owns its bulk-tank readings (collections are its production).</summary>
public interface IPastureGrain : IGrainWithStringKey, IDailyTotalsSource
{
    Task<ApplyResult> ApplyBulkTankAsync(BulkTankReading[] batch);
}

/// <summary>A processing plant. Key: plant id. Owns weighbridge intake.</summary>
public interface IPlantGrain : IGrainWithStringKey, IDailyTotalsSource
{
    Task<ApplyResult> ApplyIntakesAsync(PlantIntakeReading[] batch);
}

/// <summary>
/// A rollup over the grains that own readings (herds, pastures, plants). Key: <c>city</c>, <c>county:{countyId}</c>
/// or <c>pasture:{pastureId}</c> (the pasture itself and its herds). Keeps members' absolute totals in memory and
/// rebuilds them from stored grain state when it is activated. Ingestion reports every member a batch touched in
/// one call per rollup.
/// </summary>
public interface IRollupGrain : IGrainWithStringKey, IDailyTotalsSource
{
    Task ReportMembersAsync(MemberReport[] reports);
}

/// <summary>
/// A member's absolute totals for the days a batch touched, and the rollups it belongs to: the city, its county,
/// and for herds and pastures the pasture. <see cref="Revision"/> is the version of the member's stored state the
/// totals come from: reports of concurrent batches may arrive in any order, and a rollup keeps the newest per day.
/// </summary>
[GenerateSerializer, Immutable, Alias("hohhot.MemberReport")]
public sealed record MemberReport(
    [property: Id(0)] string MemberKey,
    [property: Id(1)] string[] RollupKeys,
    [property: Id(2)] Dictionary<DateOnly, DailyTotals> Days,
    [property: Id(3)] long Revision);

/// <summary>What a grain did with a batch: an outcome per reading, in order, and the report for its rollups.</summary>
[GenerateSerializer, Immutable, Alias("hohhot.ApplyResult")]
public sealed record ApplyResult(
    [property: Id(0)] ApplyOutcome[] Outcomes,
    [property: Id(1)] MemberReport? Report);

public static class RollupKeys
{
    public const string City = "city";

    public static string County(string countyId) => "county:" + countyId;

    public static string Pasture(string pastureId) => "pasture:" + pastureId;
}
