using HohhotCluster.Telemetry.Animals.Milk;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Animals.Tests;

/// <summary>
/// Which bulk-tank lot each milking went into, on a real PostgreSQL: a milking reaches the tank at its end (event time
/// plus duration), goes into the tank the milk line was last switched to, and into that tank's next collection; the
/// answer is the same whatever order milkings, fillings and collections arrive in, and with writers racing. Pastures
/// L1-L5 (cows, county 150121), each test its own pasture and ear tags.
/// </summary>
public sealed class BulkTankLotMilkTests(BulkTankLotMilkTests.Fixture fixture) : IClassFixture<BulkTankLotMilkTests.Fixture>
{
    private static readonly DateTimeOffset T0 = new(2026, 4, 1, 6, 0, 0, TimeSpan.FromHours(8));

    public sealed class Fixture : IAsyncLifetime
    {
        public AnimalDatabase Db { get; } = new();
        public AnimalMilkStore Milk { get; private set; } = null!;
        public BulkTankLotMilk Lots { get; private set; } = null!;
        public AnimalEventKind Kind { get; private set; } = null!;
        private int _seq;

        public int NextSeq() => Interlocked.Increment(ref _seq);

        public async Task InitializeAsync()
        {
            await Db.InitializeAsync();
            var registry = new RegistryStore(Db.DataSource);
            string[] pastures = ["L1", "L2", "L3", "L4", "L5"];
            await registry.UpsertAsync(new RegistryBatch
            {
                Counties = [new CountyRecord { Id = "150121", Name = "Tumed Left Banner" }],
                Pastures = [.. pastures.Select(p => new PastureRecord { Id = p, CountyId = "150121", Name = p, Species = "cow" })],
                Herds = [.. pastures.Select(p => new HerdRecord { Id = p + "-H1", PastureId = p })],
            });
            Kind = Db.NewEventKind(registry, new AnimalRegistryStore(Db.DataSource, Db.Clock));
            Milk = new AnimalMilkStore(Db.DataSource);
            Lots = new BulkTankLotMilk(Db.DataSource);
        }

        public Task DisposeAsync() => Db.DisposeAsync();
    }

    private Task Event(string pasture, DateTimeOffset at, object body) => AnimalDatabase.ApplyEventAsync(fixture.Kind, pasture, fixture.NextSeq(), at, body);

    private async Task Cows(string pasture, params string[] tags)
    {
        foreach (var tag in tags)
        {
            await Event(pasture, T0.AddDays(-100), AnimalBodies.Arrival(tag, pasture + "-H1", AnimalBodies.Detail(parity: 1, lactationStatus: "Lactating")));
        }
    }

    private AnimalMilking Milking(string pasture, DateTimeOffset at, string tag, double kg, double seconds = 300, bool separately = false) =>
        new(new ReadingKey(pasture + "-MM1", 1, fixture.NextSeq()), at, tag, pasture, "150121", pasture + "-H1", kg, separately, seconds);

    private static TankEvent Filling(string pasture, string tank, DateTimeOffset at) => new(pasture, "150121", tank, at, null);

    private static TankEvent Collection(string pasture, string tank, DateTimeOffset at, string lot) => new(pasture, "150121", tank, at, lot);

    private async Task<LotAnimals> Lot(string lot) => (await fixture.Lots.ReadAsync([lot], default))[lot];

    [Fact]
    public async Task A_milking_goes_into_the_tank_the_milk_line_fed_when_its_milk_reached_it_and_into_that_tanks_next_collection()
    {
        const string healthy = "215012100007001", treated = "215012100007002";
        await Cows("L1", healthy, treated);
        await Event("L1", T0.AddDays(-1), AnimalBodies.Treatment(treated, T0.AddDays(3)));
        await fixture.Lots.ApplyAsync([Filling("L1", "T1", T0.AddHours(-1)), Filling("L1", "T2", T0.AddMinutes(10))], default);
        await fixture.Milk.ApplyAsync(
        [
            Milking("L1", T0, healthy, 12.0),                     // in T1 at 06:05
            Milking("L1", T0.AddMinutes(8), treated, 10.0),       // started on T1's watch, its milk reached the tank at 06:13: T2
            Milking("L1", T0.AddMinutes(20), healthy, 11.0),      // T2
            Milking("L1", T0.AddMinutes(21), treated, 9.0, separately: true), // kept out of the tank: in no lot
        ], default);
        await fixture.Lots.ApplyAsync([Collection("L1", "T1", T0.AddMinutes(30), "BTL-L1-T1-1"), Collection("L1", "T2", T0.AddMinutes(40), "BTL-L1-T2-1")], default);

        var t1 = await Lot("BTL-L1-T1-1");
        Assert.Equal((true, 1, 1, 12.0m, 0), (t1.RoutingKnown, t1.Animals, t1.Milkings, t1.MilkKg, t1.UnderWithdrawalEarTags.Count));
        var t2 = await Lot("BTL-L1-T2-1");
        Assert.Equal((2, 2, 21.0m), (t2.Animals, t2.Milkings, t2.MilkKg));
        Assert.Equal([treated], t2.UnderWithdrawalEarTags);
        Assert.Equal((1, 0), (t2.WithdrawalMilkings, t2.ColostrumMilkings));
        Assert.Equal([healthy, treated], t2.SampleEarTags);

        // The next lot of T2 holds only what reached it after its previous collection.
        await fixture.Milk.ApplyAsync([Milking("L1", T0.AddMinutes(45), healthy, 8.0)], default);
        await fixture.Lots.ApplyAsync([Collection("L1", "T2", T0.AddHours(3), "BTL-L1-T2-2")], default);
        var next = await Lot("BTL-L1-T2-2");
        Assert.Equal((1, 8.0m, T0.AddMinutes(40)), (next.Milkings, next.MilkKg, next.WindowFrom));

        var unfit = await fixture.Lots.UnfitLotsAsync(null, "L1", T0.AddDays(-1), T0.AddDays(1), 10, default);
        Assert.Equal(["BTL-L1-T2-1"], unfit.Select(u => u.LotId));
    }

    [Fact]
    public async Task Milkings_fillings_and_collections_arriving_in_any_order_give_each_lot_the_same_milkings()
    {
        const string a = "215012100007011", b = "215012100007012";
        await Cows("L2", a, b);
        // The collections first, then the milk, then the fillings that say where it went; a redelivery of each.
        await fixture.Lots.ApplyAsync([Collection("L2", "T1", T0.AddMinutes(30), "BTL-L2-T1-1"), Collection("L2", "T2", T0.AddMinutes(40), "BTL-L2-T2-1")], default);
        Assert.False((await Lot("BTL-L2-T1-1")).RoutingKnown);
        var milk = new[] { Milking("L2", T0, a, 12.0), Milking("L2", T0.AddMinutes(15), b, 10.0), Milking("L2", T0.AddMinutes(16), a, 7.0) };
        await fixture.Milk.ApplyAsync(milk, default);
        Assert.Equal(0, (await Lot("BTL-L2-T1-1")).Milkings);

        await fixture.Lots.ApplyAsync([Filling("L2", "T2", T0.AddMinutes(10))], default);
        var t2 = await Lot("BTL-L2-T2-1");
        Assert.Equal((true, 2, 17.0m), (t2.RoutingKnown, t2.Milkings, t2.MilkKg));
        Assert.Equal(0, (await Lot("BTL-L2-T1-1")).Milkings);

        // The filling of T1 before them all comes last: the first milking was T1's.
        await fixture.Lots.ApplyAsync([Filling("L2", "T1", T0.AddHours(-1))], default);
        Assert.Equal((1, 12.0m), ((await Lot("BTL-L2-T1-1")).Milkings, (await Lot("BTL-L2-T1-1")).MilkKg));
        Assert.Equal(2, (await Lot("BTL-L2-T2-1")).Milkings);

        // A late milking into a collected lot, and redeliveries of everything: counted once where it went.
        await fixture.Milk.ApplyAsync([.. milk, Milking("L2", T0.AddMinutes(20), b, 5.0)], default);
        await fixture.Lots.ApplyAsync([Filling("L2", "T1", T0.AddHours(-1)), Collection("L2", "T2", T0.AddMinutes(40), "BTL-L2-T2-1")], default);
        var after = await Lot("BTL-L2-T2-1");
        Assert.Equal((2, 3, 22.0m), (after.Animals, after.Milkings, after.MilkKg));
        Assert.Equal(1, (await Lot("BTL-L2-T1-1")).Milkings);
    }

    [Fact]
    public async Task A_pasture_that_never_said_which_tank_its_milk_line_fed_has_lots_whose_routing_is_not_known()
    {
        const string a = "215012100007021";
        await Cows("L3", a);
        await fixture.Milk.ApplyAsync([Milking("L3", T0, a, 12.0)], default);
        await fixture.Lots.ApplyAsync([Collection("L3", "T1", T0.AddMinutes(30), "BTL-L3-T1-1")], default);
        var lot = await Lot("BTL-L3-T1-1");
        Assert.Equal((false, 0, 0), (lot.RoutingKnown, lot.Animals, lot.Milkings));
        Assert.False((await fixture.Lots.ReadAsync(["BTL-nobody-collected"], default)).ContainsKey("BTL-nobody-collected"));
    }

    [Fact]
    public async Task Milk_written_while_its_lot_is_collected_on_another_connection_is_in_the_lot_whichever_commits_first()
    {
        // Many rounds of one milking and its tank's collection written at once: without the pasture's lock, a lot
        // computed from a snapshot without the milking is stored after the milking's writer looked for it.
        await Cows("L4", "215012100007031");
        await fixture.Lots.ApplyAsync([Filling("L4", "T1", T0.AddHours(-1))], default);
        const int rounds = 40;
        for (var i = 0; i < rounds; i++)
        {
            var at = T0.AddHours(i);
            var milking = Milking("L4", at, "215012100007031", 10.0, seconds: 60);
            var collection = Collection("L4", "T1", at.AddMinutes(30), $"BTL-L4-T1-{i}");
            await Task.WhenAll(Task.Run(() => fixture.Milk.ApplyAsync([milking], default)), Task.Run(() => fixture.Lots.ApplyAsync([collection], default)));
        }

        var lots = await fixture.Lots.ReadAsync([.. Enumerable.Range(0, rounds).Select(i => $"BTL-L4-T1-{i}")], default);
        Assert.All(lots.Values, lot => Assert.Equal((1, 10.0m), (lot.Milkings, lot.MilkKg)));
        Assert.Equal(rounds, lots.Count);
    }
}
