using System.Text.Json;
using Dapper;
using HohhotCluster.Telemetry.Audit.Alerts;
using HohhotCluster.Telemetry.Audit.Farm;
using HohhotCluster.Telemetry.Audit.Kpi;
using HohhotCluster.Telemetry.Audit.Quality;
using HohhotCluster.Telemetry.Audit.Rules;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Audit.Tests;

/// <summary>
/// Plan-vs-actual on a hand-built March 2026: Hohhot's counties cA and cB (cow pastures PA, PB, a silent PS, goat
/// pasture PG; plants PL and goat plant PLG) and a milk-source base in Ordos (county cX: pasture PX, plant PLX).
/// Records go through the kinds' own handlers, receipts into trace_lot as the chain writes them; every expected number
/// is computed by hand in the comments. The rollup table also holds the city and county rollups the old KPIs read
/// (every intake, bases and goats included), so each test fails against them.
/// </summary>
public sealed class KpiTests(KpiTests.Fixture fixture) : IClassFixture<KpiTests.Fixture>
{
    private static readonly DateOnly From = new(2026, 3, 1);
    private static readonly DateOnly To = new(2026, 3, 31);

    public sealed class Fixture : IAsyncLifetime
    {
        public AuditDatabase Db { get; } = new();
        public AuditQueries Queries { get; private set; } = null!;
        public KpiCalculator Kpis { get; private set; } = null!;
        public HealthKind Health { get; private set; } = null!;
        public MilkTable Milk { get; } = new();

        public async Task InitializeAsync()
        {
            await Db.InitializeAsync();
            var options = Options.Create(new AuditOptions());
            var registry = new RegistryStore(Db.DataSource);
            await registry.UpsertAsync(new RegistryBatch
            {
                Counties =
                [
                    new CountyRecord { Id = "cA", Name = "A" }, new CountyRecord { Id = "cB", Name = "B" },
                    new CountyRecord { Id = "cX", Name = "Dalad", City = "Ordos" },
                ],
                Pastures =
                [
                    new PastureRecord { Id = "PA", CountyId = "cA", Name = "PA", Species = "cow", CapacityHead = 1200 },
                    new PastureRecord { Id = "PB", CountyId = "cB", Name = "PB", Species = "cow", CapacityHead = 600 },
                    new PastureRecord { Id = "PG", CountyId = "cA", Name = "PG", Species = "goat", CapacityHead = 300 },
                    new PastureRecord { Id = "PS", CountyId = "cA", Name = "PS", Species = "cow", CapacityHead = 100 },
                    new PastureRecord { Id = "PX", CountyId = "cX", Name = "PX", Species = "cow", CapacityHead = 5000 },
                ],
                Plants =
                [
                    new PlantRecord { Id = "PL", CountyId = "cA", Name = "PL", DailyCapacityT = 500 },
                    new PlantRecord { Id = "PLG", CountyId = "cB", Name = "PLG", DailyCapacityT = 100, Species = "goat" },
                    new PlantRecord { Id = "PLX", CountyId = "cX", Name = "PLX", DailyCapacityT = 3000 },
                ],
                Labs = [new LabRecord { Id = "LAB", CountyId = "cA", Name = "regulator's lab" }],
                Herds = [new HerdRecord { Id = "PA-H1", PastureId = "PA" }, new HerdRecord { Id = "PB-H1", PastureId = "PB" }],
            });
            var alerts = Db.Alerts();
            var rules = new RuleTableStore(Db.DataSource);
            var owners = new OwnerDirectory(registry, Db.Clock);
            var quality = new QualityStore(Db.DataSource, rules, alerts, new AuditMetrics(new NoMeters()), Db.Clock);
            var farm = new FarmRecordStore(Db.DataSource, alerts, options, Db.Clock);
            var pastureLab = new QualityKind(OwnerKind.Pasture, quality, owners, Db.Clock);
            var plantLab = new QualityKind(OwnerKind.Plant, quality, owners, Db.Clock);
            var regulatorLab = new QualityKind(OwnerKind.Lab, quality, owners, Db.Clock); // supervisory samples
            var manure = new ManureKind(farm);
            var health = Health = new HealthKind(farm, owners, options);
            Queries = new AuditQueries(Db.DataSource);
            Kpis = new KpiCalculator(Db.DataSource, Milk, Queries, options, Db.AnimalFigures());

            var feed = new HandlerFeed("-KPI");
            var counties = new Dictionary<string, string> { ["PA"] = "cA", ["PB"] = "cB", ["PG"] = "cA", ["PS"] = "cA", ["PX"] = "cX", ["PL"] = "cA", ["LAB"] = "cA" };
            Task Send<T>(TelemetryKind<T> handler, string owner, DateTimeOffset at, object body)
                where T : class => feed.SendAsync(handler, owner, counties[owner], at, body);

            static DateTimeOffset Day(int month, int day) => new(2026, month, day, 9, 0, 0, TimeSpan.FromHours(8));
            static object Sample(string id, string kind, string lotKind, string lot, object[] items) =>
                new { sampleId = id, sampleKind = kind, lot = new { kind = lotKind, id = lot }, items };
            // A supervisory sample: the regulator's lab publishes it, naming the audited pasture.
            static object Supervised(string id, string pasture, string lot, object[] items) =>
                new { sampleId = id, sampleKind = "supervisory", pastureId = pasture, lot = new { kind = "bulk_tank_lot", id = lot }, items };
            static object N(string item, decimal value, string unit) => new { item, value, unit };

            // Quality: PA one self-check (3/2); PB a passing supervisory sample (3/4); the base's PX a failing one (3/6);
            // PL's acceptance test of tanker load TL-FAIL fails on total bacteria (2,500,000 > 2,000,000 CFU/mL).
            await Send(pastureLab, "PA", Day(3, 2), Sample("K1", "pasture_self_check", "bulk_tank_lot", "KL1", [N("protein", 3.2m, "g/100g")]));
            await Send(regulatorLab, "LAB", Day(3, 4), Supervised("K2", "PB", "KL2", [N("protein", 3.3m, "g/100g")]));
            await Send(regulatorLab, "LAB", Day(3, 6), Supervised("K3", "PX", "KL3", [N("protein", 2.5m, "g/100g")]));
            await Send(plantLab, "PL", Day(3, 31), Sample("K4", "plant_acceptance", "tanker_load", "TL-FAIL",
                [N("protein", 3.0m, "g/100g"), N("total_bacteria", 2_500_000m, "CFU/mL")]));
            // PL's rapid antibiotic screen of TL-SUSP (4/2) is positive: a suspect, and the plant sends the load back on it.
            await Send(plantLab, "PL", Day(4, 2), Sample("K5", "plant_acceptance", "tanker_load", "TL-SUSP",
                [new { item = "antibiotic_residue", result = "positive", method = "screen" }]));

            // Manure: PA 900 of 1000 used, PB 300 of 500: 1200 / 1500 = 80 %.
            await Send(manure, "PA", Day(3, 10), new { producedKg = 1000, collectedKg = 980, appliedKg = 600, treatedKg = 300 });
            await Send(manure, "PB", Day(3, 10), new { producedKg = 500, collectedKg = 500, appliedKg = 100, treatedKg = 200 });

            // Health. FMD: PA in stock 1000 (due 900) vaccinated 880 on 3/5 and 500 more on 3/25; PB 500 (due 400), 380 twice.
            // PG and PS have no FMD census (counted at capacity 300 and 100). PPR (goats): PG 280 in stock (due 260),
            // vaccinated 200 and 150 (a PPR record of the cow pasture PA is refused: A_cow_pastures_record_of_a_goats_only_programme_is_refused).
            await Send(health, "PA", Day(3, 1), new { @event = "census", programme = "fmd", inStock = 1000, due = 900 });
            await Send(health, "PB", Day(3, 1), new { @event = "census", programme = "fmd", inStock = 500, due = 400 });
            await Send(health, "PA", Day(3, 5), new { @event = "vaccination", programme = "fmd", vaccinated = 880 });
            await Send(health, "PB", Day(3, 5), new { @event = "vaccination", programme = "fmd", vaccinated = 380 });
            await Send(health, "PA", Day(3, 25), new { @event = "vaccination", programme = "fmd", vaccinated = 500 });
            await Send(health, "PB", Day(3, 25), new { @event = "vaccination", programme = "fmd", vaccinated = 380 });
            await Send(health, "PA", Day(3, 20), new { @event = "antibody_test", programme = "fmd", titres = new[] { 128, 256, 64, 32 } });
            await Send(health, "PB", Day(3, 20), new { @event = "antibody_test", programme = "fmd", titres = new[] { 512, 128 } });
            await Send(health, "PG", Day(3, 1), new { @event = "census", programme = "ppr", inStock = 280, due = 260 });
            await Send(health, "PG", Day(3, 2), new { @event = "vaccination", programme = "ppr", vaccinated = 200 });
            await Send(health, "PG", Day(3, 20), new { @event = "vaccination", programme = "ppr", vaccinated = 150 });
            await Send(health, "PX", Day(3, 1), new { @event = "census", programme = "fmd", inStock = 4800, due = 4800 });

            // TMR: PA mixes every day of March (oat hay 100 kg at 90 % DM grown on its own fields, alfalfa 200 kg at 90 %
            // imported, silage 1,000 kg at 33 % local); PB once (alfalfa 100 kg at 90 % from Hohhot). Oat hay and
            // alfalfa dry matter: local 31 x 90 + 90 = 2,880 of 31 x 270 + 90 = 8,460 kg = 34.04 %; silage corn 100 % local.
            var tmr = new Feeding.TmrKind(new Feeding.FeedingStore(Db.DataSource, alerts, options, Db.Clock), new Feeding.HerdDirectory(registry, Db.Clock), Db.DataSource, options);
            var tmrFeed = new HandlerFeed("-TMR");
            static object Fed(string feed, double kg, double dm, string origin) =>
                new { feedId = new { scheme = "cn.hohhot.feed", id = feed }, recipeKg = kg, loadedKg = kg, dryMatterPercent = dm, origin };
            for (var d = 1; d <= 31; d++)
            {
                await tmrFeed.SendAsync(tmr, "PA", "cA", Day(3, d), new
                {
                    @event = "load", loadId = $"PA-{d}", herdId = "PA-H1", rationId = "R", rationVersion = 1,
                    ingredients = new[] { Fed("oat_hay", 100, 90, "local_farm"), Fed("alfalfa_hay", 200, 90, "imported"), Fed("silage_corn", 1000, 33, "local_farm") },
                });
            }

            await tmrFeed.SendAsync(tmr, "PB", "cB", Day(3, 10), new
            {
                @event = "load", loadId = "PB-1", herdId = "PB-H1", rationId = "R", rationVersion = 1, ingredients = new[] { Fed("alfalfa_hay", 100, 90, "hohhot") },
            });

            // Receipts on 3/31 as the chain records them: at PL 3,000 t accepted, 1,000 t refused at the weighbridge,
            // 800 t of TL-FAIL (accepted by the weighbridge, failed its acceptance test); at PLG 100 t of goat milk;
            // at the base's PLX 2,000 t; at PL on 4/1 400 t (another day).
            await using var connection = await Db.DataSource.OpenConnectionAsync();
            foreach (var (lot, plant, kg, accepted, at) in new[]
            {
                ("TL-OK", "PL", 3_000_000.0, (bool?)true, Day(3, 31)), ("TL-WARM", "PL", 1_000_000.0, false, Day(3, 31)),
                ("TL-FAIL", "PL", 800_000.0, true, Day(3, 31)), ("TL-GOAT", "PLG", 100_000.0, true, Day(3, 31)),
                ("TL-BASE", "PLX", 2_000_000.0, true, Day(3, 31)), ("TL-APR", "PL", 400_000.0, true, Day(4, 1)),
                ("TL-SUSP", "PL", 500_000.0, true, Day(4, 2)),
            })
            {
                await connection.ExecuteAsync(
                    "insert into trace_lot (kind, lot_id, plant_id, kg, at, accepted) values ('receipt', @lot, @plant, @kg, @at, @accepted)",
                    new { lot, plant, kg, at = at.ToUniversalTime(), accepted });
            }
        }

        public Task DisposeAsync() => Db.DisposeAsync();
    }

    /// <summary>
    /// Collections per pasture: PA 1,000 t a day on 3/1-3/30 (with milkings), 2,500 t on 3/31, 7,000 t on 4/1 and
    /// 9,000 t on 2025-12-31; PB 1,500 t on 3/31 only; PG 70 t of goat milk on 3/31; the base's PX 3,000 t on 3/31; PS nothing.
    /// The city and county keys hold what the old KPIs read: every intake (6,900 t on 3/31) and every collection.
    /// </summary>
    public sealed class MilkTable : IMilkTotalsSource
    {
        private readonly Dictionary<string, Dictionary<DateOnly, DailyTotals>> _days = new();

        public MilkTable()
        {
            var pa = new Dictionary<DateOnly, DailyTotals>();
            for (var d = 1; d <= 30; d++)
            {
                pa[new DateOnly(2026, 3, d)] = new DailyTotals(0, 0, 1_000_000, 2, 1_000_000, 3_000);
            }

            pa[new DateOnly(2026, 3, 31)] = new DailyTotals(0, 0, 2_500_000, 3, 2_500_000, 3_000);
            pa[new DateOnly(2026, 4, 1)] = new DailyTotals(0, 0, 7_000_000, 3, 7_000_000, 3_000);
            pa[new DateOnly(2025, 12, 31)] = new DailyTotals(0, 0, 9_000_000, 3, 9_000_000, 3_000);
            _days[RollupKeys.Pasture("PA")] = pa;
            _days[RollupKeys.Pasture("PB")] = new() { [To] = new DailyTotals(0, 0, 1_500_000, 2, 1_500_000, 1_200) };
            _days[RollupKeys.Pasture("PG")] = new() { [To] = new DailyTotals(0, 0, 70_000, 2, 70_000, 500) };
            _days[RollupKeys.Pasture("PX")] = new() { [To] = new DailyTotals(0, 0, 3_000_000, 3, 3_000_000, 9_000) };
            _days[RollupKeys.City] = new()
            {
                [To] = new DailyTotals(6_900_000, 5, 7_070_000, 10, 0, 0),
                [new DateOnly(2026, 4, 1)] = new DailyTotals(400_000, 1, 7_000_000, 3, 0, 0),
            };
            _days[RollupKeys.County("cA")] = new() { [To] = new DailyTotals(4_800_000, 3, 2_570_000, 5, 0, 0) };
        }

        public Task<DailyTotals> GetDayAsync(string rollupKey, DateOnly localDate) =>
            Task.FromResult(_days.TryGetValue(rollupKey, out var days) && days.TryGetValue(localDate, out var t) ? t : default);

        public Task<Dictionary<DateOnly, DailyTotals>> GetAllDaysAsync(string rollupKey) =>
            Task.FromResult(_days.TryGetValue(rollupKey, out var days) ? new Dictionary<DateOnly, DailyTotals>(days) : []);
    }

    private async Task<Dictionary<string, KpiValue>> MeasureAsync(string kind, string id = "", KpiCalculator? calculator = null, DateOnly? date = null) =>
        (await (calculator ?? fixture.Kpis).MeasureAsync(new KpiRequest { ScopeKind = kind, ScopeId = id, Date = date ?? To, From = From, To = To }, default))
        .ToDictionary(k => k.Key + (k.Programme is null ? "" : "/" + k.Programme));

    private static double Input(KpiValue value, string name) => value.Inputs.Single(i => i.Name == name).Value;

    [Fact]
    public async Task City_herd_counts_only_Hohhot_pastures_and_reports_the_base_beside_as_an_estimate()
    {
        var city = await MeasureAsync("city");
        var cows = city["herd.dairy_cows"];
        Assert.Equal(1600, cows.Actual);                               // PA 1000 + PB 500 (census) + PS 100 (capacity); not PX's 4,800
        Assert.Equal(4800, Input(cows, "milk_source_bases_head"));     // PX's census, beside
        Assert.True(cows.Estimate);
        Assert.Contains("estimate", cows.EstimateBasis, StringComparison.Ordinal);
        Assert.Equal(280, city["herd.dairy_goats"].Actual);            // PG's latest census (PPR)
        Assert.Equal(460_000, cows.Target2023);
    }

    [Fact]
    public async Task Cow_pasture_production_excludes_goat_milk_and_the_milk_source_bases()
    {
        var city = await MeasureAsync("city");
        var cows = city["pastures.fresh_milk_per_day"];
        Assert.Equal(4000, cows.Actual);                                       // PA 2,500 t + PB 1,500 t; the old rollup said 7,070
        Assert.Equal(3_000_000, Input(cows, "milk_source_bases_cow_collected_kg"));
        Assert.Equal(70, city["goats.milk_per_day"].Actual);                   // PG only
        Assert.Equal(100, city["goats.processing_capacity"].Actual);           // PLG
    }

    [Fact]
    public async Task Rejected_and_acceptance_failed_receipts_are_not_processed()
    {
        var city = await MeasureAsync("city");
        var processed = city["processing.fresh_milk_per_day"];
        Assert.Equal(3100, processed.Actual);   // PL 3,000 t + PLG 100 t accepted; not the 1,000 t refused, the 800 t failed, the base's 2,000 t or 4/1's
        Assert.Equal(100_000, Input(processed, "accepted_goat_milk_kg"));
        Assert.Equal((false, false), (processed.Met2021, processed.Met2023));
        var rejected = city["processing.rejected_per_day"];
        Assert.Equal(1800, rejected.Actual);
        Assert.Equal((2, 1, 1), ((int)Input(rejected, "rejected_receipts"), (int)Input(rejected, "refused_at_weighbridge"), (int)Input(rejected, "failed_acceptance_test")));

        await using var connection = await fixture.Db.DataSource.OpenConnectionAsync();
        var rule = (await connection.QueryAsync<(string LotId, bool Accepted, string? Reason)>(
            "select lot_id, accepted, rejection_reason from receipt_acceptance where plant_id = 'PL' order by lot_id")).AsList();
        Assert.Equal([("TL-APR", true, null), ("TL-FAIL", false, "failed_acceptance_test"), ("TL-OK", true, null), ("TL-SUSP", false, "failed_acceptance_test"),
                      ("TL-WARM", false, "refused_at_weighbridge")], rule);
    }

    [Fact]
    public async Task A_load_sent_back_on_a_positive_antibiotic_screen_is_not_processed()
    {
        var day = await MeasureAsync("city", date: new DateOnly(2026, 4, 2));
        Assert.Equal(0, day["processing.fresh_milk_per_day"].Actual);
        Assert.Equal(500, day["processing.rejected_per_day"].Actual);
        Assert.Equal(1, Input(day["processing.rejected_per_day"], "failed_acceptance_test"));
    }

    [Fact]
    public async Task Immunisation_density_cannot_pass_100_percent_by_summing_campaigns()
    {
        var city = await MeasureAsync("city");
        // FMD: PA min(1380, 1000) + PB min(760, 500) over 1000 + 500 + PG 300 + PS 100 (capacity): 1500 / 1900;
        // summing the two campaigns over the census would say (1380 + 760) / 1500 = 143 %.
        var fmd = city["health.group_immunisation_density/fmd"];
        Assert.Equal(1500.0 / 1900 * 100, fmd.Actual!.Value, 9);
        Assert.True(fmd.Estimate);
        Assert.Equal(880 + 380, Input(fmd, "immune_lower_bound")); // the largest sessions of PA and PB
        var required = city["health.required_immunisation_density/fmd"];
        Assert.Equal(1300.0 / 1700 * 100, required.Actual!.Value, 9);          // min(1380, 900) + min(760, 400) over 900 + 400 + 300 + 100
        // PPR: goats only, so PA's PPR census is not in its stock: min(350, 280) / 280.
        var ppr = city["health.group_immunisation_density/ppr"];
        Assert.Equal(100, ppr.Actual!.Value, 9);
        Assert.Equal(280, Input(ppr, "in_stock"));
        Assert.Equal(400.0 / 6, city["health.antibody_pass_rate/fmd"].Actual!.Value, 9);
        Assert.All(city.Values.Where(v => v.Key.StartsWith("health.", StringComparison.Ordinal) && v.Unit == "%"), v => Assert.True(v.Actual is null or <= 100));
    }

    [Fact]
    public async Task A_cow_pastures_record_of_a_goats_only_programme_is_refused()
    {
        var key = new ReadingKey("PA-KPI", 2, 1);
        var at = new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.FromHours(8));
        using var json = JsonDocument.Parse("""{"event":"census","programme":"ppr","inStock":1000,"due":1000}""");
        Assert.True(fixture.Health.TryParse(json.RootElement, key, at, out var record, out _));
        var device = new DeviceContext { DeviceId = key.DeviceId, OwnerKind = "pasture", OwnerId = "PA", CountyId = "cA" };
        var rejection = await fixture.Health.CheckAsync(new Accepted<HealthRecord>(key, at, device, "t", record!), CancellationToken.None);
        Assert.NotNull(rejection);
        Assert.Equal(QuarantineReasons.InvalidField, rejection.Value.Reason);
        Assert.Contains("programme 'ppr' is for goat, not cow", rejection.Value.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Vaccinations_before_the_protection_period_give_no_immunity()
    {
        var options = new AuditOptions();
        options.Programmes.Add(new HealthProgramme { Id = "fmd", ProtectiveTitre = 128, ProtectionDays = 10 }); // 3/22-3/31: only the 3/25 campaign
        var calculator = new KpiCalculator(fixture.Db.DataSource, fixture.Milk, fixture.Queries, Options.Create(options), fixture.Db.AnimalFigures());
        var city = await MeasureAsync("city", calculator: calculator);
        Assert.Equal(880.0 / 1900 * 100, city["health.group_immunisation_density/fmd"].Actual!.Value, 9); // PA 500 + PB 380
    }

    [Fact]
    public async Task Raw_milk_year_to_date_excludes_later_days_and_other_years()
    {
        var city = await MeasureAsync("city");
        var year = city["raw_milk.per_year"];
        Assert.Equal(34_070, year.Actual!.Value, 9);   // PA 30 × 1,000 + 2,500, PB 1,500, PG 70; not 4/1's 7,000 t, 2025's or the base's
        Assert.Equal(90, Input(year, "days_of_year_to_date"));
        Assert.Equal(3_000_000, Input(year, "milk_source_bases_collected_kg"));
    }

    [Fact]
    public async Task A_pasture_with_one_quality_and_one_manure_record_is_not_smart()
    {
        var city = await MeasureAsync("city");
        var smart = city["pastures.smart_demo"];
        Assert.Equal(0, smart.Actual);   // PA reports milk every day but quality and manure once; PB milk on one day
        var pa = smart.Subjects.Single(s => s.Id == "PA");
        Assert.False(pa.Qualified);
        Assert.Contains("quality", pa.Reason, StringComparison.Ordinal);
        Assert.Contains("manure", pa.Reason, StringComparison.Ordinal);
        Assert.Contains("TMR", smart.Note, StringComparison.Ordinal);

        var relaxed = new AuditOptions { SmartPasture = new SmartPastureOptions { QualityEveryDays = 31, ManureEveryDays = 31 } };
        var monthly = await MeasureAsync("city", calculator: new KpiCalculator(fixture.Db.DataSource, fixture.Milk, fixture.Queries, Options.Create(relaxed), fixture.Db.AnimalFigures()));
        Assert.Equal(1, monthly["pastures.smart_demo"].Actual);
        Assert.Equal(["PA"], monthly["pastures.smart_demo"].Subjects.Where(s => s.Qualified).Select(s => s.Id));
        Assert.Contains("collections on 1 of 31 days", monthly["pastures.smart_demo"].Subjects.Single(s => s.Id == "PB").Reason, StringComparison.Ordinal);
        Assert.Contains("TMR loads on 1 of 31 days", monthly["pastures.smart_demo"].Subjects.Single(s => s.Id == "PB").Reason, StringComparison.Ordinal);
        Assert.Contains("TMR loads on 0 of 31 days", monthly["pastures.smart_demo"].Subjects.Single(s => s.Id == "PS").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Forage_self_sufficiency_is_the_local_share_of_oat_hay_and_alfalfa_dry_matter_fed()
    {
        var city = await MeasureAsync("city");
        var forage = city["feed.forage_self_sufficiency"];
        Assert.Equal(2880.0 / 8460 * 100, forage.Actual!.Value, 6);
        Assert.Equal((20.0, 30.0), (forage.Target2021!.Value, forage.Target2023!.Value));
        Assert.True(forage.Met2021 == true && forage.Met2023 == true);
        Assert.Equal(31 * 90.0, Input(forage, "local_farm_dm_kg"), 6);
        Assert.Equal(90.0, Input(forage, "hohhot_dm_kg"), 6);
        Assert.Equal(31 * 180.0, Input(forage, "imported_dm_kg"), 6);
        Assert.Equal((4, 2), (forage.Coverage!.InScope, forage.Coverage.Reported)); // PA, PB of PA, PB, PG, PS
        Assert.Equal(100, city["feed.silage_corn_self_sufficiency"].Actual);
        Assert.Null(city["feed.silage_corn_self_sufficiency"].Target2021);

        // A pasture is held to the same rate: PB fed only Hohhot alfalfa.
        var pb = await MeasureAsync("pasture", "PB");
        Assert.Equal(100, pb["feed.forage_self_sufficiency"].Actual);
        Assert.Equal(20, pb["feed.forage_self_sufficiency"].Target2021);
    }

    [Fact]
    public async Task County_and_pasture_scopes_have_no_city_target()
    {
        var county = await MeasureAsync("county", "cA");
        foreach (var key in new[] { "processing.fresh_milk_per_day", "pastures.fresh_milk_per_day", "herd.dairy_cows", "raw_milk.per_year", "goats.milk_per_day" })
        {
            Assert.Null(county[key].Target2021);
            Assert.Null(county[key].Target2023);
            Assert.Null(county[key].Met2023);
            Assert.Contains("No target", county[key].Note, StringComparison.Ordinal);
        }

        Assert.Equal(3000, county["processing.fresh_milk_per_day"].Actual);   // PL's accepted 3,000 t; the rollup said 4,800
        Assert.Equal(90, county["manure.utilisation_rate"].Target2023);        // a rate applies to every scope
        Assert.Equal(90, county["manure.utilisation_rate"].Actual!.Value, 9);

        var pasture = await MeasureAsync("pasture", "PA");
        Assert.Null(pasture["herd.dairy_cows"].Target2023);
        Assert.Equal(1000, pasture["herd.dairy_cows"].Actual);
        Assert.Equal(2500, pasture["pastures.fresh_milk_per_day"].Actual);
        Assert.Null(pasture["processing.fresh_milk_per_day"].Actual);
    }

    [Fact]
    public async Task Coverage_lists_the_silent_pasture()
    {
        var city = await MeasureAsync("city");
        var coverage = city["pastures.fresh_milk_per_day"].Coverage!;
        Assert.Equal((3, 2, 1), (coverage.InScope, coverage.Reported, coverage.SilentCount));   // PA, PB, PS; not the base's PX
        Assert.Equal(["PS"], coverage.Silent);
        var manure = city["manure.utilisation_rate"].Coverage!;
        Assert.Equal(["PG", "PS"], manure.Silent);
        Assert.Equal((2, 2), (city["processing.fresh_milk_per_day"].Coverage!.InScope, city["processing.fresh_milk_per_day"].Coverage!.Reported));
        Assert.All(city.Values.Where(v => v.Actual is not null && v.Key is not ("goats.processing_capacity" or "pastures.goat_scale_farms")),
            v => Assert.NotNull(v.Coverage));
    }

    [Fact]
    public async Task City_supervisory_pass_rate_leaves_out_the_bases_samples()
    {
        var city = await MeasureAsync("city");
        Assert.Equal(100, city["quality.supervisory_pass_rate"].Actual!.Value, 9);   // PB's pass; PX's fail is Ordos's
        Assert.Equal(["PA", "PG", "PS"], city["quality.supervisory_pass_rate"].Coverage!.Silent);
    }

    [Fact]
    public async Task An_unknown_scope_kind_is_refused_with_a_specific_error()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => MeasureAsync("plant", "PL"));
        Assert.Contains("city, a county", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => MeasureAsync("county"));
    }

    [Fact]
    public void Programme_and_smart_pasture_settings_out_of_range_fail_validation_naming_the_setting()
    {
        var options = new AuditOptions { SmartPasture = new SmartPastureOptions { MinCollectionDayShare = 1.5 } };
        options.Programmes.Add(new HealthProgramme { Id = "ppr", ProtectionDays = 0, Species = ["sheep"] });
        var result = new AuditOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains("'ppr' needs ProtectionDays", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("'ppr' Species may name only cow and goat", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("Audit:SmartPasture", result.FailureMessage, StringComparison.Ordinal);
        Assert.True(new AuditOptionsValidator().Validate(null, new AuditOptions()).Succeeded);
    }

    [Fact]
    public void The_default_programmes_include_PPR_for_goats_only()
    {
        var ppr = AuditOptions.DefaultProgrammes.Single(p => p.Id == "ppr");
        Assert.True(ppr.Applies("goat"));
        Assert.False(ppr.Applies("cow"));
        Assert.All(AuditOptions.DefaultProgrammes, p => Assert.InRange(p.ProtectionDays, 1, 3660));
    }

    private sealed class NoMeters : System.Diagnostics.Metrics.IMeterFactory
    {
        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options) => new(options);

        public void Dispose()
        {
        }
    }
}
