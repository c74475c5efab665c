using System.Globalization;
using System.Text;
using HohhotCluster.Telemetry.Audit.Kpi;
using HohhotCluster.Telemetry.Audit.Quality;

namespace HohhotCluster.Telemetry.Reports;

/// <summary>
/// Builds a report's tables from the Audit component's own answers (<see cref="AuditQueries"/> and
/// <see cref="KpiCalculator"/>, the same calls the gRPC Audit and KPI services make), one block of rows per scope; it
/// computes nothing itself.
/// </summary>
public sealed class ReportBuilder(AuditQueries audits, KpiCalculator kpis)
{
    /// <summary>The failing samples a report lists per scope: the most ListFailingSamples answers.</summary>
    public const int FailingSampleLimit = 1000;

    public static readonly ReportTable PassRatesShape = new("pass_rates",
    [
        new("scope", ReportColumnType.Text), new("from", ReportColumnType.Date), new("to", ReportColumnType.Date),
        new("breakdown", ReportColumnType.Text), new("key", ReportColumnType.Text), new("passed", ReportColumnType.Integer),
        new("failed", ReportColumnType.Integer), new("suspect", ReportColumnType.Integer), new("not_judged", ReportColumnType.Integer),
        new("judged", ReportColumnType.Integer), new("rate_percent", ReportColumnType.Number),
    ], []);

    public static readonly ReportTable FailingSamplesShape = new("failing_samples",
    [
        new("scope", ReportColumnType.Text), new("sample_id", ReportColumnType.Text), new("sample_kind", ReportColumnType.Text),
        new("sampled_at", ReportColumnType.DateTime), new("species", ReportColumnType.Text), new("rule_version", ReportColumnType.Text),
        new("lot_kind", ReportColumnType.Text), new("lot_id", ReportColumnType.Text), new("county_id", ReportColumnType.Text),
        new("pasture_id", ReportColumnType.Text), new("plant_id", ReportColumnType.Text), new("tanker_plate", ReportColumnType.Text),
        new("item", ReportColumnType.Text), new("value", ReportColumnType.Number), new("result", ReportColumnType.Text),
        new("unit", ReportColumnType.Text), new("limit", ReportColumnType.Text),
    ], []);

    public static readonly ReportTable KpisShape = new("kpis",
    [
        new("scope", ReportColumnType.Text), new("local_date", ReportColumnType.Date), new("from", ReportColumnType.Date),
        new("to", ReportColumnType.Date), new("key", ReportColumnType.Text), new("description", ReportColumnType.Text),
        new("unit", ReportColumnType.Text), new("programme", ReportColumnType.Text), new("actual", ReportColumnType.Number),
        new("target_2021", ReportColumnType.Number), new("met_2021", ReportColumnType.Boolean), new("target_2023", ReportColumnType.Number),
        new("met_2023", ReportColumnType.Boolean), new("estimate", ReportColumnType.Boolean), new("formula", ReportColumnType.Text),
        new("inputs", ReportColumnType.Text), new("coverage_of", ReportColumnType.Text), new("in_scope", ReportColumnType.Integer),
        new("reported", ReportColumnType.Integer), new("silent_count", ReportColumnType.Integer), new("note", ReportColumnType.Text),
    ], []);

    /// <summary>The table names of a kind, the first being the default of a CSV download.</summary>
    public static IReadOnlyList<string> TablesOf(string kind) => kind == ReportKinds.Kpi ? [KpisShape.Name] : [PassRatesShape.Name, FailingSamplesShape.Name];

    public async Task<ReportContent> BuildAsync(ReportRequest request, CancellationToken cancellationToken)
    {
        if (request.Kind == ReportKinds.Kpi)
        {
            var rows = new List<object?[]>();
            foreach (var scope in request.Scopes)
            {
                await AddKpisAsync(rows, scope, request, cancellationToken);
            }

            return new ReportContent(request, [KpisShape with { Rows = rows }]);
        }

        var rates = new List<object?[]>();
        var failing = new List<object?[]>();
        foreach (var scope in request.Scopes)
        {
            var query = new AuditQuery { Scope = new AuditScope(scope.Kind, scope.Id), From = request.From, To = request.To };
            var report = await audits.PassRatesAsync(query, cancellationToken);
            AddRates(rates, scope, request, "overall", [report.Overall]);
            AddRates(rates, scope, request, "sample_kind", report.BySampleKind);
            AddRates(rates, scope, request, "item", report.ByItem);
            foreach (var sample in await audits.FailingSamplesAsync(query, FailingSampleLimit, cancellationToken))
            {
                foreach (var item in sample.FailedItems)
                {
                    failing.Add([scope.ToString(), sample.SampleId, sample.SampleKind, sample.SampledAt, sample.Species, sample.RuleVersion,
                        sample.LotKind, sample.LotId, sample.CountyId, sample.PastureId, sample.PlantId, sample.TankerPlate,
                        item.Item, item.Value is { } v ? (double)v : null, item.Result, item.Unit, QualityStore.Limit(item)]);
                }
            }
        }

        return new ReportContent(request, [PassRatesShape with { Rows = rates }, FailingSamplesShape with { Rows = failing }]);
    }

    private static void AddRates(List<object?[]> rows, ReportScope scope, ReportRequest request, string breakdown, IEnumerable<RateCounts> counts)
    {
        foreach (var c in counts)
        {
            rows.Add([scope.ToString(), request.From, request.To, breakdown, c.Key, c.Passed, c.Failed, c.Suspect, c.NotJudged, c.Judged, c.RatePercent]);
        }
    }

    private async Task AddKpisAsync(List<object?[]> rows, ReportScope scope, ReportRequest request, CancellationToken cancellationToken)
    {
        // The per-day measures are the period's last day's, the rates the period's (GetKpis with local_date = to_date).
        var values = await kpis.MeasureAsync(new KpiRequest { ScopeKind = scope.Kind, ScopeId = scope.Id, Date = request.To, From = request.From, To = request.To },
            cancellationToken);
        foreach (var v in values)
        {
            var inputs = new StringBuilder();
            foreach (var input in v.Inputs)
            {
                inputs.Append(inputs.Length == 0 ? "" : "; ").Append(input.Name).Append(" = ")
                    .Append(input.Value.ToString("R", CultureInfo.InvariantCulture)).Append(input.Unit.Length == 0 ? "" : " " + input.Unit);
            }

            rows.Add([scope.ToString(), request.To, request.From, request.To, v.Key, v.Description, v.Unit, v.Programme, v.Actual,
                v.Target2021, v.Met2021, v.Target2023, v.Met2023, v.Estimate, v.Formula, inputs.ToString(), v.Coverage?.Of,
                v.Coverage is { } c ? (long)c.InScope : null, v.Coverage is { } r ? (long)r.Reported : null,
                v.Coverage is { } s ? (long)s.SilentCount : null, v.Note]);
        }
    }
}
