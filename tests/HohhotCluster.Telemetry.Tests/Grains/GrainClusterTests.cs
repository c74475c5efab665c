using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace HohhotCluster.Telemetry.Tests.Grains;

/// <summary>
/// One in-process silo (Orleans' test cluster) with the platform's grains, their state in memory (this tier; the
/// integration tier runs the PostgreSQL grain storage) and a rollup rebuild source that holds nothing.
/// </summary>
public sealed class GrainCluster : IAsyncLifetime
{
    public TestCluster Cluster { get; } = new TestClusterBuilder(1).AddSiloBuilderConfigurator<SiloConfigurator>().Build();

    public IGrainFactory Grains => Cluster.GrainFactory;

    public Task InitializeAsync() => Cluster.DeployAsync();

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    private sealed class SiloConfigurator : ISiloConfigurator
    {
        public void Configure(ISiloBuilder siloBuilder)
        {
            siloBuilder.AddMemoryGrainStorage(StorageServiceCollectionExtensions.GrainStorageName);
            siloBuilder.Services.AddSingleton<IMemberTotalsReader, NoStoredMembers>();
        }
    }

    private sealed class NoStoredMembers : IMemberTotalsReader
    {
        public Task<IReadOnlyList<StoredMemberTotals>> ReadMembersAsync(string rollupKey, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<StoredMemberTotals>>([]);
    }
}

[CollectionDefinition(Name)]
public sealed class GrainClusterCollection : ICollectionFixture<GrainCluster>
{
    public const string Name = "grain cluster";
}

[Collection(GrainClusterCollection.Name)]
public sealed class GrainClusterTests(GrainCluster cluster)
{
    private static readonly TimeSpan China = TimeSpan.FromHours(8);

    private static string Unique(string prefix) => prefix + "-" + Guid.NewGuid().ToString("N")[..8];

    private static MilkingReading Milking(string herd, long seq, DateTimeOffset at, double kg) => new()
    {
        Key = new ReadingKey(herd + "-MM1", 1, seq), EventTime = at, CountyId = "150121", PastureId = "P1", HerdId = herd, AnimalId = "A1", YieldKg = kg,
    };

    [Fact]
    public async Task A_herd_applies_each_key_once_and_calls_a_redelivery_a_duplicate()
    {
        var herd = Unique("H");
        var grain = cluster.Grains.GetGrain<IHerdGrain>(herd);
        var at = new DateTimeOffset(2026, 11, 29, 6, 0, 0, China);

        var first = await grain.ApplyMilkingsAsync([Milking(herd, 1, at, 10), Milking(herd, 2, at, 12)]);
        var again = await grain.ApplyMilkingsAsync([Milking(herd, 2, at, 12), Milking(herd, 3, at, 8)]);

        Assert.Equal([ApplyOutcome.Applied, ApplyOutcome.Applied], first.Outcomes);
        Assert.Equal([ApplyOutcome.Duplicate, ApplyOutcome.Applied], again.Outcomes);
        var day = await grain.GetDayAsync(new DateOnly(2026, 11, 29));
        Assert.Equal((30.0, 3L), (day.MilkedKg, day.MilkingCount));
        // A report even for a duplicate-only batch: its rollups may have missed the first one.
        var repeat = await grain.ApplyMilkingsAsync([Milking(herd, 1, at, 10)]);
        Assert.Equal([ApplyOutcome.Duplicate], repeat.Outcomes);
        Assert.NotNull(repeat.Report);
        Assert.Equal(["city", "county:150121", "pasture:P1"], repeat.Report.RollupKeys);
    }

    [Fact]
    public async Task A_herds_totals_fall_on_the_China_day_of_their_event_time()
    {
        var herd = Unique("H");
        var grain = cluster.Grains.GetGrain<IHerdGrain>(herd);
        // 23:30 on the 28th in China is 15:30 UTC; 00:30 on the 29th in China is still the 28th in UTC.
        await grain.ApplyMilkingsAsync(
        [
            Milking(herd, 1, new DateTimeOffset(2026, 11, 28, 23, 30, 0, China), 5),
            Milking(herd, 2, new DateTimeOffset(2026, 11, 28, 16, 30, 0, TimeSpan.Zero), 7),
        ]);

        Assert.Equal(5.0, (await grain.GetDayAsync(new DateOnly(2026, 11, 28))).MilkedKg);
        Assert.Equal(7.0, (await grain.GetDayAsync(new DateOnly(2026, 11, 29))).MilkedKg);
    }

    [Fact]
    public async Task A_pasture_counts_collections_and_a_plant_its_intakes_once_per_key()
    {
        var pastureId = Unique("P");
        var plantId = Unique("PL");
        var at = new DateTimeOffset(2026, 11, 29, 8, 0, 0, China);
        var pasture = cluster.Grains.GetGrain<IPastureGrain>(pastureId);
        var plant = cluster.Grains.GetGrain<IPlantGrain>(plantId);
        var collection = new BulkTankReading
        {
            Key = new ReadingKey(pastureId + "-BT1", 1, 1), EventTime = at, CountyId = "150121", PastureId = pastureId, TankId = "T1",
            Kind = BulkTankEventKind.Collection, LotId = "L1", CollectedKg = 4_000,
        };
        var level = collection with { Key = new ReadingKey(pastureId + "-BT1", 1, 2), Kind = BulkTankEventKind.Level, LotId = null, CollectedKg = null, VolumeLitres = 100 };
        var intake = new PlantIntakeReading
        {
            Key = new ReadingKey(plantId + "-WB1", 1, 1), EventTime = at, CountyId = "150121", PlantId = plantId, TankerLoadId = "TL1", NetKg = 3_990,
        };

        Assert.Equal([ApplyOutcome.Applied, ApplyOutcome.Applied], (await pasture.ApplyBulkTankAsync([collection, level])).Outcomes);
        Assert.Equal([ApplyOutcome.Duplicate], (await pasture.ApplyBulkTankAsync([collection])).Outcomes);
        Assert.Equal([ApplyOutcome.Applied], (await plant.ApplyIntakesAsync([intake])).Outcomes);
        Assert.Equal([ApplyOutcome.Duplicate], (await plant.ApplyIntakesAsync([intake])).Outcomes);

        var pastureDay = await pasture.GetDayAsync(new DateOnly(2026, 11, 29));
        Assert.Equal((4_000.0, 1L), (pastureDay.CollectedKg, pastureDay.CollectionCount));
        var plantDay = await plant.GetDayAsync(new DateOnly(2026, 11, 29));
        Assert.Equal((3_990.0, 1L), (plantDay.ProcessedKg, plantDay.IntakeCount));
    }

    [Fact]
    public async Task A_rollup_keeps_the_newest_version_of_each_members_day_whatever_order_the_reports_come_in()
    {
        var rollup = cluster.Grains.GetGrain<IRollupGrain>("county:" + Unique("C"));
        var day = new DateOnly(2026, 11, 29);
        MemberReport Report(string member, double kg, long revision) =>
            new(member, ["city"], new Dictionary<DateOnly, DailyTotals> { [day] = new(0, 0, 0, 0, kg, 1) }, revision);

        await rollup.ReportMembersAsync([Report("herd:A", 30, 5), Report("herd:B", 10, 2)]);
        await rollup.ReportMembersAsync([Report("herd:A", 20, 4)]); // overtaken by version 5: changes nothing
        await rollup.ReportMembersAsync([Report("herd:B", 15, 3), Report("herd:B", 15, 3)]); // newer, and a repeat

        Assert.Equal(45.0, (await rollup.GetDayAsync(day)).MilkedKg);
        Assert.Equal(45.0, (await rollup.GetAllDaysAsync())[day].MilkedKg);
    }
}
