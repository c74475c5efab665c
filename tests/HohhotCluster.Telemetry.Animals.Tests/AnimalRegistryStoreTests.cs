using System.Text.Json;
using Dapper;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Animals.Tests;

/// <summary>
/// The animal_event kind, its gate and the registry store against a real PostgreSQL, as the pipeline calls them
/// (parse, check, gate over the batch, apply): events become the animal and its history once per key, a batch is
/// judged in order, a redelivery is a duplicate, and a bulk import is all or none. Pastures P1 (cows, county 150121,
/// herds P1-H1 and P1-H2), P2 (cows, county 150123, herd P2-H1); each test uses its own ear tags.
/// </summary>
public sealed class AnimalRegistryStoreTests(AnimalRegistryStoreTests.Fixture fixture) : IClassFixture<AnimalRegistryStoreTests.Fixture>
{
    private static readonly DateTimeOffset T0 = new(2026, 4, 1, 8, 0, 0, TimeSpan.FromHours(8));

    public sealed class Fixture : IAsyncLifetime
    {
        public AnimalDatabase Db { get; } = new();
        public AnimalRegistryStore Store { get; private set; } = null!;
        public PastureDirectory Pastures { get; private set; } = null!;
        public AnimalEventKind Kind { get; private set; } = null!;
        public AnimalEventGate Gate { get; private set; } = null!;
        private int _seq;

        public int NextSeq() => Interlocked.Increment(ref _seq);

        public async Task InitializeAsync()
        {
            await Db.InitializeAsync();
            var registry = new RegistryStore(Db.DataSource);
            await registry.UpsertAsync(new RegistryBatch
            {
                Counties = [new CountyRecord { Id = "150121", Name = "Tumed Left Banner" }, new CountyRecord { Id = "150123", Name = "Horinger" }],
                Pastures =
                [
                    new PastureRecord { Id = "P1", CountyId = "150121", Name = "P1", Species = "cow" },
                    new PastureRecord { Id = "P2", CountyId = "150123", Name = "P2", Species = "cow" },
                ],
                Herds = [new HerdRecord { Id = "P1-H1", PastureId = "P1" }, new HerdRecord { Id = "P1-H2", PastureId = "P1" }, new HerdRecord { Id = "P2-H1", PastureId = "P2" }],
            });
            Store = new AnimalRegistryStore(Db.DataSource, Db.Clock);
            Pastures = new PastureDirectory(registry, Db.Clock);
            var care = new AnimalCareApply(Store, new AnimalHealthStore(Db.DataSource), new AnimalBreedingStore(Db.DataSource));
            Kind = new AnimalEventKind(Pastures, care);
            Gate = new AnimalEventGate(Store, Pastures, care);
        }

        public Task DisposeAsync() => Db.DisposeAsync();
    }

    private Accepted<AnimalEventRecord> Message(string pasture, DateTimeOffset at, object body, int? seq = null)
    {
        var key = new ReadingKey(pasture + "-FMS1", 1, seq ?? fixture.NextSeq());
        using var json = JsonDocument.Parse(JsonSerializer.Serialize(body));
        Assert.True(fixture.Kind.TryParse(json.RootElement, key, at, out var record, out var rejection), rejection.Detail);
        var county = pasture == "P1" ? "150121" : "150123";
        return new Accepted<AnimalEventRecord>(key, at, new DeviceContext { DeviceId = key.DeviceId, OwnerKind = "pasture", OwnerId = pasture, CountyId = county }, "t", record);
    }

    /// <summary>The batch as the pipeline runs it: each record's check, the gate over those that passed, apply of the rest.</summary>
    private async Task<(Dictionary<int, Rejection> Refused, Dictionary<int, ApplyOutcome> Outcomes)> Batch(params Accepted<AnimalEventRecord>[] records)
    {
        var refused = new Dictionary<int, Rejection>();
        var passed = new List<(int Index, Accepted<AnimalEventRecord> Record)>();
        for (var i = 0; i < records.Length; i++)
        {
            if (await fixture.Kind.CheckAsync(records[i], default) is { } rejection)
            {
                refused[i] = rejection;
            }
            else
            {
                passed.Add((i, records[i]));
            }
        }

        foreach (var (index, rejection) in await fixture.Gate.CheckAsync(passed.ConvertAll(p => p.Record), default))
        {
            refused[passed[index].Index] = rejection;
        }

        var apply = passed.Where(p => !refused.ContainsKey(p.Index)).ToList();
        var outcomes = await fixture.Kind.ApplyAsync(apply.ConvertAll(p => p.Record), default);
        var byIndex = new Dictionary<int, ApplyOutcome>();
        for (var i = 0; i < apply.Count; i++)
        {
            byIndex[apply[i].Index] = outcomes[i];
        }

        return (refused, byIndex);
    }

    private async Task Applied(params Accepted<AnimalEventRecord>[] records)
    {
        var (refused, outcomes) = await Batch(records);
        Assert.Empty(refused.Values.Select(r => r.Reason + ": " + r.Detail));
        Assert.All(outcomes.Values, o => Assert.Equal(ApplyOutcome.Applied, o));
    }

    [Fact]
    public async Task A_calfs_life_becomes_the_animal_and_its_history_in_time_order()
    {
        const string tag = "215012100001001";
        await Applied(Message("P1", T0, AnimalBodies.Birth(tag, "P1-H1")));
        await Applied(Message("P1", T0.AddDays(400), AnimalBodies.HerdMove(tag, "P1-H2")));
        await Applied(Message("P1", T0.AddDays(700), AnimalBodies.Calving(tag)));
        await Applied(Message("P1", T0.AddDays(1000), AnimalBodies.DryOff(tag)));
        await Applied(Message("P1", T0.AddDays(1100), AnimalBodies.Departure(tag, "Slaughter")));

        var cow = await fixture.Store.GetAsync(tag, default);
        Assert.NotNull(cow);
        Assert.Equal((AnimalStatus.OffFarm, 1, "Dry", (string?)null, "P1", new DateOnly(2026, 4, 1)),
            (cow.Status, cow.Parity, cow.LactationStatus, cow.HerdId, cow.PastureId, cow.BirthDate));
        Assert.Equal(ChinaTime.LocalDate(T0.AddDays(700)), cow.LactationStart);
        var history = await fixture.Store.HistoryAsync(tag, default);
        Assert.Equal(["birth", "herd_move", "calving", "dry_off", "departure"], history.Select(h => h.Event));
        Assert.Equal(["alive", "alive", "alive", "alive", "off_farm"], history.Select(h => h.Status));
        Assert.Equal([0, 0, 1, 1, 1], history.Select(h => h.Parity));
        Assert.Equal("Slaughter", history[^1].Reason);
        Assert.Equal("EV-B-" + tag, history[0].SourceEventId);
        Assert.StartsWith("P1-FMS1/1/", history[0].Source);
    }

    [Fact]
    public async Task A_redelivered_event_passes_the_gate_and_is_a_duplicate_that_changes_nothing()
    {
        const string tag = "215012100001002";
        await Applied(Message("P1", T0, AnimalBodies.Arrival(tag, "P1-H1")));
        var departure = Message("P1", T0.AddDays(1), AnimalBodies.Departure(tag));
        await Applied(departure);

        var (refused, outcomes) = await Batch(departure);
        Assert.Empty(refused);
        Assert.Equal(ApplyOutcome.Duplicate, Assert.Single(outcomes.Values));
        Assert.Equal(2, (await fixture.Store.HistoryAsync(tag, default)).Count);
    }

    [Fact]
    public async Task A_batch_is_judged_in_order_so_a_birth_and_its_move_pass_and_a_second_departure_does_not()
    {
        const string calf = "215012100001003";
        const string cow = "215012100001004";
        await Applied(Message("P1", T0, AnimalBodies.Arrival(cow, "P1-H1")));
        var (refused, outcomes) = await Batch(
            Message("P1", T0.AddHours(1), AnimalBodies.Birth(calf, "P1-H1")),
            Message("P1", T0.AddHours(2), AnimalBodies.HerdMove(calf, "P1-H2")),
            Message("P1", T0.AddHours(3), AnimalBodies.Departure(cow)),
            Message("P1", T0.AddHours(4), AnimalBodies.Departure(cow)));
        Assert.Equal([3], refused.Keys);
        Assert.Equal(QuarantineReasons.AnimalDeparted, refused[3].Reason);
        Assert.Equal(3, outcomes.Count);
        Assert.Equal("P1-H2", (await fixture.Store.GetAsync(calf, default))!.HerdId);
        Assert.Equal(AnimalStatus.OffFarm, (await fixture.Store.GetAsync(cow, default))!.Status);
    }

    [Fact]
    public async Task An_event_naming_another_pastures_herd_is_unknown_herd()
    {
        const string tag = "215012100001005";
        var (refused, _) = await Batch(Message("P1", T0, AnimalBodies.Arrival(tag, "P2-H1")));
        Assert.Equal(QuarantineReasons.UnknownHerd, refused[0].Reason);
        await Applied(Message("P1", T0, AnimalBodies.Arrival(tag, "P1-H1")));
        (refused, _) = await Batch(Message("P1", T0.AddDays(1), AnimalBodies.HerdMove(tag, "P2-H1")));
        Assert.Equal((QuarantineReasons.UnknownHerd, "animalEvent.animalSetId 'P2-H1' is not registered on pasture 'P1'"), (refused[0].Reason, refused[0].Detail));
        Assert.Null(await fixture.Store.GetAsync("215012100001099", default));
    }

    [Fact]
    public async Task The_gate_refuses_each_state_rule_with_its_reason_and_nothing_is_stored_for_it()
    {
        const string tag = "215012100001006";
        var (refused, _) = await Batch(
            Message("P1", T0, AnimalBodies.Calving(tag)),
            Message("P1", T0, AnimalBodies.Birth("215012300001006", "P1-H1")),
            Message("P1", T0, AnimalBodies.Birth("315012100001006", "P1-H1", AnimalBodies.Detail(specie: "Goat", birthDate: null))));
        Assert.Equal([QuarantineReasons.UnknownAnimal, QuarantineReasons.TagCountyMismatch, QuarantineReasons.SpeciesMismatch],
            refused.OrderBy(r => r.Key).Select(r => r.Value.Reason));
        await using var connection = await fixture.Db.DataSource.OpenConnectionAsync();
        Assert.Equal(0, await connection.ExecuteScalarAsync<int>(
            "select count(*) from animal_event where ear_tag = any(@tags)", new { tags = new[] { tag, "215012300001006", "315012100001006" } }));
    }

    [Fact]
    public async Task An_event_another_batch_overtook_is_refused_at_apply_and_its_batch_retried_whole()
    {
        const string tag = "215012100001007";
        await Applied(Message("P1", T0, AnimalBodies.Arrival(tag, "P1-H1")));
        var first = Message("P1", T0.AddDays(1), AnimalBodies.Death(tag));
        var second = Message("P1", T0.AddDays(1), AnimalBodies.Departure(tag));
        // Both passed their gates before either applied (two workers); the second to apply finds the animal dead.
        Assert.Empty(await fixture.Gate.CheckAsync([first], default));
        Assert.Empty(await fixture.Gate.CheckAsync([second], default));
        var arrival = Message("P1", T0.AddDays(2), AnimalBodies.Arrival("215012100001008", "P1-H1"));
        Assert.Equal([ApplyOutcome.Applied], await fixture.Kind.ApplyAsync([first], default));
        await Assert.ThrowsAsync<AnimalStateChangedException>(() => fixture.Kind.ApplyAsync([arrival, second], default));
        // Rolled back whole: the other record of the batch is not stored either, and the retry's gate refuses the departure.
        Assert.Null(await fixture.Store.GetAsync("215012100001008", default));
        var (refused, outcomes) = await Batch(arrival, second);
        Assert.Equal(QuarantineReasons.AnimalDead, refused[1].Reason);
        Assert.Equal(ApplyOutcome.Applied, outcomes[0]);
    }

    private static AnimalEventRecord Row(string tag, string herd, int parity = 2, string? lactation = "Lactating") => new()
    {
        Event = AnimalEventType.Registration, Animal = new EarTag(tag), HerdId = herd,
        Detail = new AnimalDetail { Species = AnimalSpecies.Cow, Sex = "Female", BirthDate = new DateOnly(2021, 3, 1), Breed = "HOL", Parity = parity, LactationStatus = lactation },
    };

    [Fact]
    public async Task An_import_registers_a_pastures_stock_once_and_a_retry_changes_nothing()
    {
        var p1 = await fixture.Pastures.RequireAsync("P1", default);
        var rows = new[] { Row("215012100002001", "P1-H1"), Row("215012100002002", "P1-H2", 0, null) };
        Assert.Equal(new AnimalImportResult(2, 0), await fixture.Store.ImportAsync("imp-1", p1, rows, default));
        Assert.Equal(new AnimalImportResult(0, 2), await fixture.Store.ImportAsync("imp-1", p1, rows, default));
        // Another import saying the same is unchanged too; the history holds one registration each.
        Assert.Equal(new AnimalImportResult(0, 2), await fixture.Store.ImportAsync("imp-2", p1, rows, default));
        var cow = await fixture.Store.GetAsync("215012100002001", default);
        Assert.Equal((2, "Lactating", "HOL", AnimalStatus.Alive, "P1-H1"), (cow!.Parity, cow.LactationStatus, cow.Breed, cow.Status, cow.HerdId));
        Assert.Equal("import:imp-1", Assert.Single(await fixture.Store.HistoryAsync("215012100002001", default)).Source);
    }

    [Fact]
    public async Task An_import_with_one_refused_row_stores_nothing_and_names_the_row()
    {
        var p1 = await fixture.Pastures.RequireAsync("P1", default);
        var p2 = await fixture.Pastures.RequireAsync("P2", default);
        await fixture.Store.ImportAsync("imp-3", p2, [Row("215012100003001", "P2-H1")], default);
        var refused = await Assert.ThrowsAsync<AnimalImportException>(() =>
            fixture.Store.ImportAsync("imp-4", p1, [Row("215012100003002", "P1-H1"), Row("215012100003001", "P1-H1")], default));
        Assert.Equal((1, QuarantineReasons.AnimalAlreadyRegistered), (refused.Index, refused.Rejection.Reason));
        Assert.Null(await fixture.Store.GetAsync("215012100003002", default));
    }

    [Fact]
    public async Task A_pastures_list_holds_its_animals_alive_and_with_include_gone_those_that_left()
    {
        var p2 = await fixture.Pastures.RequireAsync("P2", default);
        await fixture.Store.ImportAsync("imp-5", p2, [Row("215012300004001", "P2-H1"), Row("215012300004002", "P2-H1")], default);
        await Applied(Message("P2", fixture.Db.Clock.GetUtcNow().AddHours(1), AnimalBodies.Death("215012300004002")));
        var alive = await fixture.Store.ListAsync("P2", null, false, "", 100, default);
        Assert.DoesNotContain(alive, a => a.EarTag == "215012300004002");
        Assert.Contains(alive, a => a.EarTag == "215012300004001");
        var all = await fixture.Store.ListAsync("P2", null, true, "", 100, default);
        Assert.DoesNotContain(await fixture.Store.ListAsync(null, "P2-H1", true, "", 100, default), a => a.Status == AnimalStatus.Dead);
        Assert.Contains(all, a => a.EarTag == "215012300004002" && a.Status == AnimalStatus.Dead);
        var page = await fixture.Store.ListAsync("P2", null, true, "215012300004001", 100, default);
        Assert.DoesNotContain(page, a => a.EarTag == "215012300004001");
    }
}
