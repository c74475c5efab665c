using System.Globalization;
using System.Text;
using Grpc.Core;
using HohhotCluster.Telemetry.Animals;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Identity;
using HohhotCluster.Telemetry.Protos.V1;
using HohhotCluster.Telemetry.Storage;
using AnimalStatus = HohhotCluster.Telemetry.Animals.AnimalStatus;
using AnimalStatusMessage = HohhotCluster.Telemetry.Protos.V1.AnimalStatus;
using OrganisationKind = HohhotCluster.Telemetry.Identity.OrganisationKind;

namespace HohhotCluster.Telemetry.Api;

/// <summary>
/// The animal registry over gRPC: bulk import by a pasture's operator (its own pastures; the platform operator any),
/// an animal with its history and a pasture's or herd's animals for whoever sees the pasture (a county's regulator its
/// counties', a city-wide regulator all). Another pasture's animal is NOT_FOUND, worded as an unknown one.
/// </summary>
public sealed class AnimalGrpcService(AnimalRegistryStore store, PastureDirectory pastures, RegistryStore registry, KnownScopes scopes)
    : AnimalService.AnimalServiceBase
{
    private const int DefaultPageSize = 100;

    public override async Task<ImportAnimalsReply> ImportAnimals(ImportAnimalsRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        if (request.PastureId.Length == 0)
        {
            throw Invalid("pasture_id is required.");
        }

        // Only the pasture's own operator (or the platform operator) registers its animals; a pasture it does not own
        // is NOT_FOUND, as a missing one.
        var pasture = await pastures.FindAsync(request.PastureId, context.CancellationToken);
        if (pasture is null || !(caller.Kind is OrganisationKind.PlatformOperator or OrganisationKind.PastureOperator && caller.OwnsPasture(request.PastureId)))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"No pasture '{TextLimits.Shorten(request.PastureId, 64)}' is registered that you may change."));
        }

        if (request.ImportId.Length is 0 or > 128)
        {
            throw Invalid("import_id must be 1-128 characters (the caller's id for this import, so a retry is harmless).");
        }

        if (request.Animals.Count is 0 or > AnimalRegistryStore.MaxImportRows)
        {
            throw Invalid($"animals must hold 1-{AnimalRegistryStore.MaxImportRows} rows.");
        }

        DateTimeOffset? asOf = null;
        if (request.AsOf.Length > 0)
        {
            var now = DateTimeOffset.UtcNow;
            if (!DateTimeOffset.TryParseExact(request.AsOf, ["yyyy-MM-dd'T'HH:mm:ssK", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK"], System.Globalization.CultureInfo.InvariantCulture,
                    System.Globalization.DateTimeStyles.None, out var parsed) || !request.AsOf.Contains('T', StringComparison.Ordinal))
            {
                throw Invalid("as_of must be RFC 3339 with an offset, e.g. 2026-11-29T00:00:00+08:00.");
            }

            if (parsed > now.AddMinutes(5) || parsed < now.AddDays(-400))
            {
                throw Invalid("as_of must not be after the call's time, nor more than 400 days before it.");
            }

            asOf = parsed;
        }

        var rows = new List<AnimalEventRecord>(request.Animals.Count);
        var tags = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < request.Animals.Count; i++)
        {
            var row = request.Animals[i];
            var record = ToRecord(row, $"animals[{i}].");
            if (!tags.Add(record.Animal.Value))
            {
                throw Invalid($"animals[{i}].ear_tag '{record.Animal.Value}' appears twice in the import.");
            }

            if (!await pastures.IsHerdOnPastureAsync(record.HerdId!, pasture.PastureId, context.CancellationToken))
            {
                throw Invalid($"animals[{i}].herd_id '{TextLimits.Shorten(record.HerdId!, 64)}' is not a herd of pasture '{pasture.PastureId}'.");
            }

            rows.Add(record);
        }

        try
        {
            var result = await store.ImportAsync(request.ImportId, pasture, rows, asOf, context.CancellationToken);
            return new ImportAnimalsReply { Registered = result.Registered, Unchanged = result.Unchanged };
        }
        catch (AnimalImportException refused)
        {
            var r = refused.Rejection;
            // A row that breaks a field rule is the caller's input; one the registry's state refuses is a precondition.
            var code = r.Reason is Kinds.QuarantineReasons.InvalidField or Kinds.QuarantineReasons.SpeciesMismatch
                ? StatusCode.InvalidArgument
                : StatusCode.FailedPrecondition;
            throw new RpcException(new Status(code, $"animals[{refused.Index}] ({rows[refused.Index].Animal.Value}): {r.Reason}: {r.Detail}. Nothing was imported."));
        }
    }

    public override async Task<AnimalWithHistory> GetAnimal(GetAnimalRequest request, ServerCallContext context)
    {
        if (!EarTag.TryParse(request.EarTag, out var tag, out var problem))
        {
            throw Invalid($"ear_tag {problem}.");
        }

        var animal = await store.GetAsync(tag.Value, context.CancellationToken);
        if (animal is null || !await scopes.SeesAsync(context.Caller(), ScopeKind.Pasture, animal.PastureId, context.CancellationToken))
        {
            throw new RpcException(new Status(StatusCode.NotFound, $"No animal '{tag.Value}' is registered that you may see."));
        }

        var reply = new AnimalWithHistory { Animal = ToMessage(animal) };
        foreach (var e in await store.HistoryAsync(tag.Value, context.CancellationToken))
        {
            reply.History.Add(new AnimalHistoryEvent
            {
                Event = e.Event, EventTime = Time(e.EventTime), PastureId = e.PastureId, HerdId = e.HerdId ?? "",
                Status = StatusOf(AnimalNames.ParseStatus(e.Status)), Parity = e.Parity, LactationStatus = e.LactationStatus ?? "",
                Reason = e.Reason ?? "", SourceEventId = e.SourceEventId ?? "", Source = e.Source,
            });
        }

        return reply;
    }

    public override async Task<AnimalPage> ListAnimals(ListAnimalsRequest request, ServerCallContext context)
    {
        var (pastureId, herdId) = await PastureOrHerd.ResolveAsync(request.PastureId, request.HerdId, registry, scopes, context);

        var size = request.PageSize switch
        {
            0 => DefaultPageSize,
            < 0 or > AnimalRegistryStore.MaxPageSize => throw Invalid($"page_size must be 1-{AnimalRegistryStore.MaxPageSize} (0 for {DefaultPageSize})."),
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

        var rows = await store.ListAsync(pastureId, herdId, request.IncludeGone, after, size + 1, context.CancellationToken);
        var reply = new AnimalPage();
        for (var i = 0; i < Math.Min(size, rows.Count); i++)
        {
            reply.Animals.Add(ToMessage(rows[i]));
        }

        if (rows.Count > size)
        {
            reply.NextPageToken = Convert.ToBase64String(Encoding.UTF8.GetBytes(rows[size - 1].EarTag));
        }

        return reply;
    }

    /// <summary>An import row as the registration event the rules judge; a field that breaks the contract is INVALID_ARGUMENT naming it.</summary>
    internal static AnimalEventRecord ToRecord(AnimalImport row, string path)
    {
        if (!EarTag.TryParse(row.EarTag, out var tag, out var problem))
        {
            throw Invalid($"{path}ear_tag {problem}.");
        }

        var species = row.Specie switch
        {
            "Cattle" => AnimalSpecies.Cow,
            "Goat" => AnimalSpecies.Goat,
            _ => throw Invalid($"{path}specie must be Cattle or Goat."),
        };
        if (Array.IndexOf(AnimalNames.Sexes, row.Gender) < 0)
        {
            throw Invalid($"{path}gender must be one of {string.Join(", ", AnimalNames.Sexes)}.");
        }

        DateOnly? born = null;
        if (row.BirthDate.Length > 0)
        {
            born = DateOnly.TryParseExact(row.BirthDate, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
                ? date
                : throw Invalid($"{path}birth_date must be YYYY-MM-DD.");
        }

        if (row.Breed.Length > AnimalEventPayloads.MaxBreedLength)
        {
            throw Invalid($"{path}breed must be at most {AnimalEventPayloads.MaxBreedLength} characters.");
        }

        if (row.Parity is < 0 or > AnimalEventPayloads.MaxParity)
        {
            throw Invalid($"{path}parity must be 0-{AnimalEventPayloads.MaxParity}.");
        }

        string? lactation = null;
        if (row.LactationStatus.Length > 0)
        {
            if (Array.IndexOf(AnimalNames.LactationStatuses, row.LactationStatus) < 0)
            {
                throw Invalid($"{path}lactation_status must be one of {string.Join(", ", AnimalNames.LactationStatuses)} (or empty).");
            }

            if (row.Gender != "Female")
            {
                throw Invalid($"{path}lactation_status is for a female; gender is {row.Gender}.");
            }

            if (AnimalNames.IsInMilk(row.LactationStatus) && row.Parity == 0)
            {
                throw Invalid($"{path}parity must be at least 1 for an animal in milk.");
            }

            lactation = row.LactationStatus;
        }

        if (row.HerdId.Length is 0 or > RegistryIds.MaxLength)
        {
            throw Invalid($"{path}herd_id must be a herd id of 1-{RegistryIds.MaxLength} characters.");
        }

        return new AnimalEventRecord
        {
            Event = AnimalEventType.Registration, Animal = tag, HerdId = row.HerdId,
            Detail = new AnimalDetail
            {
                Species = species, Sex = row.Gender, BirthDate = born, Breed = row.Breed.Length == 0 ? null : row.Breed, Parity = row.Parity,
                LactationStatus = lactation,
            },
        };
    }

    private static Animal ToMessage(AnimalState a) => new()
    {
        EarTag = a.EarTag, Species = AnimalNames.Name(a.Species), Breed = a.Breed ?? "", Sex = a.Sex,
        BirthDate = a.BirthDate?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "", Parity = a.Parity,
        LactationStatus = a.LactationStatus ?? "", LactationStart = a.LactationStart?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) ?? "",
        Status = StatusOf(a.Status), PastureId = a.PastureId, CountyId = a.CountyId, HerdId = a.HerdId ?? "",
        RegisteredAt = Time(a.RegisteredAt), LastEventTime = Time(a.LastEventTime),
    };

    private static AnimalStatusMessage StatusOf(AnimalStatus status) => status switch
    {
        AnimalStatus.Alive => AnimalStatusMessage.Alive,
        AnimalStatus.OffFarm => AnimalStatusMessage.OffFarm,
        _ => AnimalStatusMessage.Dead,
    };

    private static string Time(DateTimeOffset t) => t.ToOffset(ChinaTime.Offset).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
