using HohhotCluster.Telemetry.Audit.Alerts;

namespace HohhotCluster.Telemetry.Audit.Tests;

public sealed class AlertRuleTests
{
    private static readonly AlertOptions Options = new();
    private static readonly DateTimeOffset T0 = new(2026, 3, 10, 6, 0, 0, TimeSpan.FromHours(8));

    [Fact]
    public void Cooling_failure_raises_after_more_than_two_hours_above_4_C_and_clears_when_cold_again()
    {
        var tank = new TankEpisode();
        Assert.Equal(AlertTransition.None, ColdChainRule.Observe(tank, T0, 3.6, "k0", Options));
        Assert.Equal(AlertTransition.None, ColdChainRule.Observe(tank, T0.AddMinutes(30), 5.2, "k1", Options));
        Assert.Equal(AlertTransition.None, ColdChainRule.Observe(tank, T0.AddMinutes(150), 7.0, "k2", Options)); // exactly 2 h: not more
        Assert.Equal(AlertTransition.Raised, ColdChainRule.Observe(tank, T0.AddMinutes(151), 7.1, "k3", Options));
        Assert.Equal(T0.AddMinutes(30), tank.AboveSince);
        Assert.Equal(["k1", "k2", "k3"], tank.Readings.Select(r => r.Source));
        Assert.Equal(AlertTransition.None, ColdChainRule.Observe(tank, T0.AddMinutes(140), 3.0, "late", Options)); // older: ignored
        Assert.Equal(AlertTransition.Cleared, ColdChainRule.Observe(tank, T0.AddMinutes(200), 3.9, "k4", Options));
        Assert.Null(tank.AboveSince);
    }

    [Fact]
    public void Conductivity_jump_raises_mastitis_for_that_cow_only_and_clears_when_she_recovers()
    {
        var cows = new Dictionary<string, CowBaseline> { ["cow1"] = new(), ["cow2"] = new() };
        var raised = new List<string>();
        for (var i = 0; i < 8; i++)
        {
            foreach (var (id, cow) in cows)
            {
                // cow1 jumps from 5.0 to 6.5 mS/cm (+30 %) at her 6th milking; cow2 wanders within 4 %.
                var value = id == "cow1" ? (i >= 5 ? 6.5 : 5.0) : 5.0 + (i % 2 * 0.2);
                if (MastitisRule.Observe(cow, T0.AddHours(8 * i), value, $"{id}/{i}", Options) == AlertTransition.Raised)
                {
                    raised.Add(id);
                }
            }
        }

        Assert.Equal(["cow1"], raised);
        Assert.True(cows["cow1"].Suspected);
        Assert.Equal(T0.AddHours(40), cows["cow1"].SuspectSince);
        Assert.Equal(5.0, cows["cow1"].Mean, 6); // suspicious milkings stay out of her baseline
        Assert.Equal(AlertTransition.Cleared, MastitisRule.Observe(cows["cow1"], T0.AddHours(80), 5.1, "cow1/9", Options));
    }

    [Fact]
    public void Applied_key_ranges_become_sequence_holes()
    {
        var holes = DeviceWatchdog.HolesFromAppliedLog(
            """{"D1":[{"epoch":7,"ranges":[{"first":1,"last":4},{"first":7,"last":9},{"first":11,"last":20}]}],"D2":[{"epoch":1,"ranges":[{"first":1,"last":50}]}]}""");
        Assert.Equal([new SequenceHole("D1", 7, 5, 6), new SequenceHole("D1", 7, 10, 10)], holes["D1"]);
        Assert.False(holes.ContainsKey("D2"));
    }

    [Fact]
    public void Applied_key_ranges_in_their_compact_stored_form_become_sequence_holes()
    {
        // 1..4, 7..9, 11..20: what AppliedKeyLog stores now.
        var holes = DeviceWatchdog.HolesFromAppliedLog("""{"D1":[{"epoch":7,"ranges":"1:3,3:2,2:9"}]}""");
        Assert.Equal([new SequenceHole("D1", 7, 5, 6), new SequenceHole("D1", 7, 10, 10)], holes["D1"]);
    }

    [Fact]
    public void A_hole_the_applied_key_log_had_to_close_stays_a_sequence_hole()
    {
        // 1..20 applied as one range after the log closed the hole 5..6 (too many holes): the loss is still reported.
        var holes = DeviceWatchdog.HolesFromAppliedLog("""{"D1":[{"epoch":7,"ranges":[{"first":1,"last":20}],"unknown":[{"first":5,"last":6}]}]}""");
        Assert.Equal([new SequenceHole("D1", 7, 5, 6)], holes["D1"]);
    }

    [Fact]
    public void Options_with_warning_above_rejection_fail_validation()
    {
        var result = new AuditOptionsValidator().Validate(null, new AuditOptions { Alerts = new AlertOptions { TankerWarnC = 12, TankerRejectC = 10 } });
        Assert.True(result.Failed);
        Assert.Contains("TankerWarnC", result.FailureMessage, StringComparison.Ordinal);
    }
}
