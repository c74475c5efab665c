using HohhotCluster.Telemetry.Ingestion;
using Microsoft.Extensions.Time.Testing;

namespace HohhotCluster.Telemetry.Tests.Ingestion;

public sealed class DeliveryStallDetectorTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 29, 4, 0, 0, TimeSpan.Zero));

    [Fact]
    public void A_probe_outstanding_past_the_timeout_with_nothing_received_and_nothing_unacknowledged_is_a_stall()
    {
        var detector = new DeliveryStallDetector(_clock, Timeout);
        Assert.True(detector.ShouldProbe());
        detector.ProbeSent();
        Assert.False(detector.ShouldProbe());

        _clock.Advance(Timeout);
        Assert.False(detector.IsStalled(unacknowledged: 0)); // not yet past the timeout
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(detector.IsStalled(unacknowledged: 0));
    }

    [Fact]
    public void A_quiet_fleet_is_not_a_stall_while_the_probe_keeps_coming_back()
    {
        var detector = new DeliveryStallDetector(_clock, Timeout);
        for (var i = 0; i < 20; i++)
        {
            detector.ProbeSent();
            _clock.Advance(TimeSpan.FromSeconds(5));
            detector.ProbeReturned();
            Assert.False(detector.IsStalled(0));
        }
    }

    [Fact]
    public void Messages_still_arriving_behind_a_long_queue_are_not_a_stall()
    {
        var detector = new DeliveryStallDetector(_clock, Timeout);
        detector.ProbeSent();
        for (var i = 0; i < 12; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(10));
            detector.Received(); // the probe is queued behind a backlog that is still flowing
            Assert.False(detector.IsStalled(0));
        }
    }

    [Fact]
    public void A_busy_or_blocked_pipeline_holding_unacknowledged_messages_is_not_a_stall()
    {
        // The broker rightly sends nothing while our receive maximum is used up (e.g. PostgreSQL is away).
        var detector = new DeliveryStallDetector(_clock, Timeout);
        detector.ProbeSent();
        _clock.Advance(TimeSpan.FromMinutes(5));
        Assert.False(detector.IsStalled(unacknowledged: 10_000));
        Assert.True(detector.IsStalled(unacknowledged: 0));
    }

    [Fact]
    public void A_new_connection_forgets_the_old_probe()
    {
        var detector = new DeliveryStallDetector(_clock, Timeout);
        detector.ProbeSent();
        _clock.Advance(TimeSpan.FromMinutes(1));
        detector.Reset();
        Assert.False(detector.IsStalled(0));
        Assert.True(detector.ShouldProbe());
    }
}
