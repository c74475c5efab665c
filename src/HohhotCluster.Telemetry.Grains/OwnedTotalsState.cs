using HohhotCluster.Telemetry.Contracts;

namespace HohhotCluster.Telemetry.Grains;

/// <summary>
/// The persisted state of a grain that owns readings (herd, pasture, plant): its daily totals and the keys it
/// applied, written together in one JSONB row. <c>countyId</c>, <c>pastureId</c> and <c>days</c> are also read
/// by <see cref="Storage.GrainTotalsReader"/> when a rollup rebuilds itself, so their JSON names are part of the
/// storage format.
/// </summary>
public sealed class OwnedTotalsState
{
    public string CountyId { get; set; } = "";

    public string? PastureId { get; set; }

    public Dictionary<DateOnly, DailyTotals> Days { get; set; } = [];

    public AppliedKeyLog Applied { get; set; } = new();

    public long DuplicatesIgnored { get; set; }
}
