using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Grains;

/// <summary>
/// Sums the daily totals of the herds, pastures and plants under a city, county or pasture. Members report their
/// absolute totals (so repeats are harmless); on activation the rollup loads every member's committed totals from
/// storage, so nothing depends on a report that was lost when a silo died.
/// </summary>
public sealed class RollupGrain(GrainTotalsReader reader) : Grain, IRollupGrain
{
    private readonly Dictionary<string, Dictionary<DateOnly, DailyTotals>> _members = new(StringComparer.Ordinal);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var member in await reader.ReadMembersAsync(this.GetPrimaryKeyString(), cancellationToken))
        {
            _members[member.MemberKey] = member.Days;
        }
    }

    public Task ReportMemberAsync(string memberKey, Dictionary<DateOnly, DailyTotals> days)
    {
        if (!_members.TryGetValue(memberKey, out var known))
        {
            known = [];
            _members[memberKey] = known;
        }

        foreach (var (day, totals) in days)
        {
            known[day] = totals;
        }

        return Task.CompletedTask;
    }

    public Task<DailyTotals> GetDayAsync(DateOnly localDate)
    {
        DailyTotals sum = default;
        foreach (var days in _members.Values)
        {
            if (days.TryGetValue(localDate, out var totals))
            {
                sum += totals;
            }
        }

        return Task.FromResult(sum);
    }

    public Task<Dictionary<DateOnly, DailyTotals>> GetAllDaysAsync()
    {
        var all = new Dictionary<DateOnly, DailyTotals>();
        foreach (var days in _members.Values)
        {
            foreach (var (day, totals) in days)
            {
                all[day] = (all.TryGetValue(day, out var sum) ? sum : default) + totals;
            }
        }

        return Task.FromResult(all);
    }
}
