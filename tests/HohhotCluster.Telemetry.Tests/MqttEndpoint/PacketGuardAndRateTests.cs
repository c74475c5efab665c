using HohhotCluster.Telemetry.MqttEndpoint;
using Microsoft.Extensions.Time.Testing;

namespace HohhotCluster.Telemetry.Tests.MqttEndpoint;

public sealed class FixedHeaderScannerTests
{
    [Fact]
    public void Packets_within_the_limit_pass_whatever_the_read_boundaries()
    {
        // PUBLISH with remaining length 200 (0xC8 0x01), then PINGREQ (0xC0 0x00), then a 127-byte packet.
        var stream = new List<byte> { 0x32, 0xC8, 0x01 };
        stream.AddRange(new byte[200]);
        stream.AddRange([0xC0, 0x00, 0x30, 0x7F]);
        stream.AddRange(new byte[127]);
        for (var chunk = 1; chunk <= stream.Count; chunk++)
        {
            var scanner = new FixedHeaderScanner(200);
            for (var offset = 0; offset < stream.Count; offset += chunk)
            {
                var part = stream.Skip(offset).Take(chunk).ToArray();
                Assert.True(scanner.Scan(part, out var problem), $"chunk {chunk} at {offset}: {problem}");
            }
        }
    }

    [Fact]
    public void A_header_announcing_more_than_the_limit_is_refused_before_its_body()
    {
        var scanner = new FixedHeaderScanner(65 * 1024);
        // 16 MiB announced: 0x80 0x80 0x80 0x08; the guard says no after the header alone.
        Assert.False(scanner.Scan([0x30, 0x80, 0x80, 0x80, 0x08], out var problem));
        Assert.Contains("16777216", problem);
    }

    [Fact]
    public void A_limit_crossing_packet_after_good_ones_is_caught()
    {
        var scanner = new FixedHeaderScanner(10);
        Assert.True(scanner.Scan([0x30, 0x0A, .. new byte[10]], out _));
        Assert.False(scanner.Scan([0x30, 0x0B], out _));
    }

    [Fact]
    public void A_remaining_length_of_more_than_four_bytes_is_malformed()
    {
        var scanner = new FixedHeaderScanner(int.MaxValue);
        Assert.False(scanner.Scan([0x30, 0xFF, 0xFF, 0xFF, 0xFF, 0x01], out var problem));
        Assert.Contains("malformed", problem);
    }
}

public sealed class EdgeRateLimiterTests
{
    private static EdgeRateLimiter Limiter(FakeTimeProvider clock) => new(clock, new MqttEndpointOptions
    {
        GatewayReadingsPerSecond = 10,
        GatewayBurst = 20,
        DeviceReadingsPerSecond = 1,
        DeviceBurst = 5,
    });

    [Fact]
    public void A_device_beyond_its_burst_is_refused_and_its_gateway_keeps_the_tokens()
    {
        var clock = new FakeTimeProvider();
        var limiter = Limiter(clock);
        Assert.Equal(RateVerdict.Admitted, limiter.Admit("gw", ["d1", "d1", "d1", "d1", "d1"], out _));
        Assert.Equal(RateVerdict.DeviceOverRate, limiter.Admit("gw", ["d2", "d1"], out var why));
        Assert.Contains("d1", why);
        // d2's token was given back with the gateway's: 15 left for the gateway, 5 for d2.
        Assert.Equal(RateVerdict.Admitted, limiter.Admit("gw", ["d2", "d2", "d2", "d2", "d2"], out _));
        Assert.Equal(RateVerdict.Admitted, limiter.Admit("gw", ["d3", "d3", "d3", "d3", "d3", "d4", "d4", "d4", "d4", "d4"], out _));
        Assert.Equal(RateVerdict.GatewayOverRate, limiter.Admit("gw", ["d5"], out _));
    }

    [Fact]
    public void Tokens_come_back_at_the_rate()
    {
        var clock = new FakeTimeProvider();
        var limiter = Limiter(clock);
        Assert.Equal(RateVerdict.Admitted, limiter.Admit("gw", ["d1", "d1", "d1", "d1", "d1"], out _));
        Assert.Equal(RateVerdict.DeviceOverRate, limiter.Admit("gw", ["d1"], out _));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(RateVerdict.Admitted, limiter.Admit("gw", ["d1"], out _));
    }

    [Fact]
    public void Made_up_device_ids_do_not_grow_the_limiter_beyond_its_bound()
    {
        var clock = new FakeTimeProvider();
        var limiter = new EdgeRateLimiter(clock, new MqttEndpointOptions { GatewayReadingsPerSecond = 0, DeviceReadingsPerSecond = 1000, DeviceBurst = 1, TrackedDevices = 100 });
        for (var i = 0; i < 10_000; i++)
        {
            limiter.Admit("gw", ["fake-" + i], out _);
            clock.Advance(TimeSpan.FromMilliseconds(1));
        }

        Assert.InRange(limiter.TrackedDevices, 1, 200);
    }
}
