using HohhotCluster.Telemetry.Api;
using HohhotCluster.Telemetry.Contracts;

namespace HohhotCluster.Telemetry.Tests.Api;

public sealed class ThroughputHistoryPeriodTests
{
    private static readonly DateOnly May1 = new(2026, 5, 1);

    [Fact]
    public void A_period_sums_its_days_and_takes_the_mean_over_the_days_that_reported_only()
    {
        var days = new Dictionary<DateOnly, DailyTotals>
        {
            [May1] = new(ProcessedKg: 10_000, IntakeCount: 1, CollectedKg: 6_000, CollectionCount: 2, MilkedKg: 5_500, MilkingCount: 40),
            [May1.AddDays(2)] = new(ProcessedKg: 20_000, IntakeCount: 2, CollectedKg: 0, CollectionCount: 0, MilkedKg: 0, MilkingCount: 0),
            // A day the range does not hold is not counted.
            [May1.AddDays(9)] = new(ProcessedKg: 99_000, IntakeCount: 9, CollectedKg: 0, CollectionCount: 0, MilkedKg: 0, MilkingCount: 0),
        };

        var period = ThroughputGrpcService.Period(May1, May1.AddDays(3), days);

        Assert.Equal(("2026-05-01", "2026-05-04", 4, 2), (period.PeriodStart, period.PeriodEnd, period.Days, period.DaysReported));
        Assert.Equal((30.0, 6.0, 5.5), (period.ProcessedT, period.ProducedT, period.MilkedT));
        Assert.Equal((15.0, 3.0, 2.75), (period.ProcessedTPerDay, period.ProducedTPerDay, period.MilkedTPerDay));
    }

    [Fact]
    public void A_period_without_a_reported_day_has_a_mean_of_zero_not_a_division_by_zero()
    {
        var empty = new Dictionary<DateOnly, DailyTotals> { [May1] = default };
        var period = ThroughputGrpcService.Period(May1, May1, empty);
        Assert.Equal((0, 0.0, 0.0), (period.DaysReported, period.ProcessedT, period.ProcessedTPerDay));
        Assert.False(double.IsNaN(period.ProducedTPerDay));
    }
}
