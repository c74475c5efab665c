using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.IntegrationTests.EndToEnd;

/// <summary>
/// The endpoint's promise under a crash of the platform process itself, looked at through nothing but PUBACKs and
/// the stores: gateways resend what got no PUBACK, as real ones do, and every reading is counted exactly once.
/// </summary>
public sealed class CrashRecoveryTests : IAsyncLifetime
{
    private PlatformProcess _platform = null!;

    public async Task InitializeAsync() => _platform = await PlatformProcess.StartAsync("UTC");

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task Host_killed_mid_stream_and_restarted_ends_with_every_reading_counted_exactly_once()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(_platform);
        var day = ThroughputProbe.ChinaDay(1);
        var milkingTopic = Payloads.Topic("pasture", fleet.PastureA, fleet.MeterA, "milking");
        var intakeTopic = Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake");
        const int total = 2000;
        double milkedKg = 0, intakeKg = 0;
        long milkings = 0, intakes = 0;
        await using var pasture = new ResendingGateway(_platform, fleet.PastureA, fleet.PasswordOf(fleet.PastureA));
        await using var plant = new ResendingGateway(_platform, fleet.Plant, fleet.PasswordOf(fleet.Plant));
        var restart = Task.CompletedTask;
        for (var i = 1; i <= total; i++)
        {
            var at = ThroughputProbe.At(day, 4, 0).AddSeconds(i * 10);
            if (i % 10 == 0)
            {
                var kg = 1_000 + i;
                await plant.PublishUntilAcknowledgedAsync(intakeTopic, Payloads.Intake(fleet.Weighbridge, i / 10, at, "TL-" + i, kg));
                intakes++;
                intakeKg += kg;
            }
            else
            {
                var kg = 8 + (i % 17 * 0.5);
                await pasture.PublishUntilAcknowledgedAsync(milkingTopic, Payloads.Milking(fleet.MeterA, ++milkings, at, i % 2 == 0 ? fleet.HerdA1 : fleet.HerdA2, kg));
                milkedKg += kg;
            }

            if (i == total / 2)
            {
                // Mid-stream, while the next publishes are on their way: some in the queue, some in grain calls, some in InfluxDB writes.
                restart = Task.Run(async () =>
                {
                    await _platform.KillAsync();
                    await _platform.StartAgainAsync();
                });
            }
        }

        await restart;
        await AssertCountedOnceAsync(day, milkings, milkedKg, intakes, intakeKg);
        Assert.True(pasture.Resends + plant.Resends > 0, "the kill should have cost some PUBACKs");
    }

    /// <summary>
    /// Reliability scenario: InfluxDB is down, so every batch is committed by its grains but not acknowledged; the
    /// host is killed and restarted with InfluxDB back. The gateways resend; the grains recognise every key (no
    /// double count), and the duplicates' points are written, since their first attempt never stored one.
    /// </summary>
    [Fact]
    public async Task Host_killed_while_InfluxDB_is_down_counts_the_resends_once_and_stores_their_points()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(_platform);
        var day = ThroughputProbe.ChinaDay(1);
        var milkings = Enumerable.Range(1, 120)
            .Select(seq => Payloads.Milking(fleet.MeterA, seq, ThroughputProbe.At(day, 6, 0).AddSeconds(seq), fleet.HerdA1, 10 + (seq % 5)))
            .ToList();
        var milkedKg = Enumerable.Range(1, 120).Sum(seq => 10.0 + (seq % 5));
        var intakes = Enumerable.Range(1, 50)
            .Select(seq => Payloads.Intake(fleet.Weighbridge, seq, ThroughputProbe.At(day, 7, 0).AddSeconds(seq), "TL-" + seq, 20_000 + seq))
            .ToList();
        var intakeKg = Enumerable.Range(1, 50).Sum(seq => 20_000.0 + seq);

        await ServerControl.KillAsync("influx");
        var pasture = await Gateway.ConnectAsync(_platform, fleet.PastureA, fleet.PasswordOf(fleet.PastureA));
        var plant = await Gateway.ConnectAsync(_platform, fleet.Plant, fleet.PasswordOf(fleet.Plant));
        var unanswered = new[]
        {
            pasture.PublishForResultAsync(Payloads.BatchTopic("pasture", fleet.PastureA), Payloads.Batch("milking", milkings)),
            plant.PublishForResultAsync(Payloads.BatchTopic("plant", fleet.Plant), Payloads.Batch("plant_intake", intakes)),
        };
        try
        {
            // The grains commit (the totals show them) while InfluxDB is away; no PUBACK comes.
            var committed = await ThroughputProbe.WaitForCountsAsync(_platform, day, ScopeKind.City, "", 120, 0, 50, TimeSpan.FromSeconds(60));
            Assert.Equal((120L, 50L), (committed.MilkingCount, committed.IntakeCount));
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.All(unanswered, publish => Assert.False(publish.IsCompleted));
            await _platform.KillAsync();
        }
        finally
        {
            await ServerControl.StartAsync("influx");
            await pasture.DisposeAsync();
            await plant.DisposeAsync();
        }

        await _platform.StartAgainAsync();
        await using (var pastureAgain = await Gateway.ConnectAsync(_platform, fleet.PastureA, fleet.PasswordOf(fleet.PastureA)))
        await using (var plantAgain = await Gateway.ConnectAsync(_platform, fleet.Plant, fleet.PasswordOf(fleet.Plant)))
        {
            Assert.True(await pastureAgain.PublishAsync(Payloads.BatchTopic("pasture", fleet.PastureA), Payloads.Batch("milking", milkings)));
            Assert.True(await plantAgain.PublishAsync(Payloads.BatchTopic("plant", fleet.Plant), Payloads.Batch("plant_intake", intakes)));
        }

        await AssertCountedOnceAsync(day, 120, milkedKg, 50, intakeKg);
    }

    private async Task AssertCountedOnceAsync(DateOnly day, long milkings, double milkedKg, long intakes, double intakeKg)
    {
        var city = await ThroughputProbe.WaitForCountsAsync(_platform, day, ScopeKind.City, "", milkings, 0, intakes, TimeSpan.FromSeconds(120));
        await Task.Delay(1000);
        city = await ThroughputProbe.GetAsync(_platform, day, ScopeKind.City, "");
        Assert.Equal((milkings, intakes), (city.MilkingCount, city.IntakeCount));
        Assert.Equal(milkedKg / 1000, city.MilkedT, 6);
        Assert.Equal(intakeKg / 1000, city.ProcessedT, 6);

        var milkPoints = await Eventually.WaitAsync(() => _platform.Influx.CountAndSumAsync("milking", "yield_kg"), r => r.Count >= milkings);
        Assert.Equal(milkings, milkPoints.Count);
        Assert.Equal(milkedKg, milkPoints.Sum, 6);
        var intakePoints = await Eventually.WaitAsync(() => _platform.Influx.CountAndSumAsync("plant_intake", "net_kg"), r => r.Count >= intakes);
        Assert.Equal((intakes, intakeKg), intakePoints);
    }
}
