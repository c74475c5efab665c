using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Ingestion;
using Microsoft.Extensions.Time.Testing;

namespace HohhotCluster.Telemetry.Tests.Ingestion;

public sealed class DeviceRateLimiterTests
{
    private readonly FakeTimeProvider _clock = new();
    private long _seq;

    /// <summary>A new message (its own key) from the device: true when the limiter admits it.</summary>
    private bool Take(DeviceRateLimiter limiter, string deviceId) =>
        limiter.Admits(new ReadingKey(deviceId, 1, ++_seq));

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
        var keys = Enumerable.Range(1, 5).Select(seq => new ReadingKey("flood", 1, seq)).ToArray();
        Assert.Equal([true, true, false, false, false], keys.Select(limiter.Admits).ToArray());

        // Redelivered while the device is still throttled: the two admitted before the flood stay admitted.
        Assert.Equal([true, true, false, false, false], keys.Select(limiter.Admits).ToArray());

        _clock.Advance(TimeSpan.FromSeconds(10)); // tokens again: a fresh decision would admit
        Assert.Equal([true, true, false, false, false], keys.Select(limiter.Admits).ToArray());
        Assert.True(limiter.Admits(new ReadingKey("flood", 1, 6)));
        Assert.True(limiter.Admits(new ReadingKey("flood", 1, 6)));
    }

    [Fact]
    public void A_redelivery_spends_no_tokens()
    {
        var limiter = new DeviceRateLimiter(_clock, new IngestionOptions { DeviceMessagesPerSecond = 1, DeviceBurst = 3 });
        var first = new ReadingKey("d", 1, 1);
        for (var i = 0; i < 10; i++)
        {
            Assert.True(limiter.Admits(first));
        }

        Assert.True(limiter.Admits(new ReadingKey("d", 1, 2)));
        Assert.True(limiter.Admits(new ReadingKey("d", 1, 3)));
        Assert.False(limiter.Admits(new ReadingKey("d", 1, 4)));
    }

    [Fact]
    public void A_new_boot_epoch_is_decided_afresh_and_the_previous_one_is_still_remembered()
    {
        var limiter = new DeviceRateLimiter(_clock, new IngestionOptions { DeviceMessagesPerSecond = 1, DeviceBurst = 1 });
        Assert.True(limiter.Admits(new ReadingKey("d", 1, 1)));
        Assert.False(limiter.Admits(new ReadingKey("d", 1, 2)));
        _clock.Advance(TimeSpan.FromSeconds(1));
        Assert.True(limiter.Admits(new ReadingKey("d", 2, 1))); // rebooted: seq 1 again, a new message
        Assert.False(limiter.Admits(new ReadingKey("d", 2, 2)));

        _clock.Advance(TimeSpan.FromSeconds(5));
        Assert.True(limiter.Admits(new ReadingKey("d", 1, 1)));
        Assert.False(limiter.Admits(new ReadingKey("d", 1, 2)));
        Assert.False(limiter.Admits(new ReadingKey("d", 2, 2)));
    }
}
