using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.IntegrationTests.EndToEnd;

/// <summary>One device flooding, with a reconnect of the platform in the middle: the others lose nothing, the flood beyond its share is quarantined and counted, each message once.</summary>
public sealed class FloodingDeviceTests : IAsyncLifetime
{
    private PlatformProcess _platform = null!;

    public async Task InitializeAsync() => _platform = await PlatformProcess.StartAsync(settings: new Dictionary<string, string>
    {
        // Low enough that even a slow publisher on a loaded machine outruns it.
        ["Ingestion__DeviceMessagesPerSecond"] = "1",
        ["Ingestion__DeviceBurst"] = "50",
    });

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task Flooding_device_is_throttled_into_quarantine_while_other_devices_lose_nothing()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(_platform);
        var day = ThroughputProbe.ChinaDay(1);
        await using var pasture = await Gateway.ConnectAsync(fleet.PastureA, fleet.PasswordOf(fleet.PastureA));
        await using var plant = await Gateway.ConnectAsync(fleet.Plant, fleet.PasswordOf(fleet.Plant));
        var floodTopic = Payloads.Topic("pasture", fleet.PastureA, fleet.TankA, "bulk_tank");
        var intakeTopic = Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake");

        const int flood = 800;
        var flooding = Task.Run(async () =>
        {
            var acked = 0;
            for (var seq = 1; seq <= flood; seq++)
            {
                if (seq == flood / 2)
                {
                    // A reconnect mid-flood: a redelivered message gets its first decision again (none is stored and
                    // quarantined) and finds its quarantine row (none is quarantined twice).
                    await _platform.KickIngestionSessionAsync();
                }

                if (await pasture.PublishAsync(floodTopic, Payloads.Level(fleet.TankA, seq, ThroughputProbe.At(day, 10, 0).AddMilliseconds(seq * 10), 5_000)))
                {
                    acked++;
                }
            }

            return acked;
        });
        for (var seq = 1; seq <= 30; seq++)
        {
            Assert.True(await plant.PublishAsync(intakeTopic, Payloads.Intake(fleet.Weighbridge, seq, ThroughputProbe.At(day, 11, seq), "TL-" + seq, 1_000)));
        }

        Assert.Equal(flood, await flooding);

        var reply = await ThroughputProbe.WaitForCountsAsync(_platform, day, ScopeKind.Plant, fleet.Plant, 0, 0, 30);
        Assert.Equal((30L, 30.0), (reply.IntakeCount, reply.ProcessedT));

        // Every flood message is either stored (a point) or quarantined as rate_limited: none is lost, none twice.
        var throttled = await Eventually.WaitAsync(async () =>
        {
            var quarantined = (await QuarantineProbe.ReadAsync(_platform, floodTopic)).Count(r => r.Reason == "rate_limited");
            var stored = (await _platform.Influx.CountAndSumAsync("bulk_tank", "volume_l", $"\"device\" = '{fleet.TankA}'")).Count;
            return (Quarantined: quarantined, Stored: stored);
        }, r => r.Quarantined + r.Stored >= flood, TimeSpan.FromSeconds(60));
        Assert.Equal(flood, throttled.Quarantined + throttled.Stored);
        Assert.InRange(throttled.Stored, 50, flood - 1);
        Assert.True(throttled.Quarantined > 0);
    }
}
