using System.Text.Json;
using HohhotCluster.Telemetry.Audit;
using HohhotCluster.Telemetry.Audit.Kpi;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Animals.Tests;

/// <summary>The health and breeding events' payloads and the immunity rule, in memory.</summary>
public sealed class AnimalCarePayloadTests
{
    private static readonly DateTimeOffset At = new(2026, 4, 1, 8, 0, 0, TimeSpan.FromHours(8));

    private static AnimalEventRecord Parse(object body)
    {
        using var json = JsonDocument.Parse(JsonSerializer.Serialize(body));
        Assert.True(AnimalEventPayloads.TryParse(json.RootElement, At, out var record, out var rejection), rejection.Detail);
        return record;
    }

    private static Rejection Refused(object body)
    {
        using var json = JsonDocument.Parse(JsonSerializer.Serialize(body));
        Assert.False(AnimalEventPayloads.TryParse(json.RootElement, At, out _, out var rejection));
        return rejection;
    }

    [Fact]
    public void A_treatment_naming_a_programme_is_a_vaccination_that_keeps_its_vaccine_and_dose()
    {
        var v = Parse(AnimalCareBodies.Vaccination("215012100002001", "brucellosis", "A19"));
        Assert.Equal(AnimalEventType.Vaccination, v.Event);
        Assert.Equal(("brucellosis", "A19", "cn.moa.vetdrug", 1.0m, "MLT"),
            (v.Immunisation!.Programme, v.Immunisation.MedicineName, v.Immunisation.MedicineId!.Scheme, v.Immunisation.DoseQuantity, v.Immunisation.DoseUnit));
        Assert.Equal("vaccination", AnimalNames.Name(v.Event));
    }

    [Fact]
    public void A_treatment_without_a_programme_is_not_read_as_a_vaccination()
    {
        using var json = JsonDocument.Parse("""{"animalEvent":{"resourceType":"icarTreatmentEventResource","procedure":"Vaccination"}}""");
        Assert.Null(AnimalCarePayloads.TypeOf(AnimalCarePayloads.TreatmentResource, json.RootElement, json.RootElement.GetProperty("animalEvent")));
    }

    [Fact]
    public void A_vaccination_must_say_procedure_Vaccination_and_name_its_vaccine()
    {
        Assert.Equal("invalid_field", Refused(new
        {
            programme = "fmd",
            animalEvent = new { resourceType = "icarTreatmentEventResource", animal = AnimalBodies.Tag("215012100002001"), procedure = "Injection", medicine = new { name = "x" } },
        }).Reason);
        var missing = Refused(new
        {
            programme = "fmd",
            animalEvent = new { resourceType = "icarTreatmentEventResource", animal = AnimalBodies.Tag("215012100002001"), procedure = "Vaccination" },
        });
        Assert.Equal(("missing_field", "animalEvent.medicine is required"), (missing.Reason, missing.Detail));
        Assert.Equal("invalid_field", Refused(new
        {
            programme = "FMD!",
            animalEvent = new { resourceType = "icarTreatmentEventResource", animal = AnimalBodies.Tag("215012100002001"), procedure = "Vaccination", medicine = new { name = "x" } },
        }).Reason);
    }

    [Fact]
    public void An_antibody_test_keeps_whether_it_was_protective_and_needs_its_result()
    {
        Assert.True(Parse(AnimalCareBodies.AntibodyTest("215012100002001", protective: true)).Immunisation!.Protective);
        Assert.False(Parse(AnimalCareBodies.AntibodyTest("215012100002001", protective: false)).Immunisation!.Protective);
        var missing = Refused(new { programme = "fmd", animalEvent = new { resourceType = "icarDiagnosisEventResource", animal = AnimalBodies.Tag("215012100002001") } });
        Assert.Equal(("missing_field", "antibodyTest is required"), (missing.Reason, missing.Detail));
    }

    [Fact]
    public void An_insemination_keeps_its_straws_semen_type_and_bull()
    {
        var sexed = Parse(AnimalCareBodies.Insemination("215012100002001", sexed: true, bull: "HOL1"));
        Assert.Equal((AnimalEventType.Insemination, "Insemination", true, "Female", "icar.hol:HOL1"),
            (sexed.Event, sexed.Breeding!.InseminationType, sexed.Breeding.SexedSemen, sexed.Breeding.SexedGender, sexed.Breeding.Sire!.ToString()));
        var natural = Parse(AnimalCareBodies.NaturalService("215012100002001"));
        Assert.Equal(("NaturalService", false, "215012100009999"), (natural.Breeding!.InseminationType, natural.Breeding.SexedSemen, natural.Breeding.Sire!.Id));
    }

    [Fact]
    public void A_sexed_gender_on_conventional_semen_and_a_straw_on_a_natural_service_are_refused()
    {
        var conventional = Refused(new
        {
            animalEvent = new
            {
                resourceType = "icarReproInseminationEventResource", animal = AnimalBodies.Tag("215012100002001"), inseminationType = "Insemination",
                straw = new { isSexedSemen = false, sexedGender = "Female" },
            },
        });
        Assert.Equal(("invalid_field", "animalEvent.straw.sexedGender is for sexed semen only (isSexedSemen true)"), (conventional.Reason, conventional.Detail));
        Assert.Equal("invalid_field", Refused(new
        {
            animalEvent = new
            {
                resourceType = "icarReproInseminationEventResource", animal = AnimalBodies.Tag("215012100002001"), inseminationType = "NaturalService",
                straw = new { isSexedSemen = true },
            },
        }).Reason);
    }

    [Fact]
    public void An_embryo_transfer_is_an_implantation_that_must_say_where_its_embryo_came_from()
    {
        var imported = Parse(AnimalCareBodies.EmbryoTransfer("215012100002001", "imported"));
        Assert.Equal((AnimalEventType.EmbryoTransfer, "imported", "Saikexing", "HOL840003000000001"),
            (imported.Event, imported.Breeding!.EmbryoOrigin, imported.Breeding.CollectionCentre, imported.Breeding.Donor!.Id));
        var missing = Refused(AnimalCareBodies.EmbryoTransfer("215012100002001", null));
        Assert.Equal(("missing_field", "embryoOrigin is required"), (missing.Reason, missing.Detail));
        Assert.Equal("invalid_field", Refused(AnimalCareBodies.EmbryoTransfer("215012100002001", "smuggled")).Reason);
    }

    [Fact]
    public void A_pregnancy_check_needs_an_ICAR_result_and_a_calving_keeps_its_calves_sexes()
    {
        Assert.Equal("Pregnant", Parse(AnimalCareBodies.PregnancyCheck("215012100002001", "Pregnant")).Breeding!.PregnancyResult);
        Assert.Equal("invalid_field", Refused(AnimalCareBodies.PregnancyCheck("215012100002001", "Maybe")).Reason);
        Assert.Equal(["Female", "Male"], Parse(AnimalCareBodies.Calving("215012100002001", "Female", "Male")).Breeding!.ProgenyGenders);
        Assert.Null(Parse(AnimalBodies.Calving("215012100002001")).Breeding);
        Assert.Equal(AnimalEventType.Abortion, Parse(AnimalCareBodies.Abortion("215012100002001")).Event);
        Assert.Equal(AnimalEventType.Heat, Parse(AnimalCareBodies.Heat("215012100002001")).Event);
    }

    [Fact]
    public void Immunity_is_valid_from_the_vaccination_day_through_the_last_day_of_the_protection_period()
    {
        var fmd = new ImmunisationProgramme("fmd", 120, ["cow", "goat"]);
        var day = new DateOnly(2026, 6, 30);
        AnimalImmunity Vaccinated(DateOnly on) => new("t", on, null, null, null);
        Assert.Equal((true, false), AnimalImmunityRule.Valid(Vaccinated(day.AddDays(-119)), fmd, day)); // the 120th day of protection
        Assert.Equal((false, false), AnimalImmunityRule.Valid(Vaccinated(day.AddDays(-120)), fmd, day));
        Assert.Equal((false, false), AnimalImmunityRule.Valid(Vaccinated(day.AddDays(1)), fmd, day));   // not yet
        Assert.Equal((false, true), AnimalImmunityRule.Valid(new AnimalImmunity("t", null, day, day, true), fmd, day));
    }

    [Fact]
    public void A_ppr_record_of_a_cow_and_a_programme_the_platform_does_not_run_are_refused_with_their_reasons()
    {
        var programmes = new AuditProgrammes(Options.Create(new AuditOptions()));
        var cows = new PastureFacts("P1", "150121", AnimalSpecies.Cow);
        var ppr = AnimalCareRules.TryProgramme(Parse(AnimalCareBodies.Vaccination("215012100002001", "ppr")), cows, programmes, out var onCow);
        Assert.False(ppr);
        Assert.Equal(QuarantineReasons.SpeciesMismatch, onCow.Reason);
        Assert.False(AnimalCareRules.TryProgramme(Parse(AnimalCareBodies.Vaccination("215012100002001", "rabies")), cows, programmes, out var unknown));
        Assert.Equal(QuarantineReasons.InvalidField, unknown.Reason);
        Assert.True(AnimalCareRules.TryProgramme(Parse(AnimalCareBodies.Vaccination("315012100002001", "ppr")), new PastureFacts("G1", "150121", AnimalSpecies.Goat), programmes, out _));
    }
}

/// <summary>
/// Health and breeding events through the animal_event kind, its gates and stores on a real PostgreSQL, as the
/// pipeline calls them, and the registry's figures the KPIs read. Pastures (county 150121): P1 (cows, rules), PI
/// (cows, immunity), PB (cows, breeding), PS (cows, stock at a day's end), G1 (goats); each test its own tags.
/// </summary>
public sealed class AnimalCareStoreTests(AnimalCareStoreTests.Fixture fixture) : IClassFixture<AnimalCareStoreTests.Fixture>
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 5, 8, 0, 0, TimeSpan.FromHours(8));
    private static readonly DateOnly Day0 = new(2026, 1, 5);

    public sealed class Fixture : IAsyncLifetime
    {
        public AnimalDatabase Db { get; } = new();
        public AnimalRegistryStore Store { get; private set; } = null!;
        public AnimalHealthStore Health { get; private set; } = null!;
        public AnimalEventKind Kind { get; private set; } = null!;
        public IAcceptedGate<AnimalEventRecord>[] Gates { get; private set; } = null!;
        public AnimalRegistryFigures Figures { get; private set; } = null!;
        private int _seq;

        public int NextSeq() => Interlocked.Increment(ref _seq);

        public async Task InitializeAsync()
        {
            await Db.InitializeAsync();
            var registry = new RegistryStore(Db.DataSource);
            string[] cows = ["P1", "PI", "PB", "PS"];
            await registry.UpsertAsync(new RegistryBatch
            {
                Counties = [new CountyRecord { Id = "150121", Name = "Tumed Left Banner" }],
                Pastures = [.. cows.Select(id => new PastureRecord { Id = id, CountyId = "150121", Name = id, Species = "cow" }),
                    new PastureRecord { Id = "G1", CountyId = "150121", Name = "G1", Species = "goat" }],
                Herds = [.. cows.Append("G1").Select(id => new HerdRecord { Id = id + "-H1", PastureId = id })],
            });
            Store = new AnimalRegistryStore(Db.DataSource, Db.Clock);
            Health = new AnimalHealthStore(Db.DataSource);
            var breeding = new AnimalBreedingStore(Db.DataSource);
            var pastures = new PastureDirectory(registry, Db.Clock);
            var care = new AnimalCareApply(Store, Health, breeding);
            Kind = new AnimalEventKind(pastures, care);
            Gates = [new AnimalEventGate(Store, pastures, care), new AnimalProgrammeGate(pastures, new AuditProgrammes(Options.Create(new AuditOptions())))];
            Figures = new AnimalRegistryFigures(Store, Health, breeding);
        }

        public Task DisposeAsync() => Db.DisposeAsync();
    }

    private Accepted<AnimalEventRecord> Message(string pasture, DateTimeOffset at, object body, int? seq = null)
    {
        var key = new ReadingKey(pasture + "-FMS1", 1, seq ?? fixture.NextSeq());
        using var json = JsonDocument.Parse(JsonSerializer.Serialize(body));
        Assert.True(fixture.Kind.TryParse(json.RootElement, key, at, out var record, out var rejection), rejection.Detail);
        return new Accepted<AnimalEventRecord>(key, at, new DeviceContext { DeviceId = key.DeviceId, OwnerKind = "pasture", OwnerId = pasture, CountyId = "150121" }, "t", record);
    }

    /// <summary>The batch as the pipeline runs it: each record's check, every gate over those that passed (the first refusal wins), apply of the rest.</summary>
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

        foreach (var gate in fixture.Gates)
        {
            foreach (var (index, rejection) in await gate.CheckAsync(passed.ConvertAll(p => p.Record), default))
            {
                refused.TryAdd(passed[index].Index, rejection);
            }
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

    private static object Cow(string sex = "Female", int parity = 1, string? lactation = "Lactating", string birthDate = "2023-01-01") =>
        AnimalBodies.Detail(gender: sex, parity: parity, lactationStatus: lactation, birthDate: birthDate);

    private static object Goat(string breed, string birthDate, string sex = "Female") => new
    {
        specie = "Goat", gender = sex, birthDate, primaryBreed = new { scheme = "cn.hohhot.breed", id = breed },
    };

    private Task Arrive(string pasture, string tag, DateTimeOffset at, object? detail = null) =>
        Applied(Message(pasture, at, AnimalBodies.Arrival(tag, pasture + "-H1", detail ?? Cow())));

    [Fact]
    public async Task Each_health_and_breeding_rule_is_refused_with_its_reason_and_nothing_is_stored_for_it()
    {
        await Arrive("P1", "215012100003001", T0);                                        // a cow
        await Arrive("P1", "215012100003002", T0, Cow(sex: "Male", parity: 0, lactation: null)); // a bull
        await Arrive("P1", "215012100003003", T0);
        await Applied(Message("P1", T0.AddHours(1), AnimalBodies.Death("215012100003003")));
        var (refused, outcomes) = await Batch(
            Message("P1", T0.AddDays(1), AnimalCareBodies.Insemination("215012100003002", sexed: true)),  // a bull
            Message("P1", T0.AddDays(1), AnimalCareBodies.PregnancyCheck("215012100003002", "Empty")),
            Message("P1", T0.AddDays(1), AnimalCareBodies.Vaccination("215012100003001", "ppr")),          // PPR on a cow
            Message("P1", T0.AddDays(1), AnimalCareBodies.Vaccination("215012100003001", "rabies")),       // not a programme
            Message("P1", T0.AddDays(1), AnimalCareBodies.Vaccination("215012100003003")),                 // dead
            Message("P1", T0.AddDays(1), AnimalCareBodies.Vaccination("215012100003999")),                 // never registered
            Message("PI", T0.AddDays(1), AnimalCareBodies.Vaccination("215012100003001")),                 // not on that pasture
            Message("P1", T0.AddMinutes(-5), AnimalCareBodies.Heat("215012100003001")),                    // before its arrival
            Message("P1", T0.AddDays(1), AnimalCareBodies.Vaccination("215012100003001")));                // the one that passes
        Assert.Equal(
            [
                QuarantineReasons.AnimalNotFemale, QuarantineReasons.AnimalNotFemale, QuarantineReasons.SpeciesMismatch, QuarantineReasons.InvalidField,
                QuarantineReasons.AnimalDead, QuarantineReasons.UnknownAnimal, QuarantineReasons.AnimalNotOnPasture, QuarantineReasons.AnimalEventOutOfOrder,
            ],
            Enumerable.Range(0, 8).Select(i => refused[i].Reason));
        Assert.Equal(ApplyOutcome.Applied, Assert.Single(outcomes).Value);
        Assert.Single(await fixture.Health.ListAsync("215012100003001", null, default));
        Assert.Empty(await fixture.Health.ListAsync("215012100003003", null, default));
    }

    [Fact]
    public async Task A_redelivered_vaccination_is_a_duplicate_even_after_its_animal_has_died()
    {
        const string tag = "215012100003101";
        await Arrive("P1", tag, T0);
        var vaccination = Message("P1", T0.AddDays(2), AnimalCareBodies.Vaccination(tag));
        await Applied(vaccination);
        await Applied(Message("P1", T0.AddDays(3), AnimalBodies.Death(tag)));
        var (refused, outcomes) = await Batch(vaccination);
        Assert.Empty(refused);
        Assert.Equal(ApplyOutcome.Duplicate, Assert.Single(outcomes).Value);
        var record = Assert.Single(await fixture.Health.ListAsync(tag, "fmd", default));
        Assert.Equal(("vaccination", "FMD O/A bivalent inactivated", Day0.AddDays(2), "P1-FMS1/1/" + vaccination.Key.Sequence),
            (record.Event, record.MedicineName, record.LocalDate, record.Source));
    }

    [Fact]
    public async Task A_vaccination_that_another_batch_overtook_is_refused_at_apply_and_its_batch_retried()
    {
        const string tag = "215012100003201";
        await Arrive("P1", tag, T0);
        var vaccination = Message("P1", T0.AddDays(2), AnimalCareBodies.Vaccination(tag));
        foreach (var gate in fixture.Gates)
        {
            Assert.Empty(await gate.CheckAsync([vaccination], default));
        }

        await Applied(Message("P1", T0.AddDays(1), AnimalBodies.Departure(tag)));   // another worker's batch, first
        await Assert.ThrowsAsync<AnimalStateChangedException>(() => fixture.Kind.ApplyAsync([vaccination], default));
        Assert.Empty(await fixture.Health.ListAsync(tag, null, default));
        var (refused, _) = await Batch(vaccination);                                     // the retry: the gate says why
        Assert.Equal(QuarantineReasons.AnimalDeparted, refused[0].Reason);
    }

    [Fact]
    public async Task Immunity_counts_animals_in_stock_at_the_days_end_vaccinated_or_protectively_tested_within_the_protection_period()
    {
        // FMD protects 120 days (AuditOptions' default). The day is Day0 + 200.
        var day = Day0.AddDays(200);
        string[] tags = ["215012100004001", "215012100004002", "215012100004003", "215012100004004", "215012100004005", "215012100004006"];
        foreach (var tag in tags)
        {
            await Arrive("PI", tag, T0);
        }

        await Applied(
            Message("PI", T0.AddDays(100), AnimalCareBodies.Vaccination(tags[0])),                        // day 100: within 120 days of day 200
            Message("PI", T0.AddDays(70), AnimalCareBodies.Vaccination(tags[1])),                         // day 70: 131 days before, lapsed
            Message("PI", T0.AddDays(190), AnimalCareBodies.AntibodyTest(tags[2], protective: true)),      // protected by a test
            Message("PI", T0.AddDays(190), AnimalCareBodies.AntibodyTest(tags[3], protective: false)),     // tested, not protective
            Message("PI", T0.AddDays(150), AnimalCareBodies.Vaccination(tags[4])),
            Message("PI", T0.AddDays(201), AnimalCareBodies.Vaccination(tags[5])));                       // the day after: not yet
        await Applied(Message("PI", T0.AddDays(160), AnimalBodies.Death(tags[4])));                       // vaccinated, but dead by the day

        var fmd = new ImmunisationProgramme("fmd", 120, ["cow", "goat"]);
        var immunity = Assert.Single(await fixture.Figures.ImmunityAsync(["PI"], fmd, day, day.AddDays(-29), default)).Value;
        Assert.Equal(new RegisteredImmunity("PI", InStock: 5, Immune: 2, ByVaccination: 1, ByAntibodyTest: 1, Tested: 2, Protective: 1), immunity);
        Assert.Equal(["PI"], await fixture.Figures.PasturesWithImmunisationRecordsAsync(["PI", "PB"], "fmd", day, default));
        Assert.Empty(await fixture.Figures.PasturesWithImmunisationRecordsAsync(["PI"], "brucellosis", day, default));
    }

    [Fact]
    public async Task Breeding_figures_count_sexed_semen_imported_embryos_outcomes_of_services_and_calving_intervals()
    {
        string a = "215012100005001", b = "215012100005002", c = "215012100005003", d = "215012100005004";
        foreach (var tag in new[] { a, b, c, d })
        {
            await Arrive("PB", tag, T0);
        }

        await Applied(
            Message("PB", T0.AddDays(1), AnimalCareBodies.Heat(a)),
            Message("PB", T0.AddDays(1), AnimalCareBodies.Insemination(a, sexed: true)),
            Message("PB", T0.AddDays(40), AnimalCareBodies.PregnancyCheck(a, "Pregnant")),   // a: conceived
            Message("PB", T0.AddDays(2), AnimalCareBodies.Insemination(b, sexed: false)),
            Message("PB", T0.AddDays(23), AnimalCareBodies.NaturalService(b)),               // b's first did not hold
            Message("PB", T0.AddDays(60), AnimalCareBodies.PregnancyCheck(b, "Empty")),      // nor its second
            Message("PB", T0.AddDays(5), AnimalCareBodies.EmbryoTransfer(c, "imported")),    // c: no check yet
            Message("PB", T0.AddDays(70), AnimalCareBodies.Abortion(a)));
        await Applied(Message("PB", T0.AddDays(10), AnimalCareBodies.Calving(d, "Female")));
        await Applied(Message("PB", T0.AddDays(410), AnimalCareBodies.Calving(d, "Male", "Female")));  // 400 days later

        var year = await fixture.Figures.BreedingAsync(["PB"], Day0, Day0.AddDays(364), default);
        Assert.Equal((2, 1, 1, 1, 1), (year.Inseminations, year.SexedSemenInseminations, year.NaturalServices, year.EmbryoTransfers, year.ImportedEmbryoTransfers));
        Assert.Equal((3, 1, 1), (year.ServicesChecked, year.ServicesConceived, year.ServicesAwaitingCheck));
        Assert.Equal((1, 1, 0, 0), (year.Calvings, year.FemaleCalves, year.CalvingIntervals, year.Abortions - 1));
        var next = await fixture.Figures.BreedingAsync(["PB"], Day0.AddDays(365), Day0.AddDays(729), default);
        Assert.Equal((1, 400.0, 1, 1), (next.CalvingIntervals, next.CalvingIntervalDaysSum, next.FemaleCalves, next.MaleCalves));
        Assert.Equal(["PB"], year.ReportingPastures);
    }

    [Fact]
    public async Task Stock_at_a_days_end_is_each_animals_state_after_its_newest_event_before_it()
    {
        string x = "215012100006001", y = "215012100006002", z = "215012100006003";
        await Arrive("PS", x, T0);
        await Arrive("PS", y, T0);
        await Arrive("PS", z, T0.AddDays(10));
        await Applied(Message("PS", T0.AddDays(5), AnimalBodies.Death(y)));
        async Task<int> AliveAtEndOf(int day) =>
            (await fixture.Figures.StockAsync(["PS"], ChinaTime.StartOfDay(Day0.AddDays(day + 1)), 12, ["SAA"], default)).GetValueOrDefault("PS")?.Alive ?? 0;
        Assert.Equal(0, await AliveAtEndOf(-1));
        Assert.Equal(2, await AliveAtEndOf(3));
        Assert.Equal(1, await AliveAtEndOf(5));    // y died on day 5 at 08:00
        Assert.Equal(2, await AliveAtEndOf(10));   // z arrived
        Assert.Empty(await fixture.Figures.PasturesWithAnimalsAsync(["PS"], T0, default));
        Assert.Contains("PS", await fixture.Figures.PasturesWithAnimalsAsync(["PS"], T0.AddSeconds(1), default));
    }

    [Fact]
    public async Task Breeding_goats_are_registered_goats_of_a_herd_book_breed_and_of_breeding_age()
    {
        await Arrive("G1", "315012100007001", T0, Goat("SAA", "2024-01-01"));          // two years old, Saanen
        await Arrive("G1", "315012100007002", T0, Goat("SAA", "2025-10-01"));          // three months old
        await Arrive("G1", "315012100007003", T0, Goat("LOCAL", "2023-01-01"));        // not a herd-book breed
        await Arrive("G1", "315012100007004", T0, Goat("SAA", "2023-06-01", "Male"));  // a breeding buck
        var stock = (await fixture.Figures.StockAsync(["G1"], ChinaTime.StartOfDay(Day0.AddDays(1)), 12, ["SAA"], default))["G1"];
        Assert.Equal((4, 2), (stock.Alive, stock.BreedingAgeHerdBookGoats));
    }
}
