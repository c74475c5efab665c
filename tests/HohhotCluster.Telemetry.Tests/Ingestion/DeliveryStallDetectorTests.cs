using HohhotCluster.Telemetry.Ingestion;
using Microsoft.Extensions.Time.Testing;

namespace HohhotCluster.Telemetry.Tests.Ingestion;

public sealed class DeliveryStallDetectorTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(5);
    private const int ReceiveMaximum = 10_000;
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 29, 4, 0, 0, TimeSpan.Zero));

    private DeliveryStallDetector NewDetector() => new(_clock, Timeout, ReceiveMaximum);

    /// <summary>Checks every probe interval for <paramref name="duration"/>; true if any check said stalled.</summary>
    private bool WatchFor(DeliveryStallDetector detector, TimeSpan duration, long unacknowledged)
    {
        var stalled = false;
        for (var t = TimeSpan.Zero; t < duration; t += Interval)
        {
            _clock.Advance(Interval);
            stalled |= detector.IsStalled(unacknowledged);
        }

        return stalled;
    }

    [Fact]
    public void A_probe_held_past_the_timeout_while_nothing_awaits_acknowledgement_is_a_stall()
    {
        var detector = NewDetector();
        Assert.True(detector.ShouldProbe());
        detector.ProbeSent();
        Assert.False(detector.ShouldProbe());

        Assert.False(WatchFor(detector, Timeout, unacknowledged: 0)); // up to the timeout: not yet
        Assert.True(WatchFor(detector, 2 * Interval, unacknowledged: 0)); // starving is seen from the first check on
    }

    [Fact]
    public void A_drip_a_few_messages_at_a_time_behind_a_held_probe_is_a_stall()
    {
        var detector = NewDetector();
        detector.ProbeSent();
        Assert.True(WatchFor(detector, Timeout + (2 * Interval), unacknowledged: 3));
    }

    [Fact]
    public void A_quiet_fleet_is_not_a_stall_while_the_probe_keeps_coming_back()
    {
        var detector = NewDetector();
        for (var i = 0; i < 20; i++)
        {
            detector.ProbeSent();
            Assert.False(WatchFor(detector, Interval, unacknowledged: 0));
            detector.ProbeReturned();
        }
    }

    [Fact]
    public void A_backlog_flowing_through_a_full_window_is_not_a_stall_however_late_the_probe()
    {
        // Draining an outage's backlog: the probe waits behind it for minutes, but the window is kept full.
        var detector = NewDetector();
        detector.ProbeSent();
        Assert.False(WatchFor(detector, TimeSpan.FromMinutes(5), unacknowledged: 9_800));
    }

    [Fact]
    public void A_blocked_pipeline_holding_its_window_is_not_a_stall()
    {
        // PostgreSQL away: nothing is acknowledged and the broker rightly sends no more.
        var detector = NewDetector();
        detector.ProbeSent();
        Assert.False(WatchFor(detector, TimeSpan.FromMinutes(5), unacknowledged: ReceiveMaximum));
    }

    [Fact]
    public void Starving_must_last_the_whole_timeout()
    {
        var detector = NewDetector();
        detector.ProbeSent();
        Assert.False(WatchFor(detector, TimeSpan.FromSeconds(15), unacknowledged: 5_000));
        Assert.False(WatchFor(detector, TimeSpan.FromSeconds(15), unacknowledged: 10)); // probe held 30 s, starving 15 s
        Assert.True(WatchFor(detector, TimeSpan.FromSeconds(15), unacknowledged: 10));
    }

    [Fact]
    public void A_new_connection_forgets_the_old_probe()
    {
        var detector = NewDetector();
        detector.ProbeSent();
        _clock.Advance(TimeSpan.FromMinutes(1));
        detector.Reset();
        Assert.True(detector.ShouldProbe());
        Assert.False(WatchFor(detector, TimeSpan.FromMinutes(1), unacknowledged: 0));
    }

    [Fact]
    public void A_drip_whose_probe_overtakes_the_queue_is_a_stall_when_the_broker_holds_a_backlog()
    {
        var detector = NewDetector();
        detector.BrokerStored(18_000);
        for (var i = 0; i < 6; i++)
        {
            detector.Received(); // a few messages a second still trickle in
            detector.ProbeSent();
            detector.ProbeReturned(); // the probe came straight back, yet the queue drips
            if (detector.IsStalled(unacknowledged: 4))
            {
                Assert.True(i >= 5, $"declared a stall after {i} checks");
                return;
            }

            _clock.Advance(Interval);
        }

        Assert.Fail("the drip was not recognised");
    }

    [Fact]
    public void Messages_stored_only_because_they_are_in_flight_to_us_are_no_backlog()
    {
        var detector = NewDetector();
        detector.BrokerStored(850);
        Assert.False(WatchFor(detector, TimeSpan.FromMinutes(2), unacknowledged: 790));
        detector.BrokerStored(60); // retained $SYS values: a quiet broker
        Assert.False(WatchFor(detector, TimeSpan.FromMinutes(2), unacknowledged: 0));
    }

    [Fact]
    public void An_idle_platform_beside_another_sessions_stale_queue_is_not_stalled()
    {
        // The stored count covers every session on a shared broker; without our own trickle it proves nothing.
        var detector = NewDetector();
        detector.Received();
        detector.BrokerStored(25_000);
        for (var i = 0; i < 24; i++)
        {
            detector.ProbeSent();
            Assert.False(detector.IsStalled(unacknowledged: 0));
            detector.ProbeReturned();
            _clock.Advance(Interval);
        }
    }

    [Fact]
    public void A_pipeline_busy_with_a_slow_batch_is_not_starving_however_few_messages_are_in_flight()
    {
        // 830 messages in one batch whose quarantine writes take a while, beside another session's stale queue.
        var detector = NewDetector();
        detector.BrokerStored(25_000);
        detector.ProbeSent();
        for (var i = 0; i < 12; i++)
        {
            detector.Received();
            Assert.False(detector.IsStalled(unacknowledged: 830, largestBatchInProgress: 830));
            _clock.Advance(Interval);
        }
    }
}
