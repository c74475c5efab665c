using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.IntegrationTests.EndToEnd;

/// <summary>The delivery promise under a crash of the platform process itself.</summary>
public sealed class CrashRecoveryTests : IAsyncLifetime
{
    private PlatformProcess _platform = null!;

    public async Task InitializeAsync() => _platform = await PlatformProcess.StartAsync("UTC");

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task Host_killed_mid_stream_and_restarted_ends_with_every_acknowledged_publish_counted_exactly_once()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(_platform);
        var day = ThroughputProbe.ChinaDay(1);
        await using var pasture = await Gateway.ConnectAsync(fleet.PastureA, fleet.PasswordOf(fleet.PastureA));
        await using var plant = await Gateway.ConnectAsync(fleet.Plant, fleet.PasswordOf(fleet.Plant));
        var milkingTopic = Payloads.Topic("pasture", fleet.PastureA, fleet.MeterA, "milking");
        var intakeTopic = Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake");

        const int total = 3000;
        long ackedMilkings = 0, ackedIntakes = 0;
        double ackedMilkedKg = 0, ackedIntakeKg = 0;
        var killed = false;
        long milkingSeq = 0;
        for (var i = 1; i <= total; i++)
        {
            var at = ThroughputProbe.At(day, 4, 0).AddSeconds(i * 10);
            if (i % 10 == 0)
            {
                var kg = 1_000 + i;
                if (await plant.PublishAsync(intakeTopic, Payloads.Intake(fleet.Weighbridge, i / 10, at, "TL-" + i, kg)))
                {
                    ackedIntakes++;
                    ackedIntakeKg += kg;
                }
            }
            else
            {
                var kg = 8 + (i % 17 * 0.5);
                // Per device, seq goes up by one per message (the contract): holes would mean loss upstream.
                if (await pasture.PublishAsync(milkingTopic, Payloads.Milking(fleet.MeterA, ++milkingSeq, at, i % 2 == 0 ? fleet.HerdA1 : fleet.HerdA2, kg)))
                {
                    ackedMilkings++;
                    ackedMilkedKg += kg;
                }
            }

            if (i == total / 3)
            {
                // Mid-stream: some messages are in the platform's queue, some in grain calls, some in InfluxDB writes.
                await _platform.KillAsync();
                killed = true;
            }

            if (i == 2 * total / 3)
            {
                await _platform.StartAgainAsync();
            }
        }

        Assert.True(killed);
        var city = await ThroughputProbe.WaitForCountsAsync(_platform, day, ScopeKind.City, "", ackedMilkings, 0, ackedIntakes, TimeSpan.FromSeconds(120));
        await Task.Delay(1000);
        city = await ThroughputProbe.GetAsync(_platform, day, ScopeKind.City, "");
        Assert.Equal(ackedMilkings, city.MilkingCount);
        Assert.Equal(ackedIntakes, city.IntakeCount);
        Assert.Equal(ackedMilkedKg / 1000, city.MilkedT, 6);
        Assert.Equal(ackedIntakeKg / 1000, city.ProcessedT, 6);

        var milkPoints = await Eventually.WaitAsync(() => _platform.Influx.CountAndSumAsync("milking", "yield_kg"), r => r.Count >= ackedMilkings);
        Assert.Equal(ackedMilkings, milkPoints.Count);
        Assert.Equal(ackedMilkedKg, milkPoints.Sum, 6);
        var intakePoints = await Eventually.WaitAsync(() => _platform.Influx.CountAndSumAsync("plant_intake", "net_kg"), r => r.Count >= ackedIntakes);
        Assert.Equal((ackedIntakes, ackedIntakeKg), intakePoints);
    }
}
