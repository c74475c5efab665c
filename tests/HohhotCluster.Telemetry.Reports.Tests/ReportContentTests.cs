using System.Globalization;
using System.Text;
using HohhotCluster.Telemetry.Audit;
using HohhotCluster.Telemetry.Audit.Quality;
using MiniExcelLibs;

namespace HohhotCluster.Telemetry.Reports.Tests;

/// <summary>What a report holds: the audit queries' own answers for the period and scope, as XLSX and as CSV.</summary>
public sealed class ReportContentTests(ReportWorld world) : IClassFixture<ReportWorld>
{
    private static AuditQuery Week(string kind, string id) => new() { Scope = new AuditScope(kind, id), From = ReportWorld.WeekFrom, To = ReportWorld.WeekTo };

    private static List<IDictionary<string, object?>> Sheet(byte[] xlsx, string sheet)
    {
        using var stream = new MemoryStream(xlsx);
        return MiniExcel.Query(stream, useHeaderRow: true, sheetName: sheet).Cast<IDictionary<string, object?>>().ToList();
    }

    private async Task<RenderedReport> RenderAsync(string organisation, string kind, ReportScope? scope, ReportFileFormat format, string? table = null) =>
        await world.Runner().RenderAsync(await world.CallerAsync(organisation), kind, scope, ReportWorld.WeekFrom, ReportWorld.WeekTo, format, table, default);

    [Fact]
    public async Task The_xlsx_audit_report_opens_with_a_typed_sheet_per_table_holding_what_the_queries_answer()
    {
        var file = await RenderAsync("reg-city", ReportKinds.Audit, null, ReportFileFormat.Xlsx);
        Assert.Equal(ReportWriters.XlsxContentType, file.ContentType);
        Assert.Equal("audit-city-20260302-20260308.xlsx", file.FileName);
        using (var stream = new MemoryStream(file.Content))
        {
            Assert.Equal(["pass_rates", "failing_samples"], MiniExcel.GetSheetNames(stream));
        }

        var expected = await world.Queries.PassRatesAsync(Week("city", ""), default);
        var rates = Sheet(file.Content, "pass_rates");
        Assert.Equal(1 + expected.BySampleKind.Count + expected.ByItem.Count, rates.Count);
        var overall = Assert.Single(rates, r => (string?)r["breakdown"] == "overall");
        Assert.Equal("city", overall["scope"]);
        // Typed cells: counts and rates are numbers, the period's days are dates.
        Assert.Equal((double)expected.Overall.Passed, Assert.IsType<double>(overall["passed"]));
        Assert.Equal((double)expected.Overall.Failed, Assert.IsType<double>(overall["failed"]));
        Assert.Equal(expected.Overall.RatePercent!.Value, Assert.IsType<double>(overall["rate_percent"]), 9);
        Assert.Equal(new DateTime(2026, 3, 2), Assert.IsType<DateTime>(overall["from"]));
        Assert.Equal((2L, 3L), (expected.Overall.Passed, expected.Overall.Failed)); // R1 and R5 pass; R2, R3, R4 fail; R6 is outside the week
        foreach (var item in expected.ByItem)
        {
            var row = Assert.Single(rates, r => (string?)r["breakdown"] == "item" && (string?)r["key"] == item.Key);
            Assert.Equal(((double)item.Passed, (double)item.Failed, (double)item.NotJudged), ((double)row["passed"]!, (double)row["failed"]!, (double)row["not_judged"]!));
        }

        var failing = Sheet(file.Content, "failing_samples");
        var samples = await world.Queries.FailingSamplesAsync(Week("city", ""), 1000, default);
        Assert.Equal(samples.Sum(s => s.FailedItems.Count), failing.Count);
        Assert.Equal(["R2", "R3", "R4"], failing.Select(r => (string)r["sample_id"]!).Order(StringComparer.Ordinal));
        var bacteria = Assert.Single(failing, r => (string?)r["sample_id"] == "R3");
        Assert.Equal("total_bacteria", bacteria["item"]);
        Assert.Equal(2_500_000.0, Assert.IsType<double>(bacteria["value"]));
        Assert.Equal(ReportWorld.Plate, bacteria["tanker_plate"]);
        Assert.Equal(samples.Single(s => s.SampleId == "R3").RuleVersion, bacteria["rule_version"]);
        Assert.Equal(new DateTime(2026, 3, 4, 9, 30, 0), Assert.IsType<DateTime>(bacteria["sampled_at"]));
        Assert.False(string.IsNullOrEmpty((string?)bacteria["limit"]));
    }

    [Fact]
    public async Task The_csv_audit_report_is_utf8_with_bom_and_rfc4180_holding_what_the_queries_answer()
    {
        var file = await RenderAsync("reg-city", ReportKinds.Audit, null, ReportFileFormat.Csv, "failing_samples");
        Assert.Equal(ReportWriters.CsvContentType, file.ContentType);
        Assert.Equal([0xEF, 0xBB, 0xBF], file.Content[..3]);
        var text = Encoding.UTF8.GetString(file.Content);
        Assert.Contains("\r\n", text, StringComparison.Ordinal);
        // The plate's comma and quote: one quoted field with the quote doubled, read back as it was.
        Assert.Contains("\"蒙A,1\"\"23\"", text, StringComparison.Ordinal);
        var records = Csv.Parse(text).Where(r => r.Count > 1).ToList();
        var header = records[0];
        Assert.Equal(ReportBuilder.FailingSamplesShape.Columns.Select(c => c.Name), header);
        var samples = await world.Queries.FailingSamplesAsync(Week("city", ""), 1000, default);
        Assert.Equal(samples.Sum(s => s.FailedItems.Count), records.Count - 1);
        var r3 = records.Single(r => r[header.IndexOf("sample_id")] == "R3");
        Assert.Equal(ReportWorld.Plate, r3[header.IndexOf("tanker_plate")]);
        Assert.Equal("2500000", r3[header.IndexOf("value")]);
        Assert.Equal("2026-03-04T09:30:00+08:00", r3[header.IndexOf("sampled_at")]);

        var rates = await RenderAsync("reg-city", ReportKinds.Audit, null, ReportFileFormat.Csv);
        Assert.EndsWith("-pass_rates.csv", rates.FileName, StringComparison.Ordinal);
        var expected = await world.Queries.PassRatesAsync(Week("city", ""), default);
        var rateRecords = Csv.Parse(Encoding.UTF8.GetString(rates.Content)).Where(r => r.Count > 1).ToList();
        var overall = rateRecords.Single(r => r[3] == "overall");
        Assert.Equal(expected.Overall.Passed.ToString(CultureInfo.InvariantCulture), overall[5]);
        Assert.Equal(expected.Overall.RatePercent!.Value.ToString("R", CultureInfo.InvariantCulture), overall[10]);
    }

    [Fact]
    public async Task A_regulators_report_holds_the_city_and_a_processors_only_its_plants()
    {
        var city = Sheet((await RenderAsync("reg-city", ReportKinds.Audit, null, ReportFileFormat.Xlsx)).Content, "failing_samples");
        Assert.Equal(["city"], city.Select(r => (string)r["scope"]!).Distinct());
        Assert.Equal(["R2", "R3", "R4"], city.Select(r => (string)r["sample_id"]!).Order(StringComparer.Ordinal));

        var county = await RenderAsync("reg-b", ReportKinds.Audit, null, ReportFileFormat.Xlsx);
        var countyFailing = Sheet(county.Content, "failing_samples");
        Assert.Equal(["county:cB"], countyFailing.Select(r => (string)r["scope"]!).Distinct());
        Assert.Equal(["R2", "R4"], countyFailing.Select(r => (string)r["sample_id"]!).Order(StringComparer.Ordinal));

        var processor = await RenderAsync("proc", ReportKinds.Audit, null, ReportFileFormat.Xlsx);
        Assert.Equal("audit-plant_PL-20260302-20260308.xlsx", processor.FileName);
        var plantRates = Sheet(processor.Content, "pass_rates");
        Assert.Equal(["plant:PL"], plantRates.Select(r => (string)r["scope"]!).Distinct());
        var overall = Assert.Single(plantRates, r => (string?)r["breakdown"] == "overall");
        Assert.Equal((1.0, 1.0), ((double)overall["passed"]!, (double)overall["failed"]!)); // R5 passed, R3 failed; PL2's R4 is not its plant
        Assert.Equal(["R3"], Sheet(processor.Content, "failing_samples").Select(r => (string)r["sample_id"]!));
    }

    [Fact]
    public async Task Bad_input_and_a_scope_the_caller_does_not_hold_are_refused_with_the_field_named()
    {
        var unknownKind = Assert.Throws<ReportRequestException>(() => ReportScopes.Parse("milk", "", ""));
        Assert.Equal(ReportRefusal.InvalidArgument, unknownKind.Refusal);
        Assert.Contains("kind 'milk'", unknownKind.Message, StringComparison.Ordinal);

        var backwards = await Assert.ThrowsAsync<ReportRequestException>(async () => await world.Runner().RenderAsync(
            await world.CallerAsync("reg-city"), ReportKinds.Audit, null, ReportWorld.WeekTo, ReportWorld.WeekFrom, ReportFileFormat.Csv, null, default));
        Assert.Equal(ReportRefusal.InvalidArgument, backwards.Refusal);
        Assert.Contains("to_date", backwards.Message, StringComparison.Ordinal);

        // Another organisation's pasture reads exactly as one that does not exist.
        var notHeld = await Assert.ThrowsAsync<ReportRequestException>(() => RenderAsync("proc", ReportKinds.Audit, new ReportScope("pasture", "PA"), ReportFileFormat.Csv));
        var missing = await Assert.ThrowsAsync<ReportRequestException>(() => RenderAsync("proc", ReportKinds.Audit, new ReportScope("pasture", "NOPE"), ReportFileFormat.Csv));
        Assert.Equal((ReportRefusal.NotFound, ReportRefusal.NotFound), (notHeld.Refusal, missing.Refusal));
        Assert.Equal(notHeld.Message.Replace("PA", "NOPE", StringComparison.Ordinal), missing.Message);

        var city = await Assert.ThrowsAsync<ReportRequestException>(() => RenderAsync("reg-b", ReportKinds.Audit, ReportScope.WholeCity, ReportFileFormat.Xlsx));
        Assert.Equal(ReportRefusal.PermissionDenied, city.Refusal);

        var plantKpis = await Assert.ThrowsAsync<ReportRequestException>(() => RenderAsync("proc", ReportKinds.Kpi, null, ReportFileFormat.Xlsx));
        Assert.Equal(ReportRefusal.InvalidArgument, plantKpis.Refusal);

        var table = await Assert.ThrowsAsync<ReportRequestException>(() => RenderAsync("reg-city", ReportKinds.Audit, null, ReportFileFormat.Csv, "kpis"));
        Assert.Contains("table 'kpis'", table.Message, StringComparison.Ordinal);
        Assert.Equal(ReportRefusal.InvalidArgument, Assert.Throws<ReportRequestException>(() => ReportScopes.Parse("audit", "tanker", "x")).Refusal);
    }

    [Fact]
    public async Task The_kpi_report_holds_each_measure_the_calculator_answers_for_the_county()
    {
        var file = await RenderAsync("reg-b", ReportKinds.Kpi, null, ReportFileFormat.Xlsx);
        var expected = await world.Kpis.MeasureAsync(new Audit.Kpi.KpiRequest { ScopeKind = "county", ScopeId = "cB", Date = ReportWorld.WeekTo, From = ReportWorld.WeekFrom, To = ReportWorld.WeekTo }, default);
        var rows = Sheet(file.Content, "kpis");
        Assert.Equal(expected.Select(k => k.Key), rows.Select(r => (string)r["key"]!));
        // A key repeats per programme (the health measures): rows follow the calculator's order.
        foreach (var (kpi, row) in expected.Zip(rows))
        {
            Assert.Equal(kpi.Programme ?? "", row["programme"] as string ?? "");
            Assert.Equal("county:cB", row["scope"]);
            Assert.Equal(kpi.Formula, row["formula"] as string ?? ""); // an empty text cell reads back as no value
            Assert.Equal(kpi.Actual, row["actual"] is double actual ? actual : null);
            Assert.Equal(kpi.Target2023, row["target_2023"] is double target ? target : null);
            Assert.Equal(kpi.Met2023, row["met_2023"] as bool?);
        }

        Assert.Contains(rows, r => r["formula"] is string { Length: > 0 });
    }
}
