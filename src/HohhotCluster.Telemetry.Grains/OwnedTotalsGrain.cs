using HohhotCluster.Telemetry.Contracts;

namespace HohhotCluster.Telemetry.Grains;

/// <summary>
/// The shared machinery of herds, pastures and plants: apply a batch of readings once per key (a key the applied-key
/// log can no longer verify is refused as <see cref="ApplyOutcome.Unverifiable"/>), persist the totals
/// and the applied keys in one write, then return the touched days' absolute totals for the caller to report to
/// the rollups above (one call per rollup for a whole ingestion batch, not three per grain).
/// </summary>
public abstract class OwnedTotalsGrain(IPersistentState<OwnedTotalsState> state) : Grain
{
    public Task<DailyTotals> GetDayAsync(DateOnly localDate) =>
        Task.FromResult(OwnDay(localDate));

    public Task<Dictionary<DateOnly, DailyTotals>> GetAllDaysAsync() =>
        Task.FromResult(new Dictionary<DateOnly, DailyTotals>(state.State.Days));

    private DailyTotals OwnDay(DateOnly localDate) =>
        state.State.Days.TryGetValue(localDate, out var totals) ? totals : default;

    /// <summary>This grain's name as a rollup member, e.g. <c>herd:P150121001-H1</c>.</summary>
    protected abstract string MemberKey { get; }

    protected async Task<ApplyResult> ApplyAsync<TReading>(
        TReading[] batch,
        Func<TReading, ReadingKey> keyOf,
        Func<TReading, DateTimeOffset> eventTimeOf,
        Func<TReading, DailyTotals> contributionOf,
        string countyId,
        string? pastureId)
    {
        var outcomes = new ApplyOutcome[batch.Length];
        var touched = new HashSet<DateOnly>();
        var applied = 0;
        var current = state.State;
        current.CountyId = countyId;
        current.PastureId ??= pastureId;
        for (var i = 0; i < batch.Length; i++)
        {
            var reading = batch[i];
            var day = ChinaTime.LocalDate(eventTimeOf(reading));
            touched.Add(day);
            outcomes[i] = current.Apply(keyOf(reading), day, contributionOf(reading));
            if (outcomes[i] == ApplyOutcome.Applied)
            {
                applied++;
            }
        }

        if (applied > 0)
        {
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                // The in-memory state now holds totals that are not stored: drop this activation so the next call
                // starts again from what PostgreSQL has. The caller does not acknowledge, so the broker redelivers.
                DeactivateOnIdle();
                throw;
            }
        }

        // A report even when everything was a duplicate: a redelivery may be the retry of a batch whose report was lost.
        var report = new Dictionary<DateOnly, DailyTotals>(touched.Count);
        foreach (var day in touched)
        {
            report[day] = OwnDay(day);
        }

        var revision = long.TryParse(state.Etag, System.Globalization.CultureInfo.InvariantCulture, out var version) ? version : 0;
        return new ApplyResult(outcomes, new MemberReport(MemberKey, [.. RollupKeysOf(current)], report, revision));
    }

    /// <summary>The city, the county, and (for herds and pastures) the pasture.</summary>
    internal static IEnumerable<string> RollupKeysOf(OwnedTotalsState owner)
    {
        yield return RollupKeys.City;
        if (owner.CountyId.Length > 0)
        {
            yield return RollupKeys.County(owner.CountyId);
        }

        if (owner.PastureId is { Length: > 0 } pastureId)
        {
            yield return RollupKeys.Pasture(pastureId);
        }
    }
}
