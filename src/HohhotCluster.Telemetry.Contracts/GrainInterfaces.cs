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
    /// <summary>Applies a batch durably (one state write) and returns an outcome per reading, in order.</summary>
    Task<ApplyOutcome[]> ApplyMilkingsAsync(MilkingReading[] batch);
}

/// <summary>A pasture. Key: pasture id. Owns its bulk-tank readings (collections are its production).</summary>
public interface IPastureGrain : IGrainWithStringKey, IDailyTotalsSource
{
    Task<ApplyOutcome[]> ApplyBulkTankAsync(BulkTankReading[] batch);
}

/// <summary>A processing plant. Key: plant id. Owns weighbridge intake.</summary>
public interface IPlantGrain : IGrainWithStringKey, IDailyTotalsSource
{
    Task<ApplyOutcome[]> ApplyIntakesAsync(PlantIntakeReading[] batch);
}

/// <summary>
/// A rollup over the grains that own readings (herds, pastures, plants). Key: <c>city</c>, <c>county:{countyId}</c>
/// or <c>pasture:{pastureId}</c> (the pasture itself and its herds). Keeps members' absolute totals in memory and
/// rebuilds them from stored grain state when it is activated.
/// </summary>
public interface IRollupGrain : IGrainWithStringKey, IDailyTotalsSource
{
    Task ReportMemberAsync(string memberKey, Dictionary<DateOnly, DailyTotals> days);
}

public static class RollupKeys
{
    public const string City = "city";

    public static string County(string countyId) => "county:" + countyId;

    public static string Pasture(string pastureId) => "pasture:" + pastureId;
}
