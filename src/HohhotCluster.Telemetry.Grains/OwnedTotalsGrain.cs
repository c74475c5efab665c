using HohhotCluster.Telemetry.Contracts;
using Microsoft.Extensions.Logging;

namespace HohhotCluster.Telemetry.Grains;

/// <summary>
/// The shared machinery of herds, pastures and plants: apply a batch of readings once per key, persist the totals
/// and the applied keys in one write, then report the touched days' absolute totals to the rollups above.
/// </summary>
public abstract partial class OwnedTotalsGrain(IPersistentState<OwnedTotalsState> state, ILogger logger) : Grain
{
    protected OwnedTotalsState State => state.State;

    public Task<DailyTotals> GetDayAsync(DateOnly localDate) =>
        Task.FromResult(OwnDay(localDate));

    public Task<Dictionary<DateOnly, DailyTotals>> GetAllDaysAsync() =>
        Task.FromResult(new Dictionary<DateOnly, DailyTotals>(state.State.Days));

    private DailyTotals OwnDay(DateOnly localDate) =>
        state.State.Days.TryGetValue(localDate, out var totals) ? totals : default;

    /// <summary>This grain's name as a rollup member, e.g. <c>herd:P150121001-H1</c>.</summary>
    protected abstract string MemberKey { get; }

    protected async Task<ApplyOutcome[]> ApplyAsync<TReading>(
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
            if (!current.Applied.TryAdd(keyOf(reading)))
            {
                outcomes[i] = ApplyOutcome.Duplicate;
                current.DuplicatesIgnored++;
                continue;
            }

            current.Days[day] = (current.Days.TryGetValue(day, out var totals) ? totals : default) + contributionOf(reading);
            outcomes[i] = ApplyOutcome.Applied;
            applied++;
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

        // Report even when everything was a duplicate: a redelivery may be the retry of a batch whose report was lost.
        await ReportAsync(touched);
        return outcomes;
    }

    protected async Task ReportAsync(HashSet<DateOnly> days)
    {
        if (days.Count == 0)
        {
            return;
        }

        var report = new Dictionary<DateOnly, DailyTotals>(days.Count);
        foreach (var day in days)
        {
            report[day] = OwnDay(day);
        }

        var reports = new List<Task>(3);
        foreach (var rollupKey in RollupKeysOf(state.State))
        {
            reports.Add(ReportToAsync(rollupKey, report));
        }

        await Task.WhenAll(reports);
    }

    private async Task ReportToAsync(string rollupKey, Dictionary<DateOnly, DailyTotals> report)
    {
        try
        {
            await GrainFactory.GetGrain<IRollupGrain>(rollupKey).ReportMemberAsync(MemberKey, report);
        }
        catch (Exception exception)
        {
            // The totals are stored; a rollup rebuilds itself from storage when it is next activated.
            LogReportFailed(MemberKey, rollupKey, exception);
        }
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

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "Could not report {Member} to rollup {Rollup}; it will catch up from storage")]
    private partial void LogReportFailed(string member, string rollup, Exception exception);
}
