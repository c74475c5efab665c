using HohhotCluster.Telemetry.Ingestion;
using Microsoft.Extensions.Time.Testing;

namespace HohhotCluster.Telemetry.Tests.Ingestion;

public sealed class DeviceRateLimiterTests
{
    private readonly FakeTimeProvider _clock = new();
    private long _seq;

    /// <summary>A new message (its own key) from the device: true when the limiter admits it.</summary>
    private bool Take(DeviceRateLimiter limiter, string deviceId) =>
        limiter.Decide(new HohhotCluster.Telemetry.Contracts.ReadingKey(deviceId, 1, ++_seq)) == RateDecision.Admitted;

    [Fact]
    public void Device_may_burst_then_is_held_to_its_rate()
    {
        var limiter = new DeviceRateLimiter(_clock, new IngestionOptions { DeviceMessagesPerSecond = 10, DeviceBurst = 5 });
        for (var i = 0; i < 5; i++)
        {
            Assert.True(Take(limiter, "flood"));
        }

        Assert.False(Take(limiter, "flood"));
        _clock.Advance(TimeSpan.FromMilliseconds(100)); // one token back
        Assert.True(Take(limiter, "flood"));
        Assert.False(Take(limiter, "flood"));
    }

    [Fact]
    public void One_flooding_device_does_not_spend_another_devices_tokens()
    {
        var limiter = new DeviceRateLimiter(_clock, new IngestionOptions { DeviceMessagesPerSecond = 1, DeviceBurst = 3 });
        while (Take(limiter, "flood"))
        {
        }

        Assert.True(Take(limiter, "quiet"));
    }

    [Fact]
    public void Zero_rate_turns_the_limit_off()
    {
        var limiter = new DeviceRateLimiter(_clock, new IngestionOptions { DeviceMessagesPerSecond = 0, DeviceBurst = 1 });
        for (var i = 0; i < 1000; i++)
        {
            Assert.True(Take(limiter, "d"));
        }
    }

    [Fact]
    public void A_redelivery_after_a_reconnect_gets_the_first_decision_again()
    {
        var limiter = new DeviceRateLimiter(_clock, new IngestionOptions { DeviceMessagesPerSecond = 1, DeviceBurst = 2 });
        var keys = Enumerable.Range(1, 5).Select(seq => new HohhotCluster.Telemetry.Contracts.ReadingKey("flood", 1, seq)).ToArray();
        var first = keys.Select(limiter.Decide).ToArray();
        Assert.Equal([RateDecision.Admitted, RateDecision.Admitted, RateDecision.Refused, RateDecision.Refused, RateDecision.Refused], first);

        limiter.Quarantined(keys[2]);
        limiter.Quarantined(keys[3]);
        _clock.Advance(TimeSpan.FromSeconds(10)); // tokens again: a fresh decision would admit

        // The refused ones whose rows are written are only acknowledged; the one whose row is not is refused again.
        Assert.Equal(RateDecision.RefusedBefore, limiter.Decide(keys[2]));
        Assert.Equal(RateDecision.RefusedBefore, limiter.Decide(keys[3]));
        Assert.Equal(RateDecision.Refused, limiter.Decide(keys[4]));
        Assert.Equal(RateDecision.Admitted, limiter.Decide(new HohhotCluster.Telemetry.Contracts.ReadingKey("flood", 1, 6)));
        Assert.Equal(RateDecision.Admitted, limiter.Decide(new HohhotCluster.Telemetry.Contracts.ReadingKey("flood", 1, 6)));
    }
}
