using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Grains;

namespace HohhotCluster.Telemetry.Tests.Grains;

/// <summary>
/// What <c>OwnedTotalsGrain.ApplyAsync</c> does per reading (<see cref="OwnedTotalsState.Apply"/>), without the
/// Orleans runtime: this repository has no in-process test cluster.
/// </summary>
public sealed class OwnedTotalsStateTests
{
    private static readonly DateOnly Day = new(2026, 11, 29);
    private static readonly DailyTotals OneMilking = new(0, 0, 0, 0, 10, 1);

    [Fact]
    public void A_reading_is_counted_once_and_its_redelivery_is_a_duplicate()
    {
        var state = new OwnedTotalsState();
        Assert.Equal(ApplyOutcome.Applied, state.Apply(new ReadingKey("d1", 1, 1), Day, OneMilking));
        Assert.Equal(ApplyOutcome.Duplicate, state.Apply(new ReadingKey("d1", 1, 1), Day, OneMilking));

        Assert.Equal(OneMilking, state.Days[Day]);
        Assert.Equal((1, 0), (state.DuplicatesIgnored, state.UnverifiableRefused));
    }

    [Fact]
    public void A_reading_of_an_evicted_epoch_is_unverifiable_and_changes_no_total()
    {
        var state = new OwnedTotalsState();
        for (long epoch = 0; epoch <= AppliedKeyLog.EpochsPerDevice; epoch++)
        {
            Assert.Equal(ApplyOutcome.Applied, state.Apply(new ReadingKey("d1", epoch, 1), Day, OneMilking));
        }

        var before = state.Days[Day];
        Assert.Equal(ApplyOutcome.Unverifiable, state.Apply(new ReadingKey("d1", 0, 1), Day, OneMilking)); // applied, then evicted
        Assert.Equal(ApplyOutcome.Unverifiable, state.Apply(new ReadingKey("d1", 0, 2), Day, OneMilking)); // never seen

        Assert.Equal(before, state.Days[Day]);
        Assert.Equal((0, 2), (state.DuplicatesIgnored, state.UnverifiableRefused));
    }

    [Fact]
    public void A_late_reading_into_a_closed_hole_is_unverifiable_and_changes_no_total()
    {
        var state = new OwnedTotalsState();
        for (long seq = 1; seq <= (AppliedKeyLog.RangesPerEpoch + 1) * 2; seq += 2)
        {
            state.Apply(new ReadingKey("d1", 1, seq), Day, OneMilking);
        }

        var before = state.Days[Day];
        Assert.Equal(ApplyOutcome.Unverifiable, state.Apply(new ReadingKey("d1", 1, 2), Day, OneMilking));
        Assert.Equal(before, state.Days[Day]);
        Assert.Equal(ApplyOutcome.Applied, state.Apply(new ReadingKey("d1", 1, 4), Day, OneMilking)); // still an open hole
        Assert.Equal(before + OneMilking, state.Days[Day]);
        Assert.Equal(1, state.UnverifiableRefused);
    }
}
