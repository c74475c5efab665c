using Dapper;
using HohhotCluster.Telemetry.Audit.Quality;
using HohhotCluster.Telemetry.Audit.Rules;
using HohhotCluster.Telemetry.Contracts;

namespace HohhotCluster.Telemetry.Audit.Tests;

/// <summary>The rule table and verdicts in PostgreSQL: sources stored, suspects apart from fails, confirmations, products.</summary>
public sealed class RuleStorageTests : IAsyncLifetime
{
    private static readonly DateOnly Day = new(2026, 3, 10);
    private readonly AuditDatabase _db = new();
    private RuleTableStore _rules = null!;
    private QualityStore _store = null!;
    private AuditQueries _queries = null!;
    private int _seq;

    public async Task InitializeAsync()
    {
        await _db.InitializeAsync();
        _rules = new RuleTableStore(_db.DataSource);
        _store = new QualityStore(_db.DataSource, _rules, _db.Alerts(), new AuditMetrics(new NoMeters()), _db.Clock);
        _queries = new AuditQueries(_db.DataSource);
    }

    public Task DisposeAsync() => _db.DisposeAsync();

    private Task<ApplyOutcome[]> AddAsync(string id, string lotKind, string? category, string? confirms, params SampleItem[] items) =>
        _store.AddAsync([new QualityResult
        {
            Sample = new QualitySample
            {
                SampleId = id, SampleKind = SampleKinds.Supervisory, SampledAt = new DateTimeOffset(Day.ToDateTime(new TimeOnly(9, 0)), TimeSpan.FromHours(8)),
                LotKind = lotKind, LotId = "LOT-" + id, Species = "cow", ProductCategory = category, Confirms = confirms, Items = items,
            },
            Key = new ReadingKey("LAB-DEV", 1, ++_seq),
            PastureId = "P1",
            ReceivedAt = _db.Clock.GetUtcNow(),
        }], default);

    private Task<PassRateReport> RatesAsync() => _queries.PassRatesAsync(new AuditQuery
    {
        Scope = new AuditScope("pasture", "P1"), From = Day, To = Day, SampleKind = SampleKinds.Supervisory,
    }, default);

    [Fact]
    public async Task A_screen_positive_is_a_suspect_outside_the_pass_rate_until_a_confirmatory_sample_decides_it()
    {
        await AddAsync("OK", "bulk_tank_lot", null, null, new SampleItem("protein", "g/100g", 3.1m, null));
        await AddAsync("SCREEN", "bulk_tank_lot", null, null, new SampleItem("antibiotic_residue", "screen", null, "positive", ScreenMethods.Screen));
        var before = (await RatesAsync()).Overall;
        Assert.Equal((1L, 0L, 1L, 100.0), (before.Passed, before.Failed, before.Suspect, before.RatePercent));

        // The confirmatory test of the same milk decides: here it confirms the residue, so one confirmed fail.
        await AddAsync("CONFIRM", "bulk_tank_lot", null, "SCREEN", new SampleItem("antibiotic_residue", "screen", null, "positive", ScreenMethods.Confirmatory));
        var after = (await RatesAsync()).Overall;
        Assert.Equal((1L, 1L, 0L, 50.0), (after.Passed, after.Failed, after.Suspect, after.RatePercent));
    }

    [Fact]
    public async Task A_product_lot_without_category_is_stored_not_judged_with_its_reason()
    {
        await AddAsync("PRODUCT", "product_lot", null, null, new SampleItem("protein", "g/100g", 2.0m, null));
        await AddAsync("UHT", "product_lot", "sterilised_milk", null, new SampleItem("protein", "g/100g", 2.85m, null));
        await using var connection = await _db.DataSource.OpenConnectionAsync();
        var rows = (await connection.QueryAsync<(string SampleId, string Verdict, string RuleVersion, string? Reason, string? Category)>(
            "select sample_id, verdict, rule_version, verdict_reason, product_category from quality_result order by sample_id")).ToList();
        Assert.Equal(("PRODUCT", "not_judged", ""), (rows[0].SampleId, rows[0].Verdict, rows[0].RuleVersion));
        Assert.Contains("without productCategory", rows[0].Reason);
        Assert.Equal(("UHT", "fail", "sterilised_milk"), (rows[1].SampleId, rows[1].Verdict, rows[1].Category));
        Assert.StartsWith("GB25190-2010", rows[1].RuleVersion);
    }

    [Fact]
    public async Task Stored_rows_keep_their_source_and_a_withdrawn_version_is_never_in_force()
    {
        var book = await _rules.GetAsync();
        await using var connection = await _db.DataSource.OpenConnectionAsync();
        var lead = await connection.QuerySingleAsync<(string Standard, string Clause, string EditionDate)>(
            "select standard, clause, edition_date from quality_rule where rule_version = 'GB19301-2010;GB2762-2022;GB31650-2019' and species = 'cow' and item = 'lead'");
        Assert.Equal(("GB 2762-2022", "2022-06-30"), (lead.Standard, lead.EditionDate));
        Assert.Contains("4.3", lead.Clause);

        // A version published by mistake, then withdrawn: it stays stored, it judges nothing new.
        await connection.ExecuteAsync(
            """
            insert into quality_rule (rule_version, subject, standard, clause, species, effective_from, item, unit, kind, max_value, source, withdrawn)
            values ('WRONG', 'raw_milk', 'GB 19301-2010', 'table 2', 'cow', '2026-01-01', 'lead', 'mg/kg', 'recorded', null, 'x', 'lead was never recorded-only')
            """);
        var reloaded = await _rules.SeedAndLoadAsync(RuleBook.LoadEmbeddedCsv());
        Assert.NotNull(reloaded.Find(RuleSubjects.RawMilk, "cow", "WRONG"));
        Assert.Equal(book.InForce("cow", Day)!.Version, reloaded.InForce("cow", Day)!.Version);
        Assert.Equal(QualityJudge.Fail, QualityJudge.JudgeSample(reloaded, "bulk_tank_lot", null, "cow", Day, [new SampleItem("lead", "mg/kg", 0.1m, null)]).Verdict);
    }

    private sealed class NoMeters : System.Diagnostics.Metrics.IMeterFactory
    {
        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options) => new(options);

        public void Dispose()
        {
        }
    }
}
