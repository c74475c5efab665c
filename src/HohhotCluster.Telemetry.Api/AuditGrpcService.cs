using System.Globalization;
using Grpc.Core;
using HohhotCluster.Telemetry.Audit.Quality;
using HohhotCluster.Telemetry.Audit.Rules;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Protos.V1;
using AuditQuery = HohhotCluster.Telemetry.Protos.V1.AuditQuery;
using AuditScope = HohhotCluster.Telemetry.Protos.V1.AuditScope;
using FailingSample = HohhotCluster.Telemetry.Protos.V1.FailingSample;
using PassRateReport = HohhotCluster.Telemetry.Protos.V1.PassRateReport;
using RateCounts = HohhotCluster.Telemetry.Protos.V1.RateCounts;
using TrendPoint = HohhotCluster.Telemetry.Protos.V1.TrendPoint;

namespace HohhotCluster.Telemetry.Api;

/// <summary>Quality-check pass rates, failing samples, trends, the CSV report, the rule table and explicit re-judging.</summary>
public sealed class AuditGrpcService(AuditQueries queries, QualityStore quality, RuleTableStore rules, KnownScopes scopes, TimeProvider clock)
    : AuditService.AuditServiceBase
{
    private const int DefaultWindowDays = 30;

    public override async Task<PassRateReport> GetPassRates(AuditQuery request, ServerCallContext context)
    {
        var query = await ToQueryAsync(request, context);
        var report = await queries.PassRatesAsync(query, context.CancellationToken);
        var reply = new PassRateReport { Query = Echo(request, query), Overall = Counts(report.Overall) };
        reply.BySampleKind.AddRange(report.BySampleKind.Select(Counts));
        reply.ByItem.AddRange(report.ByItem.Select(Counts));
        return reply;
    }

    public override async Task<FailingSamples> ListFailingSamples(ListFailingSamplesRequest request, ServerCallContext context)
    {
        var limit = request.Limit switch
        {
            0 => 100,
            < 0 or > 1000 => throw Invalid("limit must be 1-1000 (0 for 100)."),
            _ => request.Limit,
        };
        var samples = await queries.FailingSamplesAsync(await ToQueryAsync(request.Query ?? new AuditQuery(), context), limit, context.CancellationToken);
        var reply = new FailingSamples();
        foreach (var s in samples)
        {
            var sample = new FailingSample
            {
                SampleId = s.SampleId,
                SampleKind = s.SampleKind,
                SampledAt = s.SampledAt.ToOffset(ChinaTime.Offset).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture),
                Species = s.Species,
                RuleVersion = s.RuleVersion,
                Lot = new LotLink { LotKind = s.LotKind, LotId = s.LotId },
                PastureId = s.PastureId ?? "",
                PlantId = s.PlantId ?? "",
                CountyId = s.CountyId ?? "",
                TankerPlate = s.TankerPlate ?? "",
            };
            sample.FailedItems.AddRange(s.FailedItems.Select(i => new FailedItem
            {
                Item = i.Item,
                Value = i.Value?.ToString(CultureInfo.InvariantCulture) ?? i.Result ?? "",
                Unit = i.Unit,
                Limit = QualityStore.Limit(i),
            }));
            reply.Samples.Add(sample);
        }

        return reply;
    }

    public override async Task<Trend> GetTrend(GetTrendRequest request, ServerCallContext context)
    {
        var monthly = request.Period == TrendPeriod.Month;
        var points = await queries.TrendAsync(await ToQueryAsync(request.Query ?? new AuditQuery(), context), monthly, context.CancellationToken);
        var reply = new Trend { Period = monthly ? TrendPeriod.Month : TrendPeriod.Week };
        reply.Points.AddRange(points.Select(p => new TrendPoint
        {
            PeriodStart = p.PeriodStart.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            Counts = Counts(p.Counts),
        }));
        return reply;
    }

    public override async Task<CsvReport> ExportCsv(AuditQuery request, ServerCallContext context)
    {
        var query = await ToQueryAsync(request, context);
        var (content, rows) = await queries.ExportCsvAsync(query, context.CancellationToken);
        var scope = query.Scope.Id.Length > 0 ? query.Scope.Kind + "-" + Sanitise(query.Scope.Id) : query.Scope.Kind;
        return new CsvReport
        {
            FileName = $"quality-{scope}-{query.From:yyyyMMdd}-{query.To:yyyyMMdd}.csv",
            ContentType = "text/csv; charset=utf-8",
            Content = Google.Protobuf.ByteString.CopyFrom(content),
            Rows = rows,
        };
    }

    public override async Task<RuleVersions> ListRuleVersions(ListRuleVersionsRequest request, ServerCallContext context)
    {
        var book = await rules.GetAsync(context.CancellationToken);
        var reply = new RuleVersions();
        foreach (var version in book.Versions.OrderBy(v => v.Species, StringComparer.Ordinal).ThenBy(v => v.EffectiveFrom))
        {
            var first = version.Items.Values.First();
            var info = new RuleVersionInfo
            {
                Version = version.Version,
                Species = version.Species,
                EffectiveFrom = version.EffectiveFrom.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
                Standard = first.Standard,
                Amendment = first.Amendment,
            };
            foreach (var rule in version.Items.Values.OrderBy(r => r.Item, StringComparer.Ordinal))
            {
                var limit = new RuleLimit { Item = rule.Item, Unit = rule.Unit, Kind = rule.Kind, Source = rule.Source };
                if (rule.MinValue is { } min)
                {
                    limit.Min = (double)min;
                }

                if (rule.MaxValue is { } max)
                {
                    limit.Max = (double)max;
                }

                info.Limits.Add(limit);
            }

            reply.Versions.Add(info);
        }

        return reply;
    }

    public override async Task<RejudgeSamplesReply> RejudgeSamples(RejudgeSamplesRequest request, ServerCallContext context)
    {
        if (request.FromDate.Length == 0 || request.ToDate.Length == 0 || string.IsNullOrWhiteSpace(request.Reason))
        {
            throw Invalid("from_date, to_date and reason are required: re-judging history is an explicit, recorded operation.");
        }

        var from = Date(request.FromDate, "from_date");
        var to = Date(request.ToDate, "to_date");
        // Re-judging rewrites verdicts in every county at once: only those who see the whole city may.
        KnownScopes.RequireCity(context.Caller());
        if (request.Species is not ("" or "cow" or "goat"))
        {
            throw Invalid("species must be cow, goat or empty.");
        }

        if (request.RuleVersion.Length > 0 && !(await rules.GetAsync(context.CancellationToken)).Versions.Any(v => v.Version == request.RuleVersion))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"No rule version '{TextLimits.Shorten(request.RuleVersion, 64)}' in the rule table."));
        }

        var summary = await quality.RejudgeAsync(from, to, request.Species.Length == 0 ? null : request.Species,
            request.RuleVersion.Length == 0 ? null : request.RuleVersion, request.Reason, context.CancellationToken);
        var reply = new RejudgeSamplesReply { Examined = summary.Examined, Changed = summary.Changed, VerdictsChanged = summary.VerdictsChanged };
        reply.ChangedSampleIds.AddRange(summary.ChangedSampleIds.Take(1000));
        return reply;
    }

    private async Task<Audit.Quality.AuditQuery> ToQueryAsync(AuditQuery request, ServerCallContext context)
    {
        var to = request.ToDate.Length == 0 ? ChinaTime.Today(clock) : Date(request.ToDate, "to_date");
        var from = request.FromDate.Length == 0 ? to.AddDays(1 - DefaultWindowDays) : Date(request.FromDate, "from_date");
        if (from > to || to.DayNumber - from.DayNumber > 3660)
        {
            throw Invalid("from_date must not be after to_date, and the window at most 10 years.");
        }

        var scope = request.Scope ?? new AuditScope();
        var kind = scope.Kind switch
        {
            AuditScopeKind.Unspecified or AuditScopeKind.City => "city",
            AuditScopeKind.County => "county",
            AuditScopeKind.Pasture => "pasture",
            AuditScopeKind.Plant => "plant",
            AuditScopeKind.Tanker => "tanker",
            _ => throw Invalid("scope.kind is not a known scope."),
        };
        if (kind != "city" && string.IsNullOrWhiteSpace(scope.Id))
        {
            throw Invalid($"scope.id is required for {scope.Kind}.");
        }

        if (request.SampleKind.Length > 0 && Array.IndexOf(SampleKinds.All, request.SampleKind) < 0)
        {
            throw Invalid("sample_kind must be empty or one of " + string.Join(", ", SampleKinds.All) + ".");
        }

        // A tanker crosses counties and owners: its record is for those who see the whole city.
        await scopes.RequireAsync(context.Caller(), scope.Kind switch
        {
            AuditScopeKind.County => ScopeKind.County,
            AuditScopeKind.Pasture => ScopeKind.Pasture,
            AuditScopeKind.Plant => ScopeKind.Plant,
            _ => ScopeKind.City,
        }, scope.Id, context.CancellationToken);

        return new Audit.Quality.AuditQuery
        {
            Scope = new Audit.Quality.AuditScope(kind, scope.Id ?? ""),
            From = from,
            To = to,
            SampleKind = request.SampleKind.Length == 0 ? null : request.SampleKind,
            Item = request.Item.Length == 0 ? null : request.Item,
        };
    }

    private static AuditQuery Echo(AuditQuery request, Audit.Quality.AuditQuery query) => new(request)
    {
        FromDate = query.From.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        ToDate = query.To.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
    };

    private static RateCounts Counts(Audit.Quality.RateCounts counts)
    {
        var reply = new RateCounts { Key = counts.Key, Passed = counts.Passed, Failed = counts.Failed, NotJudged = counts.NotJudged, Judged = counts.Judged, Suspect = counts.Suspect };
        if (counts.RatePercent is { } rate)
        {
            reply.RatePercent = rate;
        }

        return reply;
    }

    private static DateOnly Date(string text, string field) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? date
            : throw Invalid($"{field} must be YYYY-MM-DD (China Standard Time).");

    private static string Sanitise(string id) => new(id.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray());

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
