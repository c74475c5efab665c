using System.Globalization;
using Grpc.Core;
using HohhotCluster.Telemetry.Audit.Kpi;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Protos.V1;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Api;

/// <summary>
/// Daily fresh-milk throughput of a scope, today (live) or any past day; the city's answer against the plan's goals.
/// The city is for callers who see the city; a county, pasture or plant only for those who see it (<see cref="KnownScopes"/>).
/// The goals are Hohhot's, so only the city is compared with them, and with the KPI's measures (Hohhot's plants'
/// accepted receipts, Hohhot's cow pastures' collections), not with the rollup, which counts every intake and the
/// milk-source bases and goat milk.
/// </summary>
public sealed class ThroughputGrpcService(
    IGrainFactory grains,
    KnownScopes scopes,
    TimeProvider clock,
    IOptions<PlanTargetOptions> targets,
    KpiCalculator kpis) : ThroughputService.ThroughputServiceBase
{
    public override async Task<DailyThroughput> GetDailyThroughput(GetDailyThroughputRequest request, ServerCallContext context)
    {
        var today = ChinaTime.Today(clock);
        var date = today;
        if (request.LocalDate.Length > 0 &&
            !DateOnly.TryParseExact(request.LocalDate, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out date))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "local_date must be YYYY-MM-DD (China Standard Time), or empty for today."));
        }

        var scope = request.Scope ?? new Scope { Kind = ScopeKind.City };
        var totals = await TotalsAsync(scope, context.Caller(), date, context.CancellationToken);
        var reply = new DailyThroughput
        {
            LocalDate = date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            Scope = new Scope { Kind = scope.Kind == ScopeKind.Unspecified ? ScopeKind.City : scope.Kind, Id = scope.Id },
            Live = date == today,
            ProcessedT = totals.ProcessedKg / 1000.0,
            ProducedT = totals.CollectedKg / 1000.0,
            MilkedT = totals.MilkedKg / 1000.0,
            IntakeCount = totals.IntakeCount,
            CollectionCount = totals.CollectionCount,
            MilkingCount = totals.MilkingCount,
        };
        if (reply.Scope.Kind != ScopeKind.City || targets.Value.Daily.Count == 0)
        {
            return reply;
        }

        var (processed, produced) = await kpis.CityDailyGoalsAsync(date, context.CancellationToken);
        foreach (var target in targets.Value.Daily)
        {
            var measure = target.Measure == TargetMeasure.Processed ? processed : produced;
            var actual = measure.Actual ?? 0;
            reply.Goals.Add(new GoalProgress
            {
                Key = target.Key,
                Description = target.Description,
                Year = target.Year,
                TargetT = target.TonnesPerDay,
                ActualT = actual,
                Percent = actual / target.TonnesPerDay * 100.0,
                Basis = measure.Formula,
            });
        }

        return reply;
    }

    private async Task<DailyTotals> TotalsAsync(Scope scope, Identity.Caller caller, DateOnly date, CancellationToken cancellationToken)
    {
        if (scope.Kind is not (ScopeKind.Unspecified or ScopeKind.City or ScopeKind.County or ScopeKind.Pasture or ScopeKind.Plant))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "scope.kind must be CITY, COUNTY, PLANT or PASTURE."));
        }

        await scopes.RequireAsync(caller, scope.Kind, scope.Id, cancellationToken);
        return scope.Kind switch
        {
            ScopeKind.County => await grains.GetGrain<IRollupGrain>(RollupKeys.County(scope.Id)).GetDayAsync(date),
            ScopeKind.Pasture => await grains.GetGrain<IRollupGrain>(RollupKeys.Pasture(scope.Id)).GetDayAsync(date),
            ScopeKind.Plant => await grains.GetGrain<IPlantGrain>(scope.Id).GetDayAsync(date),
            _ => await grains.GetGrain<IRollupGrain>(RollupKeys.City).GetDayAsync(date),
        };
    }
}
