using System.Globalization;
using Grpc.Core;
using HohhotCluster.Telemetry.Animals;
using HohhotCluster.Telemetry.Animals.Milk;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Identity;
using HohhotCluster.Telemetry.Protos.V1;
using HohhotCluster.Telemetry.Storage;
using AnimalMilkDay = HohhotCluster.Telemetry.Protos.V1.AnimalMilkDay;
using HerdMilkDay = HohhotCluster.Telemetry.Protos.V1.HerdMilkDay;

namespace HohhotCluster.Telemetry.Api;

/// <summary>
/// Per-animal milk over gRPC (animal_milk.proto): an animal's days and lactation curve for whoever sees its (current or
/// last) pasture, a pasture's or herd's days with its cows in milk for whoever sees the pasture. Access as
/// <see cref="AnimalGrpcService"/>'s reads; another pasture's animal is NOT_FOUND, worded as an unknown one.
/// </summary>
public sealed class AnimalMilkGrpcService(
    AnimalMilkStore milk, BulkTankLotMilk lots, AnimalRegistryStore animals, RegistryStore registry, KnownScopes scopes, TimeProvider clock)
    : AnimalMilkService.AnimalMilkServiceBase
{
    private const int DefaultLotLimit = 1000;
    private const int MaxLotLimit = 10_000;
    private const int MaxLotRangeDays = 92;
    private const int DefaultDays = 30;
    private const int MaxHerdDays = 92;

    public override async Task<AnimalMilkReply> GetAnimalMilk(GetAnimalMilkRequest request, ServerCallContext context)
    {
        var animal = await SeenAnimalAsync(request.EarTag, context);
        var to = Day(request.ToDate, "to_date") ?? ChinaTime.Today(clock);
        var from = Day(request.FromDate, "from_date") ?? to.AddDays(-DefaultDays);
        CheckRange(from, to, AnimalMilkStore.MaxDays);
        var reply = new AnimalMilkReply { EarTag = animal.EarTag };
        foreach (var d in await milk.DaysAsync(animal.EarTag, from, to, context.CancellationToken))
        {
            reply.Days.Add(new AnimalMilkDay
            {
                LocalDate = Text(d.Day), PastureId = d.PastureId, HerdId = d.HerdId, Kg = d.Kg, Milkings = d.Milkings, SaleableKg = d.SaleableKg,
                WithdrawalKg = d.WithdrawalKg, ColostrumKg = d.ColostrumKg, SeparatedKg = d.SeparatedKg, UnregisteredKg = d.UnregisteredKg,
            });
        }

        return reply;
    }

    public override async Task<LactationCurveReply> GetLactationCurve(GetLactationCurveRequest request, ServerCallContext context)
    {
        var animal = await SeenAnimalAsync(request.EarTag, context);
        if (request.Parity < 0)
        {
            throw Invalid("parity must be 0 (the current lactation) or the calving's parity (1 or more).");
        }

        // The registry's calvings (each event keeps the parity after it), oldest first.
        var calvings = (await animals.HistoryAsync(animal.EarTag, context.CancellationToken))
            .Where(e => e.Event == "calving").Select(e => (e.Parity, Day: ChinaTime.LocalDate(e.EventTime))).ToList();
        var index = request.Parity == 0 ? calvings.Count - 1 : calvings.FindIndex(c => c.Parity == request.Parity);
        if (index < 0)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition,
                request.Parity == 0
                    ? $"No calving of '{animal.EarTag}' is recorded, so it has no lactation to draw."
                    : $"No calving of '{animal.EarTag}' with parity {request.Parity} is recorded."));
        }

        var (parity, start) = calvings[index];
        var end = index + 1 < calvings.Count ? calvings[index + 1].Day.AddDays(-1) : ChinaTime.Today(clock);
        if (end.DayNumber - start.DayNumber >= AnimalMilkStore.MaxDays)
        {
            end = start.AddDays(AnimalMilkStore.MaxDays - 1);
        }

        var reply = new LactationCurveReply { EarTag = animal.EarTag, Parity = parity, CalvingDate = Text(start), EndDate = Text(end) };
        foreach (var d in await milk.DaysAsync(animal.EarTag, start, end, context.CancellationToken))
        {
            reply.Points.Add(new LactationPoint { DaysInMilk = AnimalMilkRules.DaysInMilk(start, d.Day) ?? 0, LocalDate = Text(d.Day), Kg = d.Kg });
            reply.TotalKg += d.Kg;
        }

        return reply;
    }

    public override async Task<HerdMilkReply> GetHerdMilk(GetHerdMilkRequest request, ServerCallContext context)
    {
        var (pastureId, herdId) = await PastureOrHerd.ResolveAsync(request.PastureId, request.HerdId, registry, scopes, context);

        var to = Day(request.ToDate, "to_date") ?? ChinaTime.Today(clock);
        var from = Day(request.FromDate, "from_date") ?? to;
        CheckRange(from, to, MaxHerdDays);
        var reply = new HerdMilkReply { PastureId = pastureId, HerdId = herdId ?? "" };
        foreach (var d in await milk.HerdDaysAsync(pastureId, herdId, from, to, context.CancellationToken))
        {
            reply.Days.Add(new HerdMilkDay
            {
                LocalDate = Text(d.Day), Kg = d.Kg, AnimalsMilked = d.AnimalsMilked, AnimalsInMilk = d.AnimalsInMilk, KgPerAnimalInMilk = d.KgPerAnimalInMilk,
            });
        }

        return reply;
    }

    public override async Task<ListUnfitLotsReply> ListUnfitLots(ListUnfitLotsRequest request, ServerCallContext context)
    {
        var kind = request.Scope?.Kind ?? ScopeKind.Unspecified;
        var id = request.Scope?.Id ?? "";
        if (kind == ScopeKind.Plant)
        {
            throw Invalid("scope: a plant's lots are traced back from the plant's own lots (TraceabilityService.TraceBack); ask for the city, a county or a pasture.");
        }

        await scopes.RequireAsync(context.Caller(), kind, id, context.CancellationToken);
        var from = RequestValues.OptionalTime(request.From, "from") ?? throw Invalid("from is required (RFC 3339).");
        var to = RequestValues.OptionalTime(request.To, "to") ?? throw Invalid("to is required (RFC 3339).");
        if (to <= from || to - from > TimeSpan.FromDays(MaxLotRangeDays))
        {
            throw Invalid($"to must be after from and at most {MaxLotRangeDays} days after it.");
        }

        var limit = request.Limit == 0 ? DefaultLotLimit : request.Limit is > 0 and <= MaxLotLimit ? request.Limit
            : throw Invalid($"limit must be 1-{MaxLotLimit} (0: {DefaultLotLimit}).");
        var found = await lots.UnfitLotsAsync(kind == ScopeKind.County ? [id] : null, kind == ScopeKind.Pasture ? id : null, from, to, limit + 1,
            context.CancellationToken);
        var reply = new ListUnfitLotsReply { Truncated = found.Count > limit };
        foreach (var lot in found.Take(limit))
        {
            reply.Lots.Add(new UnfitLot
            {
                LotId = lot.LotId, PastureId = lot.PastureId, CountyId = lot.CountyId, TankId = lot.TankId,
                WindowFrom = RequestValues.UtcText(lot.WindowFrom), CollectedAt = RequestValues.UtcText(lot.CollectedAt),
                UnderWithdrawalEarTags = { lot.UnderWithdrawalEarTags }, WithdrawalMilkings = lot.WithdrawalMilkings,
                ColostrumMilkings = lot.ColostrumMilkings, UnfitMilkings = lot.UnfitMilkings,
            });
        }

        return reply;
    }

    private async Task<AnimalState> SeenAnimalAsync(string earTag, ServerCallContext context)
    {
        if (!EarTag.TryParse(earTag, out var tag, out var problem))
        {
            throw Invalid($"ear_tag {problem}.");
        }

        var animal = await animals.GetAsync(tag.Value, context.CancellationToken);
        if (animal is null || !await scopes.SeesAsync(context.Caller(), ScopeKind.Pasture, animal.PastureId, context.CancellationToken))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"No animal '{tag.Value}' is registered that you may see."));
        }

        return animal;
    }

    private static void CheckRange(DateOnly from, DateOnly to, int maxDays)
    {
        if (to < from)
        {
            throw Invalid("from_date must not be after to_date.");
        }

        if (to.DayNumber - from.DayNumber >= maxDays)
        {
            throw Invalid($"The range may hold at most {maxDays} days.");
        }
    }

    private static DateOnly? Day(string value, string field) =>
        value.Length == 0 ? null
        : DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) ? day
        : throw Invalid($"{field} must be YYYY-MM-DD.");

    private static string Text(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
