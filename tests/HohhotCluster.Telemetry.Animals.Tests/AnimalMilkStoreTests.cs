using System.Text.Json;
using Dapper;
using HohhotCluster.Telemetry.Animals.Milk;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Animals.Tests;

/// <summary>
/// Per-animal milk on a real PostgreSQL: each milking is kept with its animal once per key (a resend, a second host
/// racing with the same keys, a write that died half way and is replayed), split into saleable, withdrawal, colostrum
/// and separated milk by the registry, and read back per day, per lactation and per herd with the cows in milk.
/// Pasture P1 (cows, county 150121, herds P1-H1, P1-H2); each test its own ear tags and device.
/// </summary>
public sealed class AnimalMilkStoreTests(AnimalMilkStoreTests.Fixture fixture) : IClassFixture<AnimalMilkStoreTests.Fixture>
{
    private static readonly DateTimeOffset T0 = new(2026, 4, 1, 6, 0, 0, TimeSpan.FromHours(8));

    public sealed class Fixture : IAsyncLifetime
    {
        public AnimalDatabase Db { get; } = new();
        public AnimalRegistryStore Registry { get; private set; } = null!;
        public AnimalMilkStore Milk { get; private set; } = null!;
        public AnimalEventKind Kind { get; private set; } = null!;
        private int _seq;

        public int NextSeq() => Interlocked.Increment(ref _seq);

        public async Task InitializeAsync()
        {
            await Db.InitializeAsync();
            var registry = new RegistryStore(Db.DataSource);
            await registry.UpsertAsync(new RegistryBatch
            {
                Counties = [new CountyRecord { Id = "150121", Name = "Tumed Left Banner" }],
                Pastures = [new PastureRecord { Id = "P1", CountyId = "150121", Name = "P1", Species = "cow" }, new PastureRecord { Id = "P2", CountyId = "150121", Name = "P2", Species = "cow" }],
                Herds = [new HerdRecord { Id = "P1-H1", PastureId = "P1" }, new HerdRecord { Id = "P1-H2", PastureId = "P1" }, new HerdRecord { Id = "P2-H1", PastureId = "P2" }],
            });
            Registry = new AnimalRegistryStore(Db.DataSource, Db.Clock);
            Kind = Db.NewEventKind(registry, Registry);
            Milk = new AnimalMilkStore(Db.DataSource);
        }

        public Task DisposeAsync() => Db.DisposeAsync();
    }

    /// <summary>An animal event applied as the pipeline would (the kind's parse and apply).</summary>
    private Task Event(string pasture, DateTimeOffset at, object body) => AnimalDatabase.ApplyEventAsync(fixture.Kind, pasture, fixture.NextSeq(), at, body);

    private static AnimalMilking Milking(string device, long seq, DateTimeOffset at, string tag, double kg, string herd = "P1-H1", bool separately = false, string pasture = "P1") =>
        new(new ReadingKey(device, 7, seq), at, tag, pasture, "150121", herd, kg, separately);

    private async Task<AnimalMilkDay> Day(string tag, DateTimeOffset at) =>
        Assert.Single(await fixture.Milk.DaysAsync(tag, ChinaTime.LocalDate(at), ChinaTime.LocalDate(at), default));

    [Fact]
    public async Task A_resent_milking_is_kept_once_with_its_animal()
    {
        const string tag = "215012100002001";
        await Event("P1", T0.AddDays(-100), AnimalBodies.Arrival(tag, "P1-H1", AnimalBodies.Detail(parity: 1, lactationStatus: "Lactating")));
        var first = await fixture.Milk.ApplyAsync([Milking("M1", 1, T0, tag, 12.5), Milking("M1", 2, T0.AddHours(8), tag, 11.0)], default);
        Assert.Equal((2, 0), (first.Counted, first.AlreadyCounted));

        // The gateway got no PUBACK and sends both again, in one batch with a new milking and a repeat of itself.
        var again = await fixture.Milk.ApplyAsync(
            [Milking("M1", 1, T0, tag, 12.5), Milking("M1", 2, T0.AddHours(8), tag, 11.0), Milking("M1", 3, T0.AddHours(16), tag, 9.0), Milking("M1", 3, T0.AddHours(16), tag, 9.0)], default);
        Assert.Equal((1, 2), (again.Counted, again.AlreadyCounted));

        var day = await Day(tag, T0);
        Assert.Equal((32.5, 3, 32.5, 0.0), (day.Kg, day.Milkings, day.SaleableKg, day.UnregisteredKg));
        var pasture = await fixture.Milk.TotalsAsync(null, "P1", ChinaTime.LocalDate(T0), default);
        Assert.True(pasture.Kg >= 32.5);
    }

    [Fact]
    public async Task Two_hosts_applying_the_same_keys_at_once_count_each_milking_once()
    {
        const string tag = "215012100002002";
        await Event("P1", T0.AddDays(-100), AnimalBodies.Arrival(tag, "P1-H1", AnimalBodies.Detail(parity: 1, lactationStatus: "Lactating")));
        var at = T0.AddDays(1);
        AnimalMilking[] batch = [Milking("M2", 1, at, tag, 10), Milking("M2", 2, at.AddHours(8), tag, 10)];
        var races = 0;

        // The pipeline's retry: a race lost to the other host is retried, and the retry sees the other's keys.
        async Task<AnimalMilkApplyResult> Host()
        {
            for (var attempt = 0; ; attempt++)
            {
                try
                {
                    return await fixture.Milk.ApplyAsync(batch, default);
                }
                catch (AnimalMilkRaceException) when (attempt < 3)
                {
                    Interlocked.Increment(ref races);
                }
            }
        }

        var results = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(Host)));
        Assert.Equal(2, results.Sum(r => r.Counted));
        Assert.Equal(6, results.Sum(r => r.AlreadyCounted));
        var day = await Day(tag, at);
        Assert.Equal((20.0, 2), (day.Kg, day.Milkings));
    }

    [Fact]
    public async Task A_write_that_dies_half_way_keeps_nothing_and_its_replay_counts_once()
    {
        const string tag = "215012100002003";
        await Event("P1", T0.AddDays(-100), AnimalBodies.Arrival(tag, "P1-H1", AnimalBodies.Detail(parity: 1, lactationStatus: "Lactating")));
        var at = T0.AddDays(2);
        await fixture.Milk.ApplyAsync([Milking("M3", 1, at, tag, 5)], default);

        // Another session holds the animal's day row: the batch waits on it and is cancelled (the host dies mid-write).
        await using (var blocker = await fixture.Db.DataSource.OpenConnectionAsync())
        {
            await using var hold = await blocker.BeginTransactionAsync();
            await blocker.ExecuteAsync("select 1 from animal_milk_day where ear_tag = @tag for update", new { tag }, hold);
            using var dies = new CancellationTokenSource(TimeSpan.FromSeconds(1));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
                fixture.Milk.ApplyAsync([Milking("M3", 2, at.AddHours(8), tag, 6), Milking("M3", 3, at.AddHours(16), tag, 7)], dies.Token));
        }

        Assert.Equal((5.0, 1), ((await Day(tag, at)).Kg, (await Day(tag, at)).Milkings));
        // The resend after the crash: both counted now, once.
        var replay = await fixture.Milk.ApplyAsync([Milking("M3", 2, at.AddHours(8), tag, 6), Milking("M3", 3, at.AddHours(16), tag, 7)], default);
        Assert.Equal((2, 0), (replay.Counted, replay.AlreadyCounted));
        Assert.Equal((18.0, 3), ((await Day(tag, at)).Kg, (await Day(tag, at)).Milkings));
    }

    [Fact]
    public async Task Colostrum_separated_and_unregistered_milk_are_kept_apart_from_saleable_milk()
    {
        const string cow = "215012100002004", stranger = "215012100002099", departed = "215012100002005";
        await Event("P1", T0.AddDays(-400), AnimalBodies.Arrival(cow, "P1-H1", AnimalBodies.Detail(parity: 1, lactationStatus: "Dry")));
        await Event("P1", T0.AddDays(-400), AnimalBodies.Arrival(departed, "P1-H1", AnimalBodies.Detail(parity: 1, lactationStatus: "Lactating")));
        await Event("P1", T0.AddDays(-1), AnimalBodies.Departure(departed));
        var calving = T0.AddDays(10);
        await Event("P1", calving, AnimalBodies.Calving(cow));

        var day3 = calving.AddDays(3);
        var day8 = calving.AddDays(8);
        var result = await fixture.Milk.ApplyAsync(
        [
            Milking("M4", 1, day3, cow, 8),                      // colostrum into the tank: unfit
            Milking("M4", 2, day3.AddHours(8), cow, 7, separately: true), // colostrum kept apart: fine
            Milking("M4", 3, day8, cow, 20),                     // day 8: saleable
            Milking("M4", 4, day8.AddHours(8), cow, 4, separately: true), // kept apart for another reason
            Milking("M4", 5, day8, stranger, 9),                 // no such animal: counted, apart
            Milking("M4", 6, day8, departed, 9),                 // sold: not registered alive here
        ], default);
        Assert.Equal((6, 2, 1), (result.Counted, result.Unregistered, result.UnfitCounted));
        var unfit = Assert.Single(result.UnfitInTank);
        Assert.Equal((cow, AnimalMilkFlags.Colostrum, 8.0), (unfit.EarTag, unfit.Flags, unfit.Kg));

        var d3 = await Day(cow, day3);
        Assert.Equal((15.0, 15.0, 0.0, 0.0), (d3.Kg, d3.ColostrumKg, d3.SaleableKg, d3.SeparatedKg));
        var d8 = await Day(cow, day8);
        Assert.Equal((24.0, 20.0, 4.0, 0.0), (d8.Kg, d8.SaleableKg, d8.SeparatedKg, d8.ColostrumKg));
        var s = await Day(stranger, day8);
        Assert.Equal((9.0, 9.0, 9.0), (s.Kg, s.SaleableKg, s.UnregisteredKg));

        // The unfit milking is kept for the lot it went into, and reported again (not counted) on a resend.
        Assert.Equal(unfit, Assert.Single(await fixture.Milk.UnfitBetweenAsync("P1", day3.AddHours(-1), day3.AddHours(1), default)));
        var resend = await fixture.Milk.ApplyAsync([Milking("M4", 1, day3, cow, 8)], default);
        Assert.Equal((0, 0, unfit), (resend.Counted, resend.UnfitCounted, Assert.Single(resend.UnfitInTank)));
    }

    [Fact]
    public async Task A_herds_day_divides_its_milk_by_the_cows_the_registry_had_in_milk_at_the_days_end()
    {
        const string a = "215012100002011", b = "215012100002012", dry = "215012100002013";
        var start = T0.AddDays(40);
        await Event("P1", start.AddDays(-300), AnimalBodies.Arrival(a, "P1-H2", AnimalBodies.Detail(parity: 2, lactationStatus: "Lactating")));
        await Event("P1", start.AddDays(-300), AnimalBodies.Arrival(b, "P1-H2", AnimalBodies.Detail(parity: 2, lactationStatus: "Lactating")));
        await Event("P1", start.AddDays(-300), AnimalBodies.Arrival(dry, "P1-H2", AnimalBodies.Detail(parity: 2, lactationStatus: "Lactating")));
        await Event("P1", start.AddDays(-1), AnimalBodies.DryOff(dry));
        await Event("P1", start.AddDays(1).AddHours(2), AnimalBodies.DryOff(b)); // b is dried off on the second day

        await fixture.Milk.ApplyAsync(
        [
            Milking("M5", 1, start, a, 30, "P1-H2"), Milking("M5", 2, start, b, 20, "P1-H2"),
            Milking("M5", 3, start.AddDays(1), a, 28, "P1-H2"), Milking("M5", 4, start.AddDays(1), b, 10, "P1-H2"),
        ], default);
        var days = await fixture.Milk.HerdDaysAsync("P1", "P1-H2", ChinaTime.LocalDate(start), ChinaTime.LocalDate(start.AddDays(2)), default);
        Assert.Equal(3, days.Count);
        Assert.Equal((50.0, 2, 2, 25.0), (days[0].Kg, days[0].AnimalsMilked, days[0].AnimalsInMilk, days[0].KgPerAnimalInMilk));
        Assert.Equal((38.0, 2, 1, 38.0), (days[1].Kg, days[1].AnimalsMilked, days[1].AnimalsInMilk, days[1].KgPerAnimalInMilk));
        Assert.Equal((0.0, 0, 1), (days[2].Kg, days[2].AnimalsMilked, days[2].AnimalsInMilk));
    }

    [Fact]
    public async Task Milk_in_two_months_goes_to_each_months_partition()
    {
        const string tag = "215012100002021";
        var endOfMonth = new DateTimeOffset(2026, 5, 31, 20, 0, 0, TimeSpan.FromHours(8));
        await fixture.Milk.ApplyAsync([Milking("M6", 1, endOfMonth, tag, 10), Milking("M6", 2, endOfMonth.AddHours(8), tag, 11)], default);
        var days = await fixture.Milk.DaysAsync(tag, new DateOnly(2026, 5, 31), new DateOnly(2026, 6, 1), default);
        Assert.Equal([new DateOnly(2026, 5, 31), new DateOnly(2026, 6, 1)], days.Select(d => d.Day));
        await using var connection = await fixture.Db.DataSource.OpenConnectionAsync();
        var partitions = (await connection.QueryAsync<string>(
            "select tableoid::regclass::text from animal_milk_day where ear_tag = @tag order by day", new { tag })).ToList();
        Assert.Equal(["animal_milk_day_2026_05", "animal_milk_day_2026_06"], partitions);
    }

    [Fact]
    public async Task Milk_of_a_treated_animal_is_withdrawal_milk_until_the_milk_withdrawal_ends_and_a_later_withdrawal_event_extends_it()
    {
        const string tag = "215012100002031";
        var at = T0.AddDays(60);
        await Event("P1", at.AddDays(-100), AnimalBodies.Arrival(tag, "P1-H1", AnimalBodies.Detail(parity: 1, lactationStatus: "Lactating")));
        await Event("P1", at, AnimalBodies.Treatment(tag, at.AddDays(3)));
        Assert.Equal(at.AddDays(3), await AnimalTreatmentStore.MilkWithdrawalEndAsync(fixture.Db.DataSource, tag, default));

        var result = await fixture.Milk.ApplyAsync(
        [
            Milking("M7", 1, at.AddDays(1), tag, 12),                    // in the tank under withdrawal: unfit
            Milking("M7", 2, at.AddDays(1).AddHours(8), tag, 11, separately: true), // kept out: withdrawal, not unfit
            Milking("M7", 3, at.AddDays(4), tag, 13),                    // after the end: saleable
        ], default);
        Assert.Equal(AnimalMilkFlags.Withdrawal, Assert.Single(result.UnfitInTank).Flags);
        var d1 = await Day(tag, at.AddDays(1));
        Assert.Equal((23.0, 23.0, 0.0), (d1.Kg, d1.WithdrawalKg, d1.SaleableKg));
        Assert.Equal(13.0, (await Day(tag, at.AddDays(4))).SaleableKg);

        // A withdrawal event (e.g. a failed residue test) extends it; an earlier end never shortens it.
        await Event("P1", at.AddDays(5), new { animalEvent = new { resourceType = "icarWithdrawalEventResource", animal = AnimalBodies.Tag(tag), productType = "Milk", endDateTime = Payloads.Rfc3339(at.AddDays(8)) } });
        await Event("P1", at.AddDays(5).AddHours(1), AnimalBodies.Treatment(tag, at.AddDays(6)));
        Assert.Equal(at.AddDays(8), await AnimalTreatmentStore.MilkWithdrawalEndAsync(fixture.Db.DataSource, tag, default));
        Assert.Equal(["arrival", "treatment", "withdrawal", "treatment"], (await fixture.Registry.HistoryAsync(tag, default)).Select(h => h.Event));
    }

    [Theory]
    [InlineData("""{"resourceType":"icarWithdrawalEventResource","animal":{"scheme":"cn.moa.eartag","id":"215012100002041"},"productType":"Butter","endDateTime":"2026-06-01T00:00:00Z"}""", "animalEvent.productType")]
    [InlineData("""{"resourceType":"icarWithdrawalEventResource","animal":{"scheme":"cn.moa.eartag","id":"215012100002041"},"productType":"Milk"}""", "animalEvent.endDateTime")]
    [InlineData("""{"resourceType":"icarTreatmentEventResource","animal":{"scheme":"cn.moa.eartag","id":"215012100002041"},"withdrawals":[{"productType":"Milk","endDate":"2026-05-01"}]}""", "animalEvent.withdrawals[0].endDate")]
    [InlineData("""{"resourceType":"icarTreatmentEventResource","animal":{"scheme":"cn.moa.eartag","id":"215012100002041"},"withdrawals":[{"productType":"Milk","endDate":"2020-05-01T00:00:00Z"}]}""", "animalEvent.withdrawals[0].endDate")]
    public void A_treatment_or_withdrawal_that_breaks_the_contract_is_refused_naming_the_member(string resource, string member)
    {
        using var json = JsonDocument.Parse("{\"animalEvent\":" + resource + "}");
        Assert.False(AnimalEventPayloads.TryParse(json.RootElement, new DateTimeOffset(2026, 5, 1, 8, 0, 0, TimeSpan.Zero), out _, out var rejection));
        Assert.StartsWith(member, rejection.Detail);
    }
}
