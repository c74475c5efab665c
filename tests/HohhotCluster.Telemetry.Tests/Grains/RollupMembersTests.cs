using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Grains;

namespace HohhotCluster.Telemetry.Tests.Grains;

public sealed class RollupMembersTests
{
    private static readonly DateOnly Monday = new(2026, 11, 23);
    private static readonly DateOnly Tuesday = Monday.AddDays(1);

    private static DailyTotals Milked(double kg, long count) => new(0, 0, 0, 0, kg, count);

    private static Dictionary<DateOnly, DailyTotals> On(DateOnly day, DailyTotals totals) => new() { [day] = totals };

    [Fact]
    public void A_report_overtaken_by_a_newer_one_changes_nothing()
    {
        var members = new RollupMembers();
        members.Report("herd:H1", On(Monday, Milked(30, 2)), revision: 6); // the later batch's report came first
        members.Report("herd:H1", On(Monday, Milked(10, 1)), revision: 5);

        Assert.Equal(Milked(30, 2), members.Day(Monday));
    }

    [Fact]
    public void Newer_and_repeated_reports_replace_the_members_totals_and_members_add_up()
    {
        var members = new RollupMembers();
        members.Report("herd:H1", On(Monday, Milked(10, 1)), revision: 1);
        members.Report("herd:H1", On(Monday, Milked(25, 2)), revision: 2);
        members.Report("herd:H1", On(Monday, Milked(25, 2)), revision: 2);
        members.Report("herd:H2", On(Monday, Milked(7, 1)), revision: 9);

        Assert.Equal(Milked(32, 3), members.Day(Monday));
    }

    [Fact]
    public void An_older_report_of_another_day_still_counts()
    {
        var members = new RollupMembers();
        members.Report("herd:H1", On(Tuesday, Milked(4, 1)), revision: 8);
        members.Report("herd:H1", On(Monday, Milked(12, 1)), revision: 7); // the only report of Monday

        Assert.Equal(Milked(12, 1), members.Day(Monday));
        Assert.Equal(new Dictionary<DateOnly, DailyTotals> { [Monday] = Milked(12, 1), [Tuesday] = Milked(4, 1) }, members.AllDays());
    }
}
