using System.Globalization;
using Grpc.Core;
using HohhotCluster.Telemetry.Audit;
using HohhotCluster.Telemetry.Audit.Kpi;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Protos.V1;
using Microsoft.Extensions.Options;
using KpiCoverage = HohhotCluster.Telemetry.Protos.V1.KpiCoverage;
using KpiInput = HohhotCluster.Telemetry.Protos.V1.KpiInput;
using KpiSubject = HohhotCluster.Telemetry.Protos.V1.KpiSubject;

namespace HohhotCluster.Telemetry.Api;

/// <summary>Plan-vs-actual for the city (Hohhot's counties), a county or a pasture: every target of targets.md, measured, with formula, inputs and coverage.</summary>
public sealed class KpiGrpcService(KpiCalculator calculator, KnownScopes scopes, IOptions<AuditOptions> options, TimeProvider clock)
    : KpiService.KpiServiceBase
{
    public override async Task<KpiReport> GetKpis(GetKpisRequest request, ServerCallContext context)
    {
        var date = request.LocalDate.Length == 0 ? ChinaTime.Today(clock) : Date(request.LocalDate, "local_date");
        var to = request.ToDate.Length == 0 ? date : Date(request.ToDate, "to_date");
        var from = request.FromDate.Length == 0 ? to.AddDays(1 - options.Value.KpiWindowDays) : Date(request.FromDate, "from_date");
        if (from > to)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "from_date must not be after to_date."));
        }

        if (request.CountyId.Length > 0 && request.PastureId.Length > 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "Give county_id or pasture_id, not both."));
        }

        var (kind, id, scopeKind) = request switch
        {
            { PastureId.Length: > 0 } => ("pasture", request.PastureId, ScopeKind.Pasture),
            { CountyId.Length: > 0 } => ("county", request.CountyId, ScopeKind.County),
            _ => ("city", "", ScopeKind.City),
        };
        await scopes.RequireAsync(context.Caller(), scopeKind, id, context.CancellationToken);

        var values = await calculator.MeasureAsync(new KpiRequest
        {
            ScopeKind = kind,
            ScopeId = id,
            Date = date,
            From = from,
            To = to,
        }, context.CancellationToken);
        var reply = new KpiReport
        {
            Scope = kind == "city" ? "city" : kind + ":" + id,
            LocalDate = Format(date),
            FromDate = Format(from),
            ToDate = Format(to),
        };
        foreach (var v in values)
        {
            var measure = new KpiMeasure
            {
                Key = v.Key,
                Description = v.Description,
                Unit = v.Unit,
                Programme = v.Programme ?? "",
                Formula = v.Formula,
                Note = v.Note,
                Estimate = v.Estimate,
                EstimateBasis = v.EstimateBasis,
            };
            if (v.Coverage is { } coverage)
            {
                measure.Coverage = new KpiCoverage
                {
                    Of = coverage.Of,
                    InScope = coverage.InScope,
                    Reported = coverage.Reported,
                    SilentCount = coverage.SilentCount,
                };
                measure.Coverage.Silent.AddRange(coverage.Silent);
            }

            measure.Subjects.AddRange(v.Subjects.Select(s => new KpiSubject { Id = s.Id, Qualified = s.Qualified, Reason = s.Reason }));
            if (v.Actual is { } actual)
            {
                measure.Actual = actual;
            }

            if (v.Target2021 is { } t2021)
            {
                measure.Target2021 = t2021;
            }

            if (v.Target2023 is { } t2023)
            {
                measure.Target2023 = t2023;
            }

            if (v.Met2021 is { } met2021)
            {
                measure.Met2021 = met2021;
            }

            if (v.Met2023 is { } met2023)
            {
                measure.Met2023 = met2023;
            }

            measure.Inputs.AddRange(v.Inputs.Select(i => new KpiInput { Name = i.Name, Value = i.Value, Unit = i.Unit }));
            reply.Kpis.Add(measure);
        }

        return reply;
    }

    private static string Format(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static DateOnly Date(string text, string field) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? date
            : throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field} must be YYYY-MM-DD (China Standard Time)."));
}
