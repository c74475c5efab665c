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

    /// <summary>Readings refused because <see cref="Applied"/> could not tell whether they were applied (see <see cref="ApplyOutcome.Unverifiable"/>).</summary>
    public long UnverifiableRefused { get; set; }

    /// <summary>
    /// Applies one reading: adds its contribution to its local day when its key was not applied; a duplicate or a
    /// key the log cannot verify changes no total. The caller persists the state when anything was applied.
    /// </summary>
    public ApplyOutcome Apply(ReadingKey key, DateOnly localDate, DailyTotals contribution)
    {
        switch (Applied.TryApply(key))
        {
            case AppliedKeyStatus.NotApplied:
                Days[localDate] = (Days.TryGetValue(localDate, out var totals) ? totals : default) + contribution;
                return ApplyOutcome.Applied;
            case AppliedKeyStatus.Applied:
                DuplicatesIgnored++;
                return ApplyOutcome.Duplicate;
            default:
                UnverifiableRefused++;
                return ApplyOutcome.Unverifiable;
        }
    }
}
