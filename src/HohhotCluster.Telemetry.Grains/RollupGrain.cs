using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Grains;

/// <summary>
/// Sums the daily totals of the herds, pastures and plants under a city, county or pasture. Members report their
/// absolute totals; on activation the rollup loads every member's committed totals from storage, so nothing
/// depends on a report that was lost when a silo died.
/// </summary>
public sealed class RollupGrain(IMemberTotalsReader reader) : Grain, IRollupGrain
{
    private readonly RollupMembers _members = new();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var member in await reader.ReadMembersAsync(this.GetPrimaryKeyString(), cancellationToken))
        {
            _members.Report(member.MemberKey, member.Days, member.Revision);
        }
    }

    public Task ReportMembersAsync(MemberReport[] reports)
    {
        foreach (var report in reports)
        {
            _members.Report(report.MemberKey, report.Days, report.Revision);
        }

        return Task.CompletedTask;
    }

    public Task<DailyTotals> GetDayAsync(DateOnly localDate) => Task.FromResult(_members.Day(localDate));

    public Task<Dictionary<DateOnly, DailyTotals>> GetAllDaysAsync() => Task.FromResult(_members.AllDays());
}

/// <summary>
/// The members of a rollup and their absolute daily totals. Each total carries the version of the member's stored
/// state it comes from, and the newest is kept per member and day: reports of concurrent batches may arrive in any
/// order, and a repeat or a report overtaken by a newer one changes nothing.
/// </summary>
public sealed class RollupMembers
{
    private readonly Dictionary<string, Dictionary<DateOnly, (DailyTotals Totals, long Revision)>> _members = new(StringComparer.Ordinal);

    public void Report(string memberKey, IReadOnlyDictionary<DateOnly, DailyTotals> days, long revision)
    {
        if (!_members.TryGetValue(memberKey, out var known))
        {
            known = [];
            _members[memberKey] = known;
        }

        foreach (var (day, totals) in days)
        {
            if (!known.TryGetValue(day, out var held) || held.Revision <= revision)
            {
                known[day] = (totals, revision);
            }
        }
    }

    public DailyTotals Day(DateOnly localDate)
    {
        DailyTotals sum = default;
        foreach (var days in _members.Values)
        {
            if (days.TryGetValue(localDate, out var day))
            {
                sum += day.Totals;
            }
        }

        return sum;
    }

    public Dictionary<DateOnly, DailyTotals> AllDays()
    {
        var all = new Dictionary<DateOnly, DailyTotals>();
        foreach (var days in _members.Values)
        {
            foreach (var (day, (totals, _)) in days)
            {
                all[day] = (all.TryGetValue(day, out var sum) ? sum : default) + totals;
            }
        }

        return all;
    }
}
