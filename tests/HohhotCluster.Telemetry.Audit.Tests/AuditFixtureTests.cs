using System.Text;
using System.Text.Json;
using HohhotCluster.Telemetry.Audit.Alerts;
using HohhotCluster.Telemetry.Audit.Farm;
using HohhotCluster.Telemetry.Audit.Quality;
using HohhotCluster.Telemetry.Audit.Rules;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Audit.Tests;

/// <summary>
/// A hand-built month (March 2026) of quality, manure and health records for two cow pastures, a goat pasture and
/// two plants, fed through the kinds' own handlers; every expected number below is computed by hand in the comments.
/// (The KPIs have their own fixture: <see cref="KpiTests"/>.)
/// </summary>
public sealed class AuditFixtureTests(AuditFixtureTests.Fixture fixture) : IClassFixture<AuditFixtureTests.Fixture>
{
    private static readonly DateOnly From = new(2026, 3, 1);
    private static readonly DateOnly To = new(2026, 3, 31);
    private const string Plate = "蒙A,1\"23";

    public sealed class Fixture : IAsyncLifetime
    {
        public AuditDatabase Db { get; } = new();
        public AuditQueries Queries { get; private set; } = null!;
        public QualityStore Quality { get; private set; } = null!;
        public ApplyOutcome[] Redelivery { get; private set; } = [];

        public async Task InitializeAsync()
        {
            await Db.InitializeAsync();
            var options = Options.Create(new AuditOptions());
            var registry = new RegistryStore(Db.DataSource);
            await registry.UpsertAsync(new RegistryBatch
            {
                Counties = [new CountyRecord { Id = "cA", Name = "A" }, new CountyRecord { Id = "cB", Name = "B" }],
                Pastures =
                [
                    new PastureRecord { Id = "PA", CountyId = "cA", Name = "PA", Species = "cow", CapacityHead = 1200 },
                    new PastureRecord { Id = "PB", CountyId = "cB", Name = "PB", Species = "cow", CapacityHead = 600 },
                    new PastureRecord { Id = "PG", CountyId = "cA", Name = "PG", Species = "goat", CapacityHead = 300 },
                ],
                Plants =
                [
                    new PlantRecord { Id = "PL", CountyId = "cA", Name = "PL", DailyCapacityT = 500 },
                    new PlantRecord { Id = "PLG", CountyId = "cB", Name = "PLG", DailyCapacityT = 100, Species = "goat" },
                ],
                Labs = [new LabRecord { Id = "LAB", CountyId = "cA", Name = "regulator's lab" }],
            });
            var alerts = Db.Alerts();
            var rules = new RuleTableStore(Db.DataSource);
            var owners = new OwnerDirectory(registry, Db.Clock);
            Quality = new QualityStore(Db.DataSource, rules, alerts, new AuditMetrics(new NoMeters()), Db.Clock);
            var farm = new FarmRecordStore(Db.DataSource, alerts, options, Db.Clock);
            var pastureLab = new QualityKind(OwnerKind.Pasture, Quality, owners, Db.Clock);
            var plantLab = new QualityKind(OwnerKind.Plant, Quality, owners, Db.Clock);
            var regulatorLab = new QualityKind(OwnerKind.Lab, Quality, owners, Db.Clock); // supervisory samples

            var manure = new ManureKind(farm);
            var health = new HealthKind(farm, owners, options);
            Queries = new AuditQueries(Db.DataSource);

            var feed = new HandlerFeed("-DEV");
            Task<ApplyOutcome> Send<T>(TelemetryKind<T> handler, string owner, string county, DateTimeOffset at, object body, int? reuseSeq = null)
                where T : class =>
                feed.SendAsync(handler, owner, county, at, body, reuseSeq);

            static DateTimeOffset Day(int month, int day) => new(2026, month, day, 9, 0, 0, TimeSpan.FromHours(8));
            static object Sample(string id, string kind, string lotKind, string lot, object[] items, string? plate = null) =>
                new { sampleId = id, sampleKind = kind, lot = new { kind = lotKind, id = lot }, tankerPlate = plate, items };
            // A supervisory sample: the regulator's lab publishes it, naming the audited pasture.
            static object Supervised(string id, string pasture, string lot, object[] items) =>
                new { sampleId = id, sampleKind = "supervisory", pastureId = pasture, lot = new { kind = "bulk_tank_lot", id = lot }, items };
            static object N(string item, decimal value, string unit) => new { item, value, unit };

            // Judged: S1 P, S2 F (protein 2.79), S3 F (antibiotic, confirmatory), S4 P (protein 2.80, acidity 11 under A1), S5 F (TBC), S6 P (goat fat 3.6; its acidity is recorded, not judged, under Amendment No. 2),
            // S8 P; S7 only somatic cells: not judged. S9 in February.
            await Send(pastureLab, "PA", "cA", Day(3, 2), Sample("S1", "pasture_self_check", "bulk_tank_lot", "L1", [N("protein", 3.2m, "g/100g"), N("fat", 3.8m, "%"), N("acidity", 14m, "°T")]));
            await Send(regulatorLab, "LAB", "cA", Day(3, 3), Supervised("S2", "PA", "L2", [N("protein", 2.79m, "g/100g"), new { item = "antibiotic_residue", result = "negative" }]));
            await Send(regulatorLab, "LAB", "cA", Day(3, 4), Supervised("S3", "PB", "L3", [N("protein", 3.1m, "g/100g"), new { item = "antibiotic_residue", result = "positive", method = "confirmatory" }]));
            await Send(regulatorLab, "LAB", "cA", Day(3, 5), Supervised("S4", "PB", "L4", [N("protein", 2.80m, "g/100g"), N("acidity", 11m, "°T")]));
            await Send(plantLab, "PL", "cA", Day(3, 6), Sample("S5", "plant_acceptance", "tanker_load", "TL1", [N("protein", 3.0m, "g/100g"), N("total_bacteria", 2_500_000m, "CFU/mL")], Plate));
            await Send(regulatorLab, "LAB", "cA", Day(3, 7), Supervised("S6", "PG", "LG1", [N("acidity", 8m, "°T"), N("fat", 3.6m, "%")]));
            await Send(pastureLab, "PA", "cA", Day(3, 8), Sample("S7", "pasture_self_check", "bulk_tank_lot", "L5", [N("somatic_cells", 250m, "10^3/mL")]));
            await Send(regulatorLab, "LAB", "cA", Day(3, 9), Supervised("S8", "PB", "L6", [N("protein", 3.3m, "g/100g")]));
            await Send(pastureLab, "PA", "cA", Day(2, 10), Sample("S9", "pasture_self_check", "bulk_tank_lot", "L0", [N("protein", 3.4m, "g/100g")]));
            // The same message again (same key): a redelivery.
            Redelivery = [await Send(pastureLab, "PA", "cA", Day(3, 2), Sample("S1", "pasture_self_check", "bulk_tank_lot", "L1", [N("protein", 3.2m, "g/100g")]), reuseSeq: 1)];

            // Manure: PA (900 of 1000 used), PB (300 of 500 used).
            await Send(manure, "PA", "cA", Day(3, 10), new { producedKg = 1000, collectedKg = 980, appliedKg = 600, treatedKg = 300 });
            await Send(manure, "PB", "cB", Day(3, 10), new { producedKg = 500, collectedKg = 500, appliedKg = 100, treatedKg = 200 });

            // Health (fmd, protective titre 1:128): censuses, vaccinations, titres.
            await Send(health, "PA", "cA", Day(3, 1), new { @event = "census", programme = "fmd", inStock = 1000, due = 900 });
            await Send(health, "PB", "cB", Day(3, 1), new { @event = "census", programme = "fmd", inStock = 500, due = 400 });
            await Send(health, "PA", "cA", Day(3, 5), new { @event = "vaccination", programme = "fmd", vaccinated = 880 });
            await Send(health, "PB", "cB", Day(3, 5), new { @event = "vaccination", programme = "fmd", vaccinated = 380 });
            await Send(health, "PA", "cA", Day(3, 20), new { @event = "antibody_test", programme = "fmd", titres = new[] { 128, 256, 64, 32 } });
            await Send(health, "PB", "cB", Day(3, 20), new { @event = "antibody_test", programme = "fmd", titres = new[] { 512, 128 } });
        }

        public Task DisposeAsync() => Db.DisposeAsync();
    }

    private AuditQuery Query(string kind, string id, string? sampleKind = null, string? item = null) =>
        new() { Scope = new AuditScope(kind, id), From = From, To = To, SampleKind = sampleKind, Item = item };

    [Fact]
    public void A_redelivered_quality_message_is_a_duplicate() => Assert.Equal([ApplyOutcome.Duplicate], fixture.Redelivery);

    [Fact]
    public async Task Pass_rates_equal_the_hand_computed_counts_per_scope_kind_and_item()
    {
        var city = await fixture.Queries.PassRatesAsync(Query("city", ""), default);
        Assert.Equal((4L, 3L, 1L), (city.Overall.Passed, city.Overall.Failed, city.Overall.NotJudged));
        Assert.Equal(400.0 / 7, city.Overall.RatePercent!.Value, 9);
        var supervisory = city.BySampleKind.Single(k => k.Key == "supervisory");
        Assert.Equal((3L, 2L), (supervisory.Passed, supervisory.Failed));
        var protein = city.ByItem.Single(i => i.Key == "protein");
        Assert.Equal((5L, 1L), (protein.Passed, protein.Failed));

        var countyB = await fixture.Queries.PassRatesAsync(Query("county", "cB"), default);
        Assert.Equal((2L, 1L), (countyB.Overall.Passed, countyB.Overall.Failed));
        var hohhot = await fixture.Queries.PassRatesAsync(Query("city", "Hohhot", item: "protein"), default);
        Assert.Equal((5L, 1L), (hohhot.Overall.Passed, hohhot.Overall.Failed));
        var tanker = await fixture.Queries.PassRatesAsync(Query("tanker", Plate), default);
        Assert.Equal((0L, 1L), (tanker.Overall.Passed, tanker.Overall.Failed));
        Assert.Equal(0.0, tanker.Overall.RatePercent);
        var plant = await fixture.Queries.PassRatesAsync(Query("pasture", "PA", "supervisory"), default);
        Assert.Equal((0L, 1L), (plant.Overall.Passed, plant.Overall.Failed));
    }

    [Fact]
    public async Task Failing_samples_show_values_limits_rule_version_and_lot()
    {
        var failing = await fixture.Queries.FailingSamplesAsync(Query("city", ""), 100, default);
        Assert.Equal(["S5", "S3", "S2"], failing.Select(f => f.SampleId));
        var s2 = failing.Single(f => f.SampleId == "S2");
        Assert.Equal(("bulk_tank_lot", "L2", "GB19301-2010+A1+A2:2025;GB2762-2022;GB31650-2019"), (s2.LotKind, s2.LotId, s2.RuleVersion));
        var protein = Assert.Single(s2.FailedItems);
        Assert.Equal(("protein", 2.79m, 2.8m), (protein.Item, protein.Value!.Value, protein.Min!.Value));

        var alerts = await fixture.Db.Alerts().QueryAsync(new AlertFilter { OpenOnly = true, Kind = AlertKinds.QualityFailure }, default);
        Assert.Equal(["bulk_tank_lot:L2", "bulk_tank_lot:L3", "tanker_load:TL1"], alerts.Select(a => a.Subject).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task Monthly_trend_counts_each_month()
    {
        var trend = await fixture.Queries.TrendAsync(Query("county", "cA") with { From = new DateOnly(2026, 2, 1) }, monthly: true, default);
        Assert.Equal([new DateOnly(2026, 2, 1), new DateOnly(2026, 3, 1)], trend.Select(t => t.PeriodStart));
        Assert.Equal((1L, 0L), (trend[0].Counts.Passed, trend[0].Counts.Failed));
        Assert.Equal((2L, 2L, 1L), (trend[1].Counts.Passed, trend[1].Counts.Failed, trend[1].Counts.NotJudged)); // S1, S6 / S2, S5 / S7
    }

    [Fact]
    public async Task Csv_export_opens_with_the_header_and_one_row_per_tested_item()
    {
        var (content, rows) = await fixture.Queries.ExportCsvAsync(Query("city", "", item: null), default);
        Assert.Equal([0xEF, 0xBB, 0xBF], content[..3]);
        var text = Encoding.UTF8.GetString(content, 3, content.Length - 3);
        Assert.StartsWith(string.Join(',', AuditQueries.CsvHeader) + "\r\n", text, StringComparison.Ordinal);
        var records = Csv.Parse(text);
        Assert.Equal(rows + 1, records.Count);
        Assert.Equal(15, rows); // S1 3 items, S2 2, S3 2, S4 2, S5 2, S6 2, S7 1, S8 1
        Assert.All(records, r => Assert.Equal(AuditQueries.CsvHeader.Length, r.Count));
        var tbc = records.Single(r => r[0] == "S5" && r[13] == "total_bacteria");
        Assert.Equal([Plate, "tanker_load", "TL1", "fail"], [tbc[8], tbc[9], tbc[10], tbc[11]]);
        Assert.Equal(["2500000", "CFU/mL", "", "2000000", "fail"], tbc[14..]);
        Assert.Contains("\"蒙A,1\"\"23\"", text, StringComparison.Ordinal); // RFC 4180 quoting of a comma and a quote
    }

    [Fact]
    public async Task Manure_utilisation_below_90_percent_raises_an_alert_for_that_pasture_only()
    {
        var open = await fixture.Db.Alerts().QueryAsync(new AlertFilter { OpenOnly = true, Kind = AlertKinds.ManureUtilisation }, default);
        var alert = Assert.Single(open);
        Assert.Equal("PB", alert.PastureId);
        Assert.Contains(alert.ParseReadings(), r => r is { Name: "utilisation", Value: 60.0 });
    }

    [Fact]
    public async Task Rejudging_under_a_named_version_is_explicit_and_recorded()
    {
        // S4's acidity 11 passes under Amendment 1; judged under the 2010 text on purpose it fails, and the change is kept.
        var summary = await fixture.Quality.RejudgeAsync(new DateOnly(2026, 3, 5), new DateOnly(2026, 3, 5), "cow", "GB19301-2010;GB2762-2022;GB31650-2019", "what-if: 2010 acidity", default);
        Assert.Equal((1, 1, 1), (summary.Examined, summary.Changed, summary.VerdictsChanged));
        var back = await fixture.Quality.RejudgeAsync(new DateOnly(2026, 3, 5), new DateOnly(2026, 3, 5), "cow", null, "restore version in force", default);
        Assert.Equal(["S4"], back.ChangedSampleIds);
        var again = await fixture.Quality.RejudgeAsync(new DateOnly(2026, 3, 5), new DateOnly(2026, 3, 5), "cow", null, "no-op", default);
        Assert.Equal(0, again.Changed);
    }

    private sealed class NoMeters : System.Diagnostics.Metrics.IMeterFactory
    {
        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options) => new(options);

        public void Dispose()
        {
        }
    }
}
