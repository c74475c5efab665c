using HohhotCluster.Telemetry.Ingestion;
using Microsoft.Extensions.Time.Testing;

namespace HohhotCluster.Telemetry.Tests.Ingestion;

public sealed class DeviceRateLimiterTests
{
    private readonly FakeTimeProvider _clock = new();

    [Fact]
    public void Device_may_burst_then_is_held_to_its_rate()
    {
        var limiter = new DeviceRateLimiter(_clock, new IngestionOptions { DeviceMessagesPerSecond = 10, DeviceBurst = 5 });
        for (var i = 0; i < 5; i++)
        {
            Assert.True(limiter.TryTake("flood"));
        }

        Assert.False(limiter.TryTake("flood"));
        _clock.Advance(TimeSpan.FromMilliseconds(100)); // one token back
        Assert.True(limiter.TryTake("flood"));
        Assert.False(limiter.TryTake("flood"));
    }

    [Fact]
    public void One_flooding_device_does_not_spend_another_devices_tokens()
    {
        var limiter = new DeviceRateLimiter(_clock, new IngestionOptions { DeviceMessagesPerSecond = 1, DeviceBurst = 3 });
        while (limiter.TryTake("flood"))
        {
        }

        Assert.True(limiter.TryTake("quiet"));
    }

    [Fact]
    public void Zero_rate_turns_the_limit_off()
    {
        var limiter = new DeviceRateLimiter(_clock, new IngestionOptions { DeviceMessagesPerSecond = 0, DeviceBurst = 1 });
        for (var i = 0; i < 1000; i++)
        {
            Assert.True(limiter.TryTake("d"));
        }
    }
}
