using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;
using MQTTnet;

namespace HohhotCluster.Telemetry.IntegrationTests.EndToEnd;

/// <summary>
/// Floods at the edge: one device beyond its rate (its publishes get PUBACK 0x97, quota exceeded), and one gateway
/// inventing device ids (disconnected with 0x96, message rate too high). What is refused is stored nowhere (no
/// quarantine row), what was admitted is stored exactly once, and the other gateways lose nothing.
/// </summary>
public sealed class FloodingDeviceTests : IAsyncLifetime
{
    private PlatformProcess _platform = null!;

    public async Task InitializeAsync() => _platform = await PlatformProcess.StartAsync(settings: new Dictionary<string, string>
    {
        // Low enough that even a slow publisher on a loaded machine outruns them.
        ["MqttEndpoint__DeviceReadingsPerSecond"] = "1",
        ["MqttEndpoint__DeviceBurst"] = "50",
        ["MqttEndpoint__GatewayReadingsPerSecond"] = "2",
        ["MqttEndpoint__GatewayBurst"] = "100",
    });

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task Flooding_device_is_refused_at_the_edge_while_other_gateways_lose_nothing()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(_platform);
        var day = ThroughputProbe.ChinaDay(1);
        await using var pasture = await Gateway.ConnectAsync(_platform, fleet.PastureB, fleet.PasswordOf(fleet.PastureB));
        await using var plant = await Gateway.ConnectAsync(_platform, fleet.Plant, fleet.PasswordOf(fleet.Plant));
        var floodTopic = Payloads.Topic("pasture", fleet.PastureB, fleet.TankB, "bulk_tank");
        var intakeTopic = Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake");

        const int flood = 400;
        var flooding = Task.Run(async () =>
        {
            var (stored, refused) = (0, 0);
            for (var seq = 1; seq <= flood; seq++)
            {
                var result = await pasture.PublishForResultAsync(floodTopic, Payloads.Level(fleet.TankB, seq, ThroughputProbe.At(day, 10, 0).AddMilliseconds(seq * 10), 5_000));
                switch (result.ReasonCode)
                {
                    case MqttClientPublishReasonCode.Success: stored++; break;
                    case MqttClientPublishReasonCode.QuotaExceeded: refused++; break;
                    default: Assert.Fail($"seq {seq}: {result.ReasonCode} {result.ReasonString}"); break;
                }
            }

            return (stored, refused);
        });
        for (var seq = 1; seq <= 30; seq++)
        {
            Assert.True(await plant.PublishAsync(intakeTopic, Payloads.Intake(fleet.Weighbridge, seq, ThroughputProbe.At(day, 11, seq), "TL-" + seq, 1_000)));
        }

        var (storedFlood, refusedFlood) = await flooding;
        var reply = await ThroughputProbe.WaitForCountsAsync(_platform, day, ScopeKind.Plant, fleet.Plant, 0, 0, 30);
        Assert.Equal((30L, 30.0), (reply.IntakeCount, reply.ProcessedT));

        // Each flood message got one answer: stored (a point) or refused (nothing anywhere).
        Assert.Equal(flood, storedFlood + refusedFlood);
        Assert.InRange(storedFlood, 50, flood - 1);
        var points = await Eventually.WaitAsync(
            async () => (await _platform.Influx.CountAndSumAsync("bulk_tank", "volume_l", $"\"device\" = '{fleet.TankB}'")).Count,
            count => count >= storedFlood, TimeSpan.FromSeconds(30));
        Assert.Equal(storedFlood, points);
        Assert.Empty(await QuarantineProbe.ReadAsync(_platform, floodTopic));
    }

    [Fact]
    public async Task Gateway_inventing_device_ids_is_disconnected_at_its_own_rate()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(_platform);
        var day = ThroughputProbe.ChinaDay(1);
        var pasture = await Gateway.ConnectAsync(_platform, fleet.PastureA, fleet.PasswordOf(fleet.PastureA));
        var quarantined = 0;
        try
        {
            for (var i = 1; i <= 400 && pasture.IsConnected; i++)
            {
                var device = $"{fleet.PastureA}-FAKE{i}";
                try
                {
                    var result = await pasture.PublishForResultAsync(Payloads.Topic("pasture", fleet.PastureA, device, "bulk_tank"),
                        Payloads.Level(device, 1, ThroughputProbe.At(day, 10, 0), 5_000));
                    Assert.True(result.ReasonCode == MqttClientPublishReasonCode.PayloadFormatInvalid, $"fake device {i}: {result.ReasonCode} {result.ReasonString}");
                    quarantined++; // unknown_device, kept once
                }
                catch (Exception exception) when (exception is not Xunit.Sdk.XunitException)
                {
                    break; // disconnected: the publish in flight got no PUBACK
                }
            }

            await Eventually.WaitAsync(() => Task.FromResult(pasture.LastDisconnect), reason => reason is not null, TimeSpan.FromSeconds(10));
            Assert.Equal(MqttClientDisconnectReason.MessageRateTooHigh, pasture.LastDisconnect);
        }
        finally
        {
            await pasture.DisposeAsync();
        }

        // The gateway's burst bounded what reached the quarantine; what came after cost nothing but the refusal.
        Assert.InRange(quarantined, 100, 130);
        var rows = await QuarantineProbe.ReadAsync(_platform, $"hohhot/v1/pasture/{fleet.PastureA}/");
        Assert.Equal(quarantined, rows.Count);
        Assert.All(rows, r => Assert.Equal("unknown_device", r.Reason));
    }
}
