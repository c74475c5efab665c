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
    KpiCalculator kpis,
    Animals.Milk.AnimalMilkStore animalMilk) : ThroughputService.ThroughputServiceBase
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
        if (reply.Scope.Kind != ScopeKind.Plant)
        {
            // The scope was checked above (TotalsAsync); the per-animal split of its pastures' milk.
            var kept = await animalMilk.TotalsAsync(
                reply.Scope.Kind == ScopeKind.County ? scope.Id : null, reply.Scope.Kind == ScopeKind.Pasture ? scope.Id : null, date, context.CancellationToken);
            reply.WithdrawalT = kept.WithdrawalKg / 1000.0;
            reply.ColostrumT = kept.ColostrumKg / 1000.0;
            reply.SeparatedT = kept.SeparatedKg / 1000.0;
            reply.UnregisteredT = kept.UnregisteredKg / 1000.0;
            reply.SaleableT = Math.Max(0, reply.MilkedT - reply.WithdrawalT - reply.ColostrumT - reply.SeparatedT);
        }

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

    /// <summary>The longest range <see cref="GetThroughputHistory"/> answers, in days.</summary>
    public const int MaxHistoryDays = 400;

    public override async Task<ThroughputHistory> GetThroughputHistory(GetThroughputHistoryRequest request, ServerCallContext context)
    {
        var granularity = request.Granularity switch
        {
            ThroughputGranularity.Unspecified or ThroughputGranularity.Day => ThroughputGranularity.Day,
            ThroughputGranularity.Month => ThroughputGranularity.Month,
            _ => throw new RpcException(new Status(StatusCode.InvalidArgument, "granularity must be DAY or MONTH.")),
        };
        var to = ParseDate(request.ToDate, "to_date") ?? ChinaTime.Today(clock);
        var from = ParseDate(request.FromDate, "from_date")
            ?? (granularity == ThroughputGranularity.Day ? to.AddDays(-29) : new DateOnly(to.Year, to.Month, 1).AddMonths(-11));
        if (from > to)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "from_date must not be after to_date."));
        }

        if (to.DayNumber - from.DayNumber + 1 > MaxHistoryDays)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"from_date..to_date spans more than {MaxHistoryDays} days."));
        }

        var scope = request.Scope ?? new Scope { Kind = ScopeKind.City };
        var source = await SourceAsync(scope, context.Caller(), context.CancellationToken);
        // One grain call for the whole range: the scope's daily totals as the rollup (or plant) holds them.
        var days = await source.GetAllDaysAsync();
        var reply = new ThroughputHistory
        {
            Scope = new Scope { Kind = scope.Kind == ScopeKind.Unspecified ? ScopeKind.City : scope.Kind, Id = scope.Id },
            FromDate = Format(from),
            ToDate = Format(to),
            Granularity = granularity,
        };
        for (var start = from; start <= to;)
        {
            var end = granularity == ThroughputGranularity.Day ? start : new DateOnly(start.Year, start.Month, 1).AddMonths(1).AddDays(-1);
            if (end > to)
            {
                end = to;
            }

            reply.Periods.Add(Period(start, end, days));
            start = end.AddDays(1);
        }

        return reply;
    }

    /// <summary>A period's sums and its mean per reported day (a day with any intake, collection or milking).</summary>
    public static ThroughputPeriod Period(DateOnly start, DateOnly end, IReadOnlyDictionary<DateOnly, DailyTotals> days)
    {
        var sum = default(DailyTotals);
        var reported = 0;
        for (var day = start; day <= end; day = day.AddDays(1))
        {
            if (days.TryGetValue(day, out var totals) && totals.IntakeCount + totals.CollectionCount + totals.MilkingCount > 0)
            {
                sum += totals;
                reported++;
            }
        }

        double PerDay(double kg) => reported == 0 ? 0 : kg / 1000.0 / reported;
        return new ThroughputPeriod
        {
            PeriodStart = Format(start),
            PeriodEnd = Format(end),
            ProcessedT = sum.ProcessedKg / 1000.0,
            ProducedT = sum.CollectedKg / 1000.0,
            MilkedT = sum.MilkedKg / 1000.0,
            Days = end.DayNumber - start.DayNumber + 1,
            DaysReported = reported,
            ProcessedTPerDay = PerDay(sum.ProcessedKg),
            ProducedTPerDay = PerDay(sum.CollectedKg),
            MilkedTPerDay = PerDay(sum.MilkedKg),
        };
    }

    private static string Format(DateOnly date) => date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static DateOnly? ParseDate(string value, string field) =>
        value.Length == 0 ? null
        : DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) ? date
        : throw new RpcException(new Status(StatusCode.InvalidArgument, $"{field} must be YYYY-MM-DD (China Standard Time), or empty."));

    private async Task<DailyTotals> TotalsAsync(Scope scope, Identity.Caller caller, DateOnly date, CancellationToken cancellationToken) =>
        await (await SourceAsync(scope, caller, cancellationToken)).GetDayAsync(date);

    /// <summary>The grain holding a scope's daily totals, once the caller may see the scope.</summary>
    private async Task<IDailyTotalsSource> SourceAsync(Scope scope, Identity.Caller caller, CancellationToken cancellationToken)
    {
        if (scope.Kind is not (ScopeKind.Unspecified or ScopeKind.City or ScopeKind.County or ScopeKind.Pasture or ScopeKind.Plant))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "scope.kind must be CITY, COUNTY, PLANT or PASTURE."));
        }

        await scopes.RequireAsync(caller, scope.Kind, scope.Id, cancellationToken);
        return scope.Kind switch
        {
            ScopeKind.County => grains.GetGrain<IRollupGrain>(RollupKeys.County(scope.Id)),
            ScopeKind.Pasture => grains.GetGrain<IRollupGrain>(RollupKeys.Pasture(scope.Id)),
            ScopeKind.Plant => grains.GetGrain<IPlantGrain>(scope.Id),
            _ => grains.GetGrain<IRollupGrain>(RollupKeys.City),
        };
    }
}
