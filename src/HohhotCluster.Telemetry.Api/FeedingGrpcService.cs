using System.Globalization;
using Grpc.Core;
using HohhotCluster.Telemetry.Audit.Feeding;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Protos.V1;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Api;

/// <summary>TMR feeding of a herd or pasture per local day and a pasture's feed stocks, for the callers who see the pasture.</summary>
public sealed class FeedingGrpcService(FeedingRollups rollups, RegistryStore registry, KnownScopes scopes, TimeProvider clock)
    : FeedingService.FeedingServiceBase
{
    public override async Task<DailyFeeding> GetDailyFeeding(GetDailyFeedingRequest request, ServerCallContext context)
    {
        var date = Date(request.LocalDate, clock);
        string pastureId;
        string? herdId = null;
        if (request.HerdId.Length > 0)
        {
            if (request.PastureId.Length > 0)
            {
                throw new RpcException(new Status(StatusCode.InvalidArgument, "Give pasture_id or herd_id, not both."));
            }

            // A herd is seen through its pasture; an unknown herd is answered as a pasture the caller may not see would be.
            var herd = await registry.FindHerdAsync(request.HerdId, context.CancellationToken);
            if (herd is null || !await scopes.SeesAsync(context.Caller(), ScopeKind.Pasture, herd.PastureId, context.CancellationToken))
            {
                throw new RpcException(new Status(StatusCode.NotFound, $"No herd '{TextLimits.Shorten(request.HerdId, 64)}' is registered that you may see."));
            }

            (pastureId, herdId) = (herd.PastureId, herd.Id);
        }
        else
        {
            await scopes.RequireAsync(context.Caller(), ScopeKind.Pasture, request.PastureId, context.CancellationToken);
            pastureId = request.PastureId;
        }

        var (pasture, herds) = await rollups.DailyAsync(pastureId, date, herdId, context.CancellationToken);
        var reply = new DailyFeeding
        {
            PastureId = pastureId,
            LocalDate = date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            Pasture = Figures(herdId is null ? pasture : herds.FirstOrDefault() ?? pasture with { HerdId = herdId }),
        };
        reply.Herds.AddRange(herds.Select(Figures));
        return reply;
    }

    public override async Task<FeedStocks> ListFeedStocks(ListFeedStocksRequest request, ServerCallContext context)
    {
        await scopes.RequireAsync(context.Caller(), ScopeKind.Pasture, request.PastureId, context.CancellationToken);
        var date = Date(request.LocalDate, clock);
        var reply = new FeedStocks { PastureId = request.PastureId, LocalDate = date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) };
        foreach (var (stock, use, days) in await rollups.StocksAsync(request.PastureId, date, context.CancellationToken))
        {
            var item = new FeedStock
            {
                StorageId = stock.StorageId,
                StorageName = stock.StorageName ?? "",
                StorageType = stock.StorageType,
                FeedId = stock.FeedId,
                QuantityKg = stock.QuantityKg,
                Origin = stock.Origin ?? "",
                MeasuredAt = new DateTimeOffset(DateTime.SpecifyKind(stock.EventTime, DateTimeKind.Utc)).ToOffset(ChinaTime.Offset)
                    .ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture),
                DailyUseKg = use,
            };
            if (stock.CapacityKg is { } capacity)
            {
                item.CapacityKg = capacity;
            }

            if (stock.DryMatterPercent is { } dm)
            {
                item.DryMatterPercent = dm;
            }

            if (days is { } d)
            {
                item.DaysOfUse = d;
            }

            reply.Stocks.Add(item);
        }

        return reply;
    }

    private static DateOnly Date(string text, TimeProvider clock) =>
        text.Length == 0 ? ChinaTime.Today(clock)
        : DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) ? date
        : throw new RpcException(new Status(StatusCode.InvalidArgument, "local_date must be YYYY-MM-DD."));

    private static FeedingFigures Figures(FeedingDay day)
    {
        var f = new FeedingFigures
        {
            HerdId = day.HerdId,
            Loads = day.Loads,
            RecipeKg = day.RecipeKg,
            LoadedKg = day.LoadedKg,
            LoadedDmKg = day.LoadedDryMatterKg,
            Deliveries = day.Deliveries,
            DeliveredKg = day.DeliveredKg,
            DeliveredDmKg = day.DeliveredDryMatterKg,
            DeliveriesWithoutLoad = day.DeliveriesWithoutLoad,
            Refusals = day.Refusals,
            RefusedKg = day.RefusedKg,
            RefusedDmKg = day.RefusedDryMatterKg,
            IntakeDmKg = day.IntakeDryMatterKg,
            CowsInMilk = day.CowsInMilk,
            MilkKg = day.MilkKg,
            UnpricedKg = day.UnpricedKg,
        };
        if (day.LoadingAccuracyPercent is { } loadingAccuracyPercent)
        {
            f.LoadingAccuracyPercent = loadingAccuracyPercent;
        }

        if (day.RefusalsPercent is { } refusalsPercent)
        {
            f.RefusalsPercent = refusalsPercent;
        }

        if (day.DryMatterIntakePerCowKg is { } dryMatterIntakePerCowKg)
        {
            f.DmiPerCowKg = dryMatterIntakePerCowKg;
        }

        if (day.FeedEfficiency is { } feedEfficiency)
        {
            f.FeedEfficiency = feedEfficiency;
        }

        if (day.CostCny is { } costCny)
        {
            f.CostCny = costCny;
        }

        f.RationsFed.AddRange(day.RationsFed);
        return f;
    }
}
