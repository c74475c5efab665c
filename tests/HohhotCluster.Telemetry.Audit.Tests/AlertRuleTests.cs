using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
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
    public void The_gaps_between_a_boots_delivered_runs_are_its_sequence_holes()
    {
        var boot = new DeviceBootSequence("D1", 7, [new SequenceRun(1, 4), new SequenceRun(7, 9), new SequenceRun(11, 20)],
            new Dictionary<string, DateTimeOffset>(), T0);
        Assert.Equal([new SequenceHole("D1", 7, 5, 6), new SequenceHole("D1", 7, 10, 10)], DeviceWatchdog.HolesOf(boot));
        Assert.Empty(DeviceWatchdog.HolesOf(boot with { Runs = [new SequenceRun(1, 50)] }));
    }

    [Fact]
    public void A_kinds_silence_override_outside_its_bounds_fails_validation_naming_the_kind()
    {
        var result = new AuditOptionsValidator().Validate(null, new AuditOptions
        {
            Alerts = new AlertOptions { SilentAfterByKind = new Dictionary<string, TimeSpan> { ["manure"] = TimeSpan.FromSeconds(3) } },
        });
        Assert.True(result.Failed);
        Assert.Contains("SilentAfterByKind:manure", result.FailureMessage, StringComparison.Ordinal);
        Assert.True(new AuditOptionsValidator().Validate(null, new AuditOptions
        {
            Alerts = new AlertOptions { SilentAfterByKind = new Dictionary<string, TimeSpan> { ["manure"] = TimeSpan.Zero, ["tmr"] = TimeSpan.FromHours(10) } },
        }).Succeeded);
    }

    [Fact]
    public void A_device_is_held_to_the_shortest_cadence_of_the_periodic_kinds_it_sent_lately()
    {
        var options = new AlertOptions();
        Dictionary<string, DateTimeOffset> Sent(params (string Kind, double HoursAgo)[] kinds) =>
            kinds.ToDictionary(k => k.Kind, k => T0.AddHours(-k.HoursAgo), StringComparer.Ordinal);

        var kinds = PlatformKinds.Registry;
        Assert.Equal(TimeSpan.FromMinutes(30), DeviceCadence.SilentAfter(Sent(("bulk_tank", 1), ("tanker_pickup", 0.5)), T0, options, "pasture", kinds));
        Assert.Equal(TimeSpan.FromHours(36), DeviceCadence.SilentAfter(Sent(("manure", 20)), T0, options, "pasture", kinds));
        Assert.Equal(TimeSpan.FromHours(14), DeviceCadence.SilentAfter(Sent(("milking", 2)), T0, options, "pasture", kinds));
        Assert.Null(DeviceCadence.SilentAfter(Sent(("tanker_pickup", 1)), T0, options, "pasture", kinds));
        Assert.Null(DeviceCadence.SilentAfter(Sent(("silo_transfer", 1), ("production", 2)), T0, options, "plant", kinds));
        Assert.Null(DeviceCadence.SilentAfter(Sent(("quality", 1)), T0, options, "lab", kinds));   // a regulator samples when it visits
        // A kind last sent before the window no longer decides; a kind the platform does not define has no say.
        Assert.Equal(TimeSpan.FromHours(36), DeviceCadence.SilentAfter(Sent(("manure", 30), ("bulk_tank", 24 * 9)), T0, options, "pasture", kinds));
        Assert.Null(DeviceCadence.SilentAfter(Sent(("no_such_kind", 1)), T0, options, "pasture", kinds));
        // Nothing recorded at all: the device-wide default.
        Assert.Equal(options.DeviceSilentAfter, DeviceCadence.SilentAfter(Sent(), T0, options, "pasture", kinds));
    }

    [Fact]
    public void A_kinds_declared_cadence_holds_for_its_owner_kind_only_and_an_override_wins_over_it()
    {
        var registry = new TelemetryKindRegistry([
            new CadenceOnlyKind("manure", OwnerKind.Pasture, ReportingCadence.SilentAfterOf(TimeSpan.FromHours(3))),
            new CadenceOnlyKind("tmr", OwnerKind.Pasture, ReportingCadence.SilentAfterOf(TimeSpan.FromHours(10))),
            new CadenceOnlyKind("bulk_tank", OwnerKind.Pasture, ReportingCadence.EventDriven)]);
        var sent = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal) { ["manure"] = T0, ["tmr"] = T0 };

        Assert.Equal(TimeSpan.FromHours(3), DeviceCadence.SilentAfter(sent, T0, Options, "pasture", registry));
        // Under another owner kind the pasture's definitions do not apply, and these kinds have no other.
        Assert.Null(DeviceCadence.SilentAfter(sent, T0, Options, "plant", registry));
        Assert.Null(DeviceCadence.SilentAfter(new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal) { ["bulk_tank"] = T0 }, T0, Options, "pasture", registry));
        var overridden = new AlertOptions { SilentAfterByKind = new() { ["manure"] = TimeSpan.FromHours(40) } };
        Assert.Equal(TimeSpan.FromHours(10), DeviceCadence.SilentAfter(sent, T0, overridden, "pasture", registry));
        Assert.Equal(TimeSpan.FromHours(3), DeviceCadence.ShortestLimit(new AlertOptions { DeviceSilentAfter = TimeSpan.FromHours(5), SilentAfterByKind = new() { ["bulk_tank"] = TimeSpan.Zero } }, registry));
    }

    [Fact]
    public void A_configured_cadence_overrides_the_kinds_default_and_zero_makes_it_event_driven()
    {
        var options = new AlertOptions
        {
            SilentAfterByKind = new Dictionary<string, TimeSpan> { ["manure"] = TimeSpan.FromHours(2), ["bulk_tank"] = TimeSpan.Zero, ["tmr"] = TimeSpan.FromMinutes(20) },
        };
        var sent = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal) { ["manure"] = T0, ["bulk_tank"] = T0 };

        Assert.Equal(TimeSpan.FromHours(2), DeviceCadence.SilentAfter(sent, T0, options, "pasture", PlatformKinds.Registry));
        Assert.Equal(TimeSpan.FromMinutes(20), DeviceCadence.ShortestLimit(options, PlatformKinds.Registry));
    }

    [Fact]
    public void Options_with_warning_above_rejection_fail_validation()
    {
        var result = new AuditOptionsValidator().Validate(null, new AuditOptions { Alerts = new AlertOptions { TankerWarnC = 12, TankerRejectC = 10 } });
        Assert.True(result.Failed);
        Assert.Contains("TankerWarnC", result.FailureMessage, StringComparison.Ordinal);
    }
}

/// <summary>A kind that only names itself and its cadence (the registry and the watchdog read nothing else).</summary>
internal sealed class CadenceOnlyKind(string name, OwnerKind owner, ReportingCadence cadence) : TelemetryKind<object>
{
    public override string Name => name;

    public override OwnerKind Owner => owner;

    public override ReportingCadence Cadence => cadence;

    public override bool TryParse(System.Text.Json.JsonElement body, ReadingKey key, DateTimeOffset eventTime,
        [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out object? record, out Rejection rejection) =>
        throw new NotSupportedException();

    public override Task<ApplyOutcome[]> ApplyAsync(IReadOnlyList<Accepted<object>> records, CancellationToken cancellationToken) =>
        throw new NotSupportedException();

    public override void WritePoints(HohhotCluster.Telemetry.TimeSeries.LineProtocolWriter writer, Accepted<object> record) =>
        throw new NotSupportedException();
}
