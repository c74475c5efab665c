using System.Globalization;
using System.Text;
using Grpc.Core;
using HohhotCluster.Telemetry.Animals;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.Api;

/// <summary>
/// Health per animal over gRPC (protos/hohhot/telemetry/v1/animal_health.proto): an animal's immunisations with its
/// validity per programme, and a pasture's animals without valid immunity, for whoever sees the pasture (a county's
/// regulator its counties', a city-wide regulator all, a pasture's operator its own). Another pasture's animal is
/// NOT_FOUND, worded as an unknown one.
/// </summary>
public sealed class AnimalHealthGrpcService(AnimalRegistryStore registry, AnimalHealthStore health, PastureDirectory pastures,
    IImmunisationProgrammes programmes, KnownScopes scopes, TimeProvider clock) : AnimalHealthService.AnimalHealthServiceBase
{
    private const int DefaultPageSize = 100;
    private const int MaxPageSize = 1_000;

    public override async Task<ImmunisationRecord> ListImmunisations(ListImmunisationsRequest request, ServerCallContext context)
    {
        if (!EarTag.TryParse(request.EarTag, out var tag, out var problem))
        {
            throw Invalid($"ear_tag {problem}.");
        }

        var day = Day(request.LocalDate);
        ImmunisationProgramme? only = request.Programme.Length == 0 ? null : Programme(request.Programme);
        var animal = await registry.GetAsync(tag.Value, context.CancellationToken);
        if (animal is null || !await scopes.SeesAsync(context.Caller(), ScopeKind.Pasture, animal.PastureId, context.CancellationToken))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"No animal '{tag.Value}' is registered that you may see."));
        }

        var species = AnimalNames.Name(animal.Species);
        var reply = new ImmunisationRecord { EarTag = tag.Value, Species = species, PastureId = animal.PastureId, LocalDate = Iso(day) };
        foreach (var e in await health.ListAsync(tag.Value, only?.Id, context.CancellationToken))
        {
            var message = new Immunisation
            {
                Event = e.Event, Programme = e.Programme, EventTime = Time(e.EventTime), LocalDate = Iso(e.LocalDate), PastureId = e.PastureId,
                MedicineName = e.MedicineName ?? "", MedicineScheme = e.MedicineScheme ?? "", MedicineId = e.MedicineId ?? "", Procedure = e.Procedure ?? "",
                DoseUnit = e.DoseUnit ?? "", SourceEventId = e.SourceEventId ?? "", Source = e.Source,
            };
            if (e.DoseQuantity is { } dose)
            {
                message.DoseQuantity = (double)dose;
            }

            if (e.Protective is { } protective)
            {
                message.Protective = protective;
            }

            reply.Immunisations.Add(message);
        }

        foreach (var programme in only is null ? programmes.All.Where(p => p.Applies(species)) : [only])
        {
            var immunity = (await health.ImmunityAsync([tag.Value], programme.Id, day, day, context.CancellationToken)).GetValueOrDefault(tag.Value);
            var (byVaccination, byTest) = immunity is null ? (false, false) : AnimalImmunityRule.Valid(immunity, programme, day);
            var newest = new[] { immunity?.LastVaccination, immunity?.LastProtectiveTest }.Max();
            reply.Immunity.Add(new ProgrammeImmunity
            {
                Programme = programme.Id, ProtectionDays = programme.ProtectionDays, Valid = byVaccination || byTest,
                ValidUntil = newest is { } n ? Iso(n.AddDays(programme.ProtectionDays - 1)) : "",
                Basis = byVaccination ? "vaccination" : byTest ? "antibody_test" : "",
            });
        }

        return reply;
    }

    public override async Task<UnprotectedAnimalPage> ListWithoutValidImmunity(ListWithoutValidImmunityRequest request, ServerCallContext context)
    {
        if (request.PastureId.Length == 0)
        {
            throw Invalid("pasture_id is required.");
        }

        if (request.Programme.Length == 0)
        {
            throw Invalid("programme is required: " + string.Join(", ", programmes.All.Select(p => p.Id)) + ".");
        }

        var programme = Programme(request.Programme);
        var day = Day(request.LocalDate);
        var size = request.PageSize switch
        {
            0 => DefaultPageSize,
            < 0 or > MaxPageSize => throw Invalid($"page_size must be 1-{MaxPageSize} (0 for {DefaultPageSize})."),
            _ => request.PageSize,
        };
        string after;
        try
        {
            after = request.PageToken.Length == 0 ? "" : Encoding.UTF8.GetString(Convert.FromBase64String(request.PageToken));
        }
        catch (FormatException)
        {
            throw Invalid("page_token is not one this service gave out.");
        }

        await scopes.RequireAsync(context.Caller(), ScopeKind.Pasture, request.PastureId, context.CancellationToken);
        var pasture = await pastures.FindAsync(request.PastureId, context.CancellationToken)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"No pasture '{TextLimits.Shorten(request.PastureId, 64)}' is registered."));
        if (!programme.Applies(AnimalNames.Name(pasture.Species)))
        {
            throw Invalid($"programme '{programme.Id}' is for {string.Join(" and ", programme.Species)}s; pasture '{pasture.PastureId}' keeps {AnimalNames.Name(pasture.Species)}s.");
        }

        var reply = new UnprotectedAnimalPage { PastureId = pasture.PastureId, Programme = programme.Id, LocalDate = Iso(day), ProtectionDays = programme.ProtectionDays };
        var dayEnd = ChinaTime.StartOfDay(day.AddDays(1));
        var more = true;
        while (reply.Animals.Count <= size && more)
        {
            // Read the stock in chunks and keep those without valid immunity until the page (and one more) is full.
            var alive = await registry.AliveAtAsync([pasture.PastureId], dayEnd, after, MaxPageSize, context.CancellationToken);
            more = alive.Count == MaxPageSize;
            if (alive.Count == 0)
            {
                break;
            }

            var immunity = await health.ImmunityAsync(alive.Select(a => a.EarTag).ToList(), programme.Id, day, day, context.CancellationToken);
            foreach (var animal in alive)
            {
                after = animal.EarTag;
                var i = immunity.GetValueOrDefault(animal.EarTag);
                if (i is not null && AnimalImmunityRule.Valid(i, programme, day) is (true, _) or (_, true))
                {
                    continue;
                }

                reply.Animals.Add(new UnprotectedAnimal
                {
                    EarTag = animal.EarTag, LastVaccination = i?.LastVaccination is { } v ? Iso(v) : "",
                    LastProtectiveTest = i?.LastProtectiveTest is { } t ? Iso(t) : "",
                });
                if (reply.Animals.Count > size)
                {
                    break;
                }
            }
        }

        if (reply.Animals.Count > size)
        {
            reply.Animals.RemoveAt(size);
            reply.NextPageToken = Convert.ToBase64String(Encoding.UTF8.GetBytes(reply.Animals[size - 1].EarTag));
        }

        return reply;
    }

    private ImmunisationProgramme Programme(string id) =>
        programmes.Find(id) ?? throw Invalid($"programme '{TextLimits.Shorten(id, 32)}' is not one of the platform's: {string.Join(", ", programmes.All.Select(p => p.Id))}.");

    private DateOnly Day(string text) => text.Length == 0
        ? ChinaTime.Today(clock)
        : DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day) ? day : throw Invalid("local_date must be YYYY-MM-DD.");

    private static string Iso(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Time(DateTimeOffset t) => t.ToOffset(ChinaTime.Offset).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
