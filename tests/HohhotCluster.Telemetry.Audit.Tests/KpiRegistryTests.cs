using System.Text.Json;
using HohhotCluster.Telemetry.Animals;
using HohhotCluster.Telemetry.Audit.Farm;
using HohhotCluster.Telemetry.Audit.Kpi;
using HohhotCluster.Telemetry.Audit.Quality;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Audit.Tests;

/// <summary>
/// The stock, immunisation and breeding KPIs from the animal registry, on a real PostgreSQL, on 2026-04-01 (China).
/// Hohhot's county 150121: cow pasture PA keeps per-animal records (3 cows imported, one sold the same day), PC reports
/// a census (500 head, FMD: 400 vaccinated), PD reports nothing (capacity 100), goat pasture PG keeps per-animal
/// records (a Saanen doe born 2023 and a goat of no herd-book breed); Ordos' PX (a milk-source base) keeps per-animal
/// records too (one cow), reported beside. Every expected number is worked out in the comments.
/// </summary>
public sealed class KpiRegistryTests(KpiRegistryTests.Fixture fixture) : IClassFixture<KpiRegistryTests.Fixture>
{
    private static readonly DateOnly Day = new(2026, 4, 1);

    public sealed class Fixture : IAsyncLifetime
    {
        public AuditDatabase Db { get; } = new();
        public KpiCalculator Kpis { get; private set; } = null!;
        private int _seq;

        public async Task InitializeAsync()
        {
            await Db.InitializeAsync();
            var options = Options.Create(new AuditOptions());
            var registry = new RegistryStore(Db.DataSource);
            await registry.UpsertAsync(new RegistryBatch
            {
                Counties = [new CountyRecord { Id = "150121", Name = "Tumed Left Banner" }, new CountyRecord { Id = "150621", Name = "Dalad", City = "Ordos" }],
                Pastures =
                [
                    new PastureRecord { Id = "PA", CountyId = "150121", Name = "PA", Species = "cow", CapacityHead = 1000 },
                    new PastureRecord { Id = "PC", CountyId = "150121", Name = "PC", Species = "cow", CapacityHead = 900 },
                    new PastureRecord { Id = "PD", CountyId = "150121", Name = "PD", Species = "cow", CapacityHead = 100 },
                    new PastureRecord { Id = "PG", CountyId = "150121", Name = "PG", Species = "goat", CapacityHead = 300 },
                    new PastureRecord { Id = "PX", CountyId = "150621", Name = "PX", Species = "cow", CapacityHead = 5000 },
                ],
                Herds = [.. new[] { "PA", "PC", "PD", "PG", "PX" }.Select(p => new HerdRecord { Id = p + "-H1", PastureId = p })],
            });
            var animals = new AnimalRegistryStore(Db.DataSource, Db.Clock);
            var care = new AnimalCareApply(animals, new AnimalHealthStore(Db.DataSource), new AnimalBreedingStore(Db.DataSource));
            Kpis = new KpiCalculator(Db.DataSource, new KpiTests.MilkTable(), new AuditQueries(Db.DataSource), options, Db.AnimalFigures());

            var pa = new PastureFacts("PA", "150121", AnimalSpecies.Cow);
            var pg = new PastureFacts("PG", "150121", AnimalSpecies.Goat);
            var px = new PastureFacts("PX", "150621", AnimalSpecies.Cow);
            static AnimalEventRecord Row(string tag, string herd, AnimalSpecies species, string breed, DateOnly born, int parity = 1) => new()
            {
                Event = AnimalEventType.Registration, Animal = Tag(tag), HerdId = herd,
                Detail = new AnimalDetail { Species = species, Sex = "Female", BirthDate = born, Breed = breed, Parity = parity, LactationStatus = parity > 0 ? "Lactating" : null },
            };
            var born = new DateOnly(2023, 1, 1);
            await animals.ImportAsync("i-PA", pa, [Row("215012100000001", "PA-H1", AnimalSpecies.Cow, "HOL", born), Row("215012100000002", "PA-H1", AnimalSpecies.Cow, "HOL", born),
                Row("215012100000003", "PA-H1", AnimalSpecies.Cow, "HOL", born)], default);
            await animals.ImportAsync("i-PG", pg, [Row("315012100000001", "PG-H1", AnimalSpecies.Goat, "SAA", born, 0), Row("315012100000002", "PG-H1", AnimalSpecies.Goat, "LOCAL", born, 0)], default);
            await animals.ImportAsync("i-PX", px, [Row("215062100000001", "PX-H1", AnimalSpecies.Cow, "HOL", born)], default);

            // The day's events (the imports registered at 2026-04-01T00:00Z, 08:00 China): cow 3 is sold; cow 1 and the
            // Saanen doe are vaccinated against FMD and the doe against PPR; cow 1 inseminated with sexed semen and found
            // pregnant, cow 2 receives an imported embryo (no check yet).
            var at = Db.Clock.GetUtcNow().AddHours(1);
            Task Send(PastureFacts pasture, object body) => Apply(care, pasture, at = at.AddMinutes(1), body);
            await Send(pa, new { animalEvent = new { resourceType = "icarMovementDepartureEventResource", animal = Id("215012100000003"), departureKind = "Sale" } });
            await Send(pa, Vaccination("215012100000001", "fmd"));
            await Send(pg, Vaccination("315012100000001", "fmd"));
            await Send(pg, Vaccination("315012100000001", "ppr"));
            await Send(pa, new
            {
                animalEvent = new
                {
                    resourceType = "icarReproInseminationEventResource", animal = Id("215012100000001"), inseminationType = "Insemination",
                    straw = new { isSexedSemen = true, sexedGender = "Female" },
                },
            });
            await Send(pa, new
            {
                embryoOrigin = "imported",
                animalEvent = new { resourceType = "icarReproInseminationEventResource", animal = Id("215012100000002"), inseminationType = "Implantation", embryo = new { collectionCentre = "Saikexing" } },
            });
            await Send(pa, new { animalEvent = new { resourceType = "icarReproPregnancyCheckEventResource", animal = Id("215012100000001"), result = "Pregnant" } });

            // PC's census and FMD campaign, through the health kind.
            var health = new HealthKind(new FarmRecordStore(Db.DataSource, Db.Alerts(), options, Db.Clock), new OwnerDirectory(registry, Db.Clock), options);
            var feed = new HandlerFeed("-KPIREG");
            var morning = new DateTimeOffset(2026, 4, 1, 9, 0, 0, TimeSpan.FromHours(8));
            await feed.SendAsync(health, "PC", "150121", morning, new { @event = "census", programme = "fmd", inStock = 500, due = 500 });
            await feed.SendAsync(health, "PC", "150121", morning, new { @event = "vaccination", programme = "fmd", vaccinated = 400 });
        }

        private static EarTag Tag(string tag) => EarTag.TryParse(tag, out var t, out var problem) ? t : throw new ArgumentException(problem);

        private static object Id(string tag) => new { scheme = "cn.moa.eartag", id = tag };

        private static object Vaccination(string tag, string programme) => new
        {
            programme,
            animalEvent = new { resourceType = "icarTreatmentEventResource", animal = Id(tag), procedure = "Vaccination", medicine = new { name = programme + " vaccine" } },
        };

        private async Task Apply(AnimalCareApply care, PastureFacts pasture, DateTimeOffset at, object body)
        {
            using var json = JsonDocument.Parse(JsonSerializer.Serialize(body));
            Assert.True(AnimalEventPayloads.TryParse(json.RootElement, at, out var record, out var rejection), rejection.Detail);
            var key = new ReadingKey(pasture.PastureId + "-FMS", 1, Interlocked.Increment(ref _seq));
            Assert.Equal([ApplyOutcome.Applied], await care.ApplyAsync([new AnimalEventMessage(key, at, pasture, record)], default));
        }

        public Task DisposeAsync() => Db.DisposeAsync();
    }

    private async Task<Dictionary<string, KpiValue>> MeasureAsync(string kind, string id = "") =>
        (await fixture.Kpis.MeasureAsync(new KpiRequest { ScopeKind = kind, ScopeId = id, Date = Day, From = Day.AddDays(-29), To = Day }, default))
        .ToDictionary(k => k.Key + (k.Programme is null ? "" : "/" + k.Programme));

    private static double Input(KpiValue value, string name) => value.Inputs.Single(i => i.Name == name).Value;

    [Fact]
    public async Task Cow_stock_counts_registered_animals_alive_at_the_days_end_and_keeps_census_and_capacity_apart_where_there_are_none()
    {
        var city = await MeasureAsync("city");
        var cows = city["herd.dairy_cows"];
        Assert.Equal(2 + 500 + 100, cows.Actual);             // PA's 3 registered less the one sold; PC's census; PD's capacity
        Assert.Equal((2, 1, 500, 1, 100), (Input(cows, "head_from_registry"), Input(cows, "pastures_from_registry"), Input(cows, "head_from_census"),
            Input(cows, "pastures_with_census"), Input(cows, "head_from_registered_capacity")));
        Assert.Equal(1, Input(cows, "milk_source_bases_head"));  // PX's one registered cow, beside, never inside
        Assert.True(cows.Estimate);
        Assert.Contains("1 of 3 pastures counted from the registry", cows.EstimateBasis, StringComparison.Ordinal);
        Assert.Equal(["PD"], cows.Coverage!.Silent);

        var pasture = (await MeasureAsync("pasture", "PA"))["herd.dairy_cows"];
        Assert.Equal(2, pasture.Actual);
        Assert.False(pasture.Estimate);                          // a count from the registry alone
        Assert.Equal("", pasture.EstimateBasis);
    }

    [Fact]
    public async Task Goat_stock_and_breeding_goats_come_from_the_registry()
    {
        var city = await MeasureAsync("city");
        Assert.Equal(2, city["herd.dairy_goats"].Actual);
        Assert.False(city["herd.dairy_goats"].Estimate);
        var breeding = city["goats.breeding_stock"];
        Assert.Equal(1, breeding.Actual);                        // the Saanen doe; the LOCAL goat is of no herd-book breed
        Assert.Equal((1500.0, 3000.0), (breeding.Target2021, breeding.Target2023));
        Assert.False(breeding.Met2021);
    }

    [Fact]
    public async Task Immunisation_density_is_per_animal_where_recorded_and_the_aggregate_elsewhere_marked_as_such()
    {
        var city = await MeasureAsync("city");
        // FMD: PA 1 of 2 per animal, PG 1 of 2 per animal, PC 400 of 500 (aggregate), PD 0 of 100 (capacity).
        var fmd = city["health.group_immunisation_density/fmd"];
        Assert.Equal(402.0 / 604 * 100, fmd.Actual!.Value, 9);
        Assert.Equal((2, 2, 4), (Input(fmd, "pastures_per_animal"), Input(fmd, "immune_per_animal"), Input(fmd, "in_stock_per_animal")));
        Assert.True(fmd.Estimate);
        Assert.Contains("2 of 4 pastures from per-animal records", fmd.EstimateBasis, StringComparison.Ordinal);
        // PPR is for goats: PG alone, wholly per animal, so a count and not an estimate.
        var ppr = city["health.group_immunisation_density/ppr"];
        Assert.Equal(50, ppr.Actual!.Value, 9);
        Assert.False(ppr.Estimate);
        var pasture = await MeasureAsync("pasture", "PA");
        Assert.Equal(50, pasture["health.group_immunisation_density/fmd"].Actual!.Value, 9);
        Assert.False(pasture["health.group_immunisation_density/fmd"].Estimate);
    }

    [Fact]
    public async Task Breeding_kpis_count_the_years_sexed_semen_imported_embryos_and_conceptions_against_the_plan()
    {
        var city = await MeasureAsync("city");
        var sexed = city["breeding.sexed_semen_doses"];
        Assert.Equal((1.0, 60_000.0, false), (sexed.Actual, sexed.Target2021, sexed.Met2021));
        Assert.Equal(1, city["breeding.imported_embryos"].Actual);
        Assert.Equal(500, city["breeding.imported_embryos"].Target2023);
        var conception = city["breeding.conception_rate"];
        Assert.Equal(100, conception.Actual);                   // cow 1's service held; cow 2's awaits its check
        Assert.Equal(1, Input(conception, "services_awaiting_check"));
        Assert.Null(conception.Target2023);
        Assert.Null(city["breeding.calving_interval"].Actual);  // no animal has two recorded calvings
        Assert.Equal(["PC", "PD"], city["breeding.sexed_semen_doses"].Coverage!.Silent);
        Assert.Null((await MeasureAsync("county", "150121"))["breeding.sexed_semen_doses"].Target2021); // a county gets no city goal
    }
}
