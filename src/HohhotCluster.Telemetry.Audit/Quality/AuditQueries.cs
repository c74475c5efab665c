using System.Globalization;
using System.Text;
using System.Text.Json;
using Dapper;
using HohhotCluster.Telemetry.Audit.Rules;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;
using Npgsql;

namespace HohhotCluster.Telemetry.Audit.Quality;

/// <summary>Where a rate is taken: <c>city</c> (id = city name, or empty for all), <c>county</c>, <c>pasture</c>, <c>plant</c> or <c>tanker</c> (id = plate).</summary>
public sealed record AuditScope(string Kind, string Id)
{
    public static readonly string[] Kinds = ["city", "county", "pasture", "plant", "tanker"];
}

public sealed record AuditQuery
{
    public required AuditScope Scope { get; init; }
    public required DateOnly From { get; init; }
    public required DateOnly To { get; init; }
    public string? SampleKind { get; init; }
    public string? Item { get; init; }
}

/// <summary>
/// Verdict counts. <paramref name="Failed"/> counts confirmed fails only; <paramref name="Suspect"/> (a positive rapid
/// screen no confirmatory sample has decided yet) is shown apart, outside the rate, so a screen never counts as a fail.
/// </summary>
public sealed record RateCounts(string Key, long Passed, long Failed, long NotJudged, long Suspect = 0)
{
    public long Judged => Passed + Failed;

    /// <summary>Passed / judged × 100 (suspects outside it); null when nothing was judged.</summary>
    public double? RatePercent => Judged == 0 ? null : Passed * 100.0 / Judged;
}

public sealed record PassRateReport(RateCounts Overall, IReadOnlyList<RateCounts> BySampleKind, IReadOnlyList<RateCounts> ByItem);

public sealed record FailingSample
{
    public required string SampleId { get; init; }
    public required string SampleKind { get; init; }
    public required DateTimeOffset SampledAt { get; init; }
    public required string Species { get; init; }
    public required string RuleVersion { get; init; }
    public required string LotKind { get; init; }
    public required string LotId { get; init; }
    public string? PastureId { get; init; }
    public string? PlantId { get; init; }
    public string? CountyId { get; init; }
    public string? TankerPlate { get; init; }
    public required IReadOnlyList<JudgedItem> FailedItems { get; init; }
}

public sealed record TrendPoint(DateOnly PeriodStart, RateCounts Counts);

/// <summary>
/// Pass rates, failing samples, trends and the CSV report over <c>quality_result</c>. One fixed SQL text per
/// question; scope, window, sample kind and item are parameters (an item filter rates that item's verdicts).
/// </summary>
public sealed class AuditQueries(NpgsqlDataSource dataSource)
{
    private const string Filter =
        """
        q.sampled_on between @From and @To
        and (@SampleKind::text is null or q.sample_kind = @SampleKind)
        and case @ScopeKind
            when 'city' then @ScopeId = '' or q.county_id in (select id from county where city = @ScopeId)
            when 'county' then q.county_id = @ScopeId
            when 'pasture' then q.pasture_id = @ScopeId
            when 'plant' then q.plant_id = @ScopeId
            when 'tanker' then q.tanker_plate = @ScopeId
            else false end
        """;

    // A sample a later confirmatory sample decides (its `confirms`) is counted by that sample, not twice.
    private const string Undecided = "not exists (select 1 from quality_result c where c.confirms = q.sample_id)";

    // The verdict being rated: the sample's, or with an item filter that item's (null when the sample did not test it).
    private const string Verdict =
        "(case when @Item::text is null then q.verdict else (select e->>'verdict' from jsonb_array_elements(q.items) e where e->>'item' = @Item limit 1) end)";

    public async Task<PassRateReport> PassRatesAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        var args = Args(query);
        return await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var byKind = await connection.QueryAsync<(string Kind, string Verdict, long Count)>(new CommandDefinition(
                $"""
                select sample_kind, v, count(*) from (select q.sample_kind, {Verdict} as v from quality_result q where {Filter} and {Undecided}) s
                where v is not null group by 1, 2
                """, args, cancellationToken: ct));
            var byItem = await connection.QueryAsync<(string Item, string Verdict, long Count)>(new CommandDefinition(
                $"""
                select e->>'item', e->>'verdict', count(*)
                from quality_result q cross join lateral jsonb_array_elements(q.items) e
                where {Filter} and {Undecided} and (@Item::text is null or e->>'item' = @Item)
                group by 1, 2
                """, args, cancellationToken: ct));
            var kinds = Tally(byKind.Select(r => (r.Kind, r.Verdict, r.Count)));
            var overall = new RateCounts("all", kinds.Sum(k => k.Passed), kinds.Sum(k => k.Failed), kinds.Sum(k => k.NotJudged), kinds.Sum(k => k.Suspect));
            return new PassRateReport(overall, kinds, Tally(byItem.Select(r => (r.Item, r.Verdict, r.Count))));
        }, cancellationToken);
    }

    public async Task<IReadOnlyList<FailingSample>> FailingSamplesAsync(AuditQuery query, int limit, CancellationToken cancellationToken)
    {
        var args = Args(query);
        args.Add("Limit", limit);
        var rows = await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return (await connection.QueryAsync<SampleRow>(new CommandDefinition(
                $"""
                select {SampleColumns} from quality_result q
                where {Filter} and {Verdict} = 'fail'
                order by q.sampled_at desc, q.sample_id limit @Limit
                """, args, cancellationToken: ct))).AsList();
        }, cancellationToken);
        return rows.Select(r => new FailingSample
        {
            SampleId = r.SampleId,
            SampleKind = r.SampleKind,
            SampledAt = new DateTimeOffset(DateTime.SpecifyKind(r.SampledAt, DateTimeKind.Utc)),
            Species = r.Species,
            RuleVersion = r.RuleVersion,
            LotKind = r.LotKind,
            LotId = r.LotId,
            PastureId = r.PastureId,
            PlantId = r.PlantId,
            CountyId = r.CountyId,
            TankerPlate = r.TankerPlate,
            FailedItems = r.ParseItems().Where(i => i.Verdict == QualityJudge.Fail && (query.Item is null || i.Item == query.Item)).ToList(),
        }).ToList();
    }

    /// <summary>Counts per ISO week (Monday) or calendar month of the sampling day.</summary>
    public async Task<IReadOnlyList<TrendPoint>> TrendAsync(AuditQuery query, bool monthly, CancellationToken cancellationToken)
    {
        var args = Args(query);
        args.Add("Unit", monthly ? "month" : "week");
        var rows = await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return (await connection.QueryAsync<(DateTime Period, string Verdict, long Count)>(new CommandDefinition(
                $"""
                select period, v, count(*) from (
                    select date_trunc(@Unit, q.sampled_on::timestamp) as period, {Verdict} as v from quality_result q where {Filter} and {Undecided}) s
                where v is not null group by 1, 2 order by 1
                """, args, cancellationToken: ct))).AsList();
        }, cancellationToken);
        return Tally(rows.Select(r => (r.Period.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), r.Verdict, r.Count)))
            .Select(c => new TrendPoint(DateOnly.ParseExact(c.Key, "yyyy-MM-dd", CultureInfo.InvariantCulture), c))
            .OrderBy(p => p.PeriodStart)
            .ToList();
    }

    public static readonly string[] CsvHeader =
    [
        "sample_id", "sampled_at_cst", "local_date", "sample_kind", "species", "county_id", "pasture_id", "plant_id", "tanker_plate",
        "lot_kind", "lot_id", "sample_verdict", "rule_version", "item", "value", "unit", "min", "max", "item_verdict",
    ];

    /// <summary>
    /// The report as CSV: UTF-8 with a byte-order mark (so spreadsheets read Chinese plates correctly), a header row,
    /// then one row per tested item of every sample in the query, CRLF line ends and RFC 4180 quoting.
    /// </summary>
    public async Task<(byte[] Content, int Rows)> ExportCsvAsync(AuditQuery query, CancellationToken cancellationToken)
    {
        var args = Args(query);
        var samples = await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return (await connection.QueryAsync<SampleRow>(new CommandDefinition(
                $"""
                select {SampleColumns} from quality_result q
                where {Filter} and {Verdict} is not null
                order by q.sampled_at, q.sample_id
                """, args, cancellationToken: ct))).AsList();
        }, cancellationToken);

        var builder = new StringBuilder();
        Csv.AppendRecord(builder, CsvHeader);
        var rows = 0;
        foreach (var s in samples)
        {
            var sampledAt = new DateTimeOffset(DateTime.SpecifyKind(s.SampledAt, DateTimeKind.Utc)).ToOffset(ChinaTime.Offset);
            foreach (var item in s.ParseItems())
            {
                if (query.Item is not null && item.Item != query.Item)
                {
                    continue;
                }

                Csv.AppendRecord(builder,
                [
                    Csv.Text(s.SampleId), sampledAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                    sampledAt.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), s.SampleKind, s.Species, Csv.Text(s.CountyId),
                    Csv.Text(s.PastureId), Csv.Text(s.PlantId), Csv.Text(s.TankerPlate), s.LotKind, Csv.Text(s.LotId), s.Verdict,
                    Csv.Text(s.RuleVersion), item.Item, item.Value?.ToString(CultureInfo.InvariantCulture) ?? item.Result ?? "",
                    item.Unit, item.Min?.ToString(CultureInfo.InvariantCulture) ?? "", item.Max?.ToString(CultureInfo.InvariantCulture) ?? "",
                    item.Verdict,
                ]);
                rows++;
            }
        }

        var encoding = new UTF8Encoding(encoderShouldEmitUTF8Identifier: true);
        return ([.. encoding.GetPreamble(), .. encoding.GetBytes(builder.ToString())], rows);
    }

    private const string SampleColumns =
        """
        q.sample_id as SampleId, q.sample_kind as SampleKind, q.sampled_at as SampledAt, q.species as Species, q.rule_version as RuleVersion,
        q.lot_kind as LotKind, q.lot_id as LotId, q.pasture_id as PastureId, q.plant_id as PlantId, q.county_id as CountyId,
        q.tanker_plate as TankerPlate, q.verdict as Verdict, q.items::text as Items
        """;

    private static DynamicParameters Args(AuditQuery query)
    {
        if (Array.IndexOf(AuditScope.Kinds, query.Scope.Kind) < 0)
        {
            throw new ArgumentException("scope kind must be one of " + string.Join(", ", AuditScope.Kinds), nameof(query));
        }

        var args = new DynamicParameters();
        args.Add("From", query.From.ToDateTime(TimeOnly.MinValue));
        args.Add("To", query.To.ToDateTime(TimeOnly.MinValue));
        args.Add("SampleKind", query.SampleKind);
        args.Add("Item", query.Item);
        args.Add("ScopeKind", query.Scope.Kind);
        args.Add("ScopeId", query.Scope.Id);
        return args;
    }

    private static List<RateCounts> Tally(IEnumerable<(string Key, string Verdict, long Count)> rows)
    {
        var tally = new SortedDictionary<string, (long Pass, long Fail, long None, long Suspect)>(StringComparer.Ordinal);
        foreach (var (key, verdict, count) in rows)
        {
            var t = tally.TryGetValue(key, out var known) ? known : default;
            tally[key] = verdict switch
            {
                QualityJudge.Pass => (t.Pass + count, t.Fail, t.None, t.Suspect),
                QualityJudge.Fail => (t.Pass, t.Fail + count, t.None, t.Suspect),
                QualityJudge.Suspect => (t.Pass, t.Fail, t.None, t.Suspect + count),
                _ => (t.Pass, t.Fail, t.None + count, t.Suspect),
            };
        }

        return tally.Select(t => new RateCounts(t.Key, t.Value.Pass, t.Value.Fail, t.Value.None, t.Value.Suspect)).ToList();
    }

    private sealed record SampleRow
    {
        public string SampleId { get; init; } = "";
        public string SampleKind { get; init; } = "";
        public DateTime SampledAt { get; init; }
        public string Species { get; init; } = "";
        public string RuleVersion { get; init; } = "";
        public string LotKind { get; init; } = "";
        public string LotId { get; init; } = "";
        public string? PastureId { get; init; }
        public string? PlantId { get; init; }
        public string? CountyId { get; init; }
        public string? TankerPlate { get; init; }
        public string Verdict { get; init; } = "";
        public string Items { get; init; } = "[]";

        public List<JudgedItem> ParseItems() => JsonSerializer.Deserialize<List<JudgedItem>>(Items, QualityStore.ItemJson) ?? [];
    }
}
