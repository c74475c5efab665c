using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.IntegrationTests.EndToEnd;

/// <summary>
/// A known set of readings published through Mosquitto reaches the gRPC API and InfluxDB exactly. This class owns
/// its platform (and so its city) alone, so the city totals are exactly this test's readings.
/// </summary>
public sealed class DailyThroughputTests : IAsyncLifetime
{
    private PlatformProcess _platform = null!;

    public async Task InitializeAsync() => _platform = await PlatformProcess.StartAsync("America/New_York");

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    [Fact]
    public async Task Daily_throughput_equals_the_sums_of_published_readings_for_every_scope()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(_platform);
        var day = ThroughputProbe.ChinaDay(1);
        await using var gatewayA = await Gateway.ConnectAsync(_platform, fleet.PastureA, fleet.PasswordOf(fleet.PastureA));
        await using var gatewayB = await Gateway.ConnectAsync(_platform, fleet.PastureB, fleet.PasswordOf(fleet.PastureB));
        await using var plantGateway = await Gateway.ConnectAsync(_platform, fleet.Plant, fleet.PasswordOf(fleet.Plant));

        double milkedA = 0, milkedB = 0;
        long seqA = 0, seqB = 0;
        for (var i = 0; i < 35; i++)
        {
            var kg = 9.5 + (i * 0.37);
            var herd = i % 2 == 0 ? fleet.HerdA1 : fleet.HerdA2;
            Assert.True(await gatewayA.PublishAsync(Payloads.Topic("pasture", fleet.PastureA, fleet.MeterA, "milking"),
                Payloads.Milking(fleet.MeterA, ++seqA, ThroughputProbe.At(day, 5, i), herd, kg)));
            milkedA += kg;
        }

        for (var i = 0; i < 10; i++)
        {
            var kg = 11.25 + i;
            Assert.True(await gatewayB.PublishAsync(Payloads.Topic("pasture", fleet.PastureB, fleet.MeterB, "milking"),
                Payloads.Milking(fleet.MeterB, ++seqB, ThroughputProbe.At(day, 6, i), fleet.HerdB1, kg)));
            milkedB += kg;
        }

        double[] collectionsA = [12_000.5, 9_000.25];
        double[] collectionsB = [5_000];
        long tankSeqA = 0;
        Assert.True(await gatewayA.PublishAsync(Payloads.Topic("pasture", fleet.PastureA, fleet.TankA, "bulk_tank"),
            Payloads.Level(fleet.TankA, ++tankSeqA, ThroughputProbe.At(day, 7, 0), 11_650)));
        for (var i = 0; i < collectionsA.Length; i++)
        {
            Assert.True(await gatewayA.PublishAsync(Payloads.Topic("pasture", fleet.PastureA, fleet.TankA, "bulk_tank"),
                Payloads.Collection(fleet.TankA, ++tankSeqA, ThroughputProbe.At(day, 8 + i, 0), $"BTL-{fleet.PastureA}-{i}", collectionsA[i])));
        }

        Assert.True(await gatewayB.PublishAsync(Payloads.Topic("pasture", fleet.PastureB, fleet.TankB, "bulk_tank"),
            Payloads.Collection(fleet.TankB, 1, ThroughputProbe.At(day, 9, 30), $"BTL-{fleet.PastureB}-0", collectionsB[0])));

        double[] intakes = [28_000, 15_000.5, 9_000];
        for (var i = 0; i < intakes.Length; i++)
        {
            Assert.True(await plantGateway.PublishAsync(Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake"),
                Payloads.Intake(fleet.Weighbridge, i + 1, ThroughputProbe.At(day, 10 + i, 15), $"TL-{i}", intakes[i])));
        }

        var city = await ThroughputProbe.WaitForCountsAsync(_platform, day, ScopeKind.City, "", 45, 3, 3);
        AssertTotals(city, processedKg: intakes.Sum(), producedKg: collectionsA.Sum() + collectionsB.Sum(), milkedKg: milkedA + milkedB, 3, 3, 45);
        Assert.False(city.Live);

        // The city's goals are measured as the KPIs measure them: the plant's accepted receipts (the chain records them
        // just after the rollups hear of the intakes, so wait for them) and Hohhot's cow pastures' collections.
        city = await Eventually.WaitAsync(() => ThroughputProbe.GetAsync(_platform, day, ScopeKind.City, ""),
            t => t.Goals.Any(g => g.Key == "processing.fresh_milk_per_day" && Math.Abs(g.ActualT - (intakes.Sum() / 1000)) < 1e-9));
        Assert.Contains(city.Goals, g => g.Key == "processing.fresh_milk_per_day" && g.Year == 2023 && g.TargetT == 10_000
            && Math.Abs(g.Percent - (intakes.Sum() / 1000 / 10_000 * 100)) < 1e-9 && g.Basis.Contains("accepted receipts", StringComparison.Ordinal));
        Assert.Contains(city.Goals, g => g.Key == "pastures.fresh_milk_per_day" && g.Year == 2023 && g.TargetT == 6_900
            && Math.Abs(g.ActualT - ((collectionsA.Sum() + collectionsB.Sum()) / 1000)) < 1e-9);
        Assert.Contains(city.Goals, g => g.Key == "processing.fresh_milk_per_day" && g.Year == 2021 && g.TargetT == 5_300);
        Assert.Empty((await ThroughputProbe.GetAsync(_platform, day, ScopeKind.County, fleet.CountyA)).Goals); // the plan's goals are the city's

        AssertTotals(await ThroughputProbe.GetAsync(_platform, day, ScopeKind.County, fleet.CountyA),
            intakes.Sum(), collectionsA.Sum(), milkedA, 3, 2, 35);
        AssertTotals(await ThroughputProbe.GetAsync(_platform, day, ScopeKind.County, fleet.CountyB),
            0, collectionsB.Sum(), milkedB, 0, 1, 10);
        AssertTotals(await ThroughputProbe.GetAsync(_platform, day, ScopeKind.Pasture, fleet.PastureA),
            0, collectionsA.Sum(), milkedA, 0, 2, 35);
        AssertTotals(await ThroughputProbe.GetAsync(_platform, day, ScopeKind.Pasture, fleet.PastureB),
            0, collectionsB.Sum(), milkedB, 0, 1, 10);
        AssertTotals(await ThroughputProbe.GetAsync(_platform, day, ScopeKind.Plant, fleet.Plant),
            intakes.Sum(), 0, 0, 3, 0, 0);

        // The day before holds nothing of it.
        AssertTotals(await ThroughputProbe.GetAsync(_platform, day.AddDays(-1), ScopeKind.City, ""), 0, 0, 0, 0, 0, 0);

        // InfluxDB holds exactly one point per reading, with the same sums.
        var milkings = await Eventually.WaitAsync(() => _platform.Influx.CountAndSumAsync("milking", "yield_kg"), r => r.Count >= 45);
        Assert.Equal(45, milkings.Count);
        Assert.Equal(milkedA + milkedB, milkings.Sum, 6);
        var perPasture = await _platform.Influx.CountAndSumAsync("milking", "yield_kg", $"\"pasture\" = '{fleet.PastureA}'");
        Assert.Equal(35, perPasture.Count);
        Assert.Equal(milkedA, perPasture.Sum, 6);
        var collections = await Eventually.WaitAsync(() => _platform.Influx.CountAndSumAsync("bulk_tank", "collected_kg"), r => r.Count >= 3);
        Assert.Equal((3L, collectionsA.Sum() + collectionsB.Sum()), (collections.Count, collections.Sum));
        var levels = await Eventually.WaitAsync(() => _platform.Influx.CountAndSumAsync("bulk_tank", "volume_l", "\"event\" = 'level'"), r => r.Count >= 1);
        Assert.Equal(1, levels.Count);
        var intakePoints = await Eventually.WaitAsync(() => _platform.Influx.CountAndSumAsync("plant_intake", "net_kg"), r => r.Count >= 3);
        Assert.Equal((3L, intakes.Sum()), (intakePoints.Count, intakePoints.Sum));

        // The same answer through the command line a user would type.
        var date = day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        var (exitCode, json) = await CommandLine.RunAsync("src/HohhotCluster.Telemetry.Cli", "hohhot",
            "throughput", "--date", date, "--scope", "county", "--id", fleet.CountyA, "--json", "--api", _platform.ApiUrl, "--token", await _platform.OperatorTokenAsync());
        Assert.Equal(0, exitCode);
        var fromCli = Google.Protobuf.JsonParser.Default.Parse<DailyThroughput>(json);
        Assert.Equal((3L, 2L, 35L), (fromCli.IntakeCount, fromCli.CollectionCount, fromCli.MilkingCount));
        Assert.Equal(intakes.Sum() / 1000, fromCli.ProcessedT, 9);
        var (_, table) = await CommandLine.RunAsync("src/HohhotCluster.Telemetry.Cli", "hohhot",
            "throughput", "--date", date, "--scope", "city", "--api", _platform.ApiUrl, "--token", await _platform.OperatorTokenAsync());
        Assert.Contains("processed by plants", table, StringComparison.Ordinal);
        Assert.Contains("(3 weighbridge intakes)", table, StringComparison.Ordinal);
    }

    private static void AssertTotals(DailyThroughput reply, double processedKg, double producedKg, double milkedKg, long intakes, long collections, long milkings)
    {
        Assert.Equal((intakes, collections, milkings), (reply.IntakeCount, reply.CollectionCount, reply.MilkingCount));
        Assert.Equal(processedKg / 1000, reply.ProcessedT, 9);
        Assert.Equal(producedKg / 1000, reply.ProducedT, 9);
        Assert.Equal(milkedKg / 1000, reply.MilkedT, 9);
    }
}
