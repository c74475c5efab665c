using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Animals;

/// <summary>
/// The body of an <c>animal_event</c> message (docs/mqtt-contract.md, "Animal kinds"), pure: an ICAR ADE animal event
/// resource under <c>animalEvent</c>, its type told by <c>resourceType</c>. Every refusal names the member by its path.
/// </summary>
public static class AnimalEventPayloads
{
    public const int MaxBreedLength = 32;

    /// <summary>The oldest birth date the registry takes: a cow or goat is not 40 years old.</summary>
    public const int MaxAgeYears = 40;

    public const int MaxParity = 30;

    public static bool TryParse(JsonElement body, DateTimeOffset eventTime, [NotNullWhen(true)] out AnimalEventRecord? record, out Rejection rejection)
    {
        try
        {
            record = Parse(body, eventTime);
            rejection = default;
            return true;
        }
        catch (AnimalPayloadException e)
        {
            record = null;
            rejection = e.Rejection;
            return false;
        }
    }

    private static AnimalEventRecord Parse(JsonElement body, DateTimeOffset eventTime)
    {
        var resource = Member(body, "animalEvent", "") ?? throw Missing("animalEvent");
        if (resource.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("animalEvent", "must be an object (an ICAR animal event resource)");
        }

        var resourceType = String(resource, "animalEvent.", "resourceType", 64) ?? throw Missing("animalEvent.resourceType");
        // Health and breeding events (AnimalCarePayloads.cs) are told apart by their resource type and top-level members.
        var care = AnimalCarePayloads.TypeOf(resourceType, body, resource);
        var index = Array.IndexOf(AnimalNames.ResourceTypes, resourceType);
        if (care is null && index <= 0)
        {
            throw Invalid("animalEvent.resourceType", "must be one of " + string.Join(", ", AnimalNames.ResourceTypes[1..].Concat(AnimalCarePayloads.ResourceTypes).Distinct()));
        }

        var type = care ?? (AnimalEventType)index;
        var animal = Member(resource, "animal", "animalEvent.") ?? throw Missing("animalEvent.animal");
        if (animal.ValueKind != JsonValueKind.Object)
        {
            throw Invalid("animalEvent.animal", "must be an ICAR identifier {scheme, id}");
        }

        var scheme = String(animal, "animalEvent.animal.", "scheme", 64) ?? throw Missing("animalEvent.animal.scheme");
        if (scheme != EarTag.Scheme)
        {
            throw Invalid("animalEvent.animal.scheme", $"must be {EarTag.Scheme} (the national ear tag)");
        }

        var id = String(animal, "animalEvent.animal.", "id", 32) ?? throw Missing("animalEvent.animal.id");
        if (!EarTag.TryParse(id, out var tag, out var problem))
        {
            throw Invalid("animalEvent.animal.id", problem);
        }

        var sourceId = String(resource, "animalEvent.", "id", BodyFields.MaxIdLength);
        var herdId = String(body, "", "herdId", RegistryIds.MaxLength);
        if (care is not null)
        {
            return AnimalCarePayloads.Parse(type, body, resource, tag, sourceId);
        }

        AnimalDetail? detail = null;
        string? reason = null;
        BreedingFacts? breeding = null;
        Milk.AnimalTreatment? treatment = null;
        switch (type)
        {
            case AnimalEventType.Calving:
                breeding = AnimalCarePayloads.ParseProgeny(resource);
                break;
            case AnimalEventType.Birth:
            case AnimalEventType.Arrival:
                if (herdId is null)
                {
                    throw Missing("herdId");
                }

                var detailElement = Member(resource, "animalDetail", "animalEvent.") ?? throw Missing("animalEvent.animalDetail");
                detail = ParseDetail(detailElement, "animalEvent.animalDetail.", tag, eventTime);
                if (type == AnimalEventType.Birth && detail.Parity != 0)
                {
                    throw Invalid("animalEvent.animalDetail.parity", "must be 0 (or absent) for a newborn");
                }

                if (type == AnimalEventType.Birth && String(resource, "animalEvent.", "registrationReason", 32) is { } registration && registration != "Born")
                {
                    throw Invalid("animalEvent.registrationReason", "must be Born on a birth event");
                }

                reason = Choice(resource, "animalEvent.", "arrivalReason", AnimalNames.ArrivalReasons);
                break;
            case AnimalEventType.Departure:
                reason = Choice(resource, "animalEvent.", "departureKind", AnimalNames.DepartureKinds);
                break;
            case AnimalEventType.Death:
                reason = Choice(resource, "animalEvent.", "deathReason", AnimalNames.DeathReasons);
                break;
            case AnimalEventType.HerdMove:
                herdId = String(resource, "animalEvent.", "animalSetId", RegistryIds.MaxLength) ?? throw Missing("animalEvent.animalSetId");
                break;
            case AnimalEventType.Treatment:
            case AnimalEventType.Withdrawal:
                treatment = Milk.AnimalTreatmentPayloads.Parse(resource, type, eventTime);
                break;
        }

        return new AnimalEventRecord { Event = type, Animal = tag, SourceEventId = sourceId, HerdId = herdId, Detail = detail, Reason = reason, Breeding = breeding, Treatment = treatment };
    }

    /// <summary>ICAR <c>animalDetail</c> (an <c>icarAnimalCoreResource</c>): specie, gender, birth date, breed, lactation status, parity.</summary>
    internal static AnimalDetail ParseDetail(JsonElement detail, string path, EarTag tag, DateTimeOffset eventTime)
    {
        if (detail.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(path.TrimEnd('.'), "must be an object (an ICAR animal core resource)");
        }

        if (Member(detail, "identifier", path) is { } identifier)
        {
            if (identifier.ValueKind != JsonValueKind.Object || String(identifier, path + "identifier.", "id", 32) != tag.Value)
            {
                throw Invalid(path + "identifier.id", $"must be the event's animal.id '{tag.Value}' when given");
            }
        }

        var specie = String(detail, path, "specie", 16) ?? throw Missing(path + "specie");
        var species = specie switch
        {
            "Cattle" => AnimalSpecies.Cow,
            "Goat" => AnimalSpecies.Goat,
            _ => throw Invalid(path + "specie", "must be Cattle or Goat (the species the registry's pastures keep)"),
        };
        var sex = Choice(detail, path, "gender", AnimalNames.Sexes) ?? throw Missing(path + "gender");
        DateOnly? birthDate = null;
        if (String(detail, path, "birthDate", 40) is { } born)
        {
            // ICAR's icarDateTimeType; a date alone is taken too (the farm's systems often keep only the day).
            if (DateOnly.TryParseExact(born, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
            {
                birthDate = date;
            }
            else if (born.Contains('T', StringComparison.Ordinal)
                     && (born.EndsWith('Z') || born.AsSpan(born.IndexOf('T', StringComparison.Ordinal)).IndexOfAny('+', '-') >= 0)
                     && DateTimeOffset.TryParse(born, CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
            {
                birthDate = Contracts.ChinaTime.LocalDate(time);
            }
            else
            {
                throw Invalid(path + "birthDate", "must be YYYY-MM-DD or RFC 3339 with an offset");
            }

            if (birthDate < Contracts.ChinaTime.LocalDate(eventTime).AddYears(-MaxAgeYears))
            {
                throw Invalid(path + "birthDate", $"must be within {MaxAgeYears} years of the event");
            }
        }

        string? breed = null;
        if (Member(detail, "primaryBreed", path) is { } primaryBreed)
        {
            if (primaryBreed.ValueKind != JsonValueKind.Object)
            {
                throw Invalid(path + "primaryBreed", "must be an ICAR breed identifier {scheme, id}");
            }

            breed = String(primaryBreed, path + "primaryBreed.", "id", MaxBreedLength) ?? throw Missing(path + "primaryBreed.id");
        }

        var parity = 0;
        if (Member(detail, "parity", path) is { } parityElement)
        {
            if (parityElement.ValueKind != JsonValueKind.Number || !parityElement.TryGetInt32(out parity) || parity < 0 || parity > MaxParity)
            {
                throw Invalid(path + "parity", $"must be an integer 0-{MaxParity} (calvings so far)");
            }
        }

        var lactation = Choice(detail, path, "lactationStatus", AnimalNames.LactationStatuses);
        if (lactation is not null && sex != "Female")
        {
            throw Invalid(path + "lactationStatus", $"is for a female; the animal's gender is {sex}");
        }

        if (AnimalNames.IsInMilk(lactation) && parity == 0)
        {
            throw Invalid(path + "parity", $"must be at least 1 for an animal in milk (lactationStatus {lactation})");
        }

        return new AnimalDetail { Species = species, Sex = sex, BirthDate = birthDate, Breed = breed, Parity = parity, LactationStatus = lactation };
    }

    private static JsonElement? Member(JsonElement element, string name, string path)
    {
        _ = path;
        return element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;
    }

    private static string? String(JsonElement element, string path, string name, int maxLength)
    {
        if (Member(element, name, path) is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 } text || text.Length > maxLength)
        {
            throw Invalid(path + name, $"must be a string of 1-{maxLength} characters");
        }

        return text;
    }

    private static string? Choice(JsonElement element, string path, string name, string[] choices)
    {
        var text = String(element, path, name, 32);
        return text is null || Array.IndexOf(choices, text) >= 0 ? text : throw Invalid(path + name, "must be one of " + string.Join(", ", choices));
    }

    private static AnimalPayloadException Missing(string name) => new(new Rejection(QuarantineReasons.MissingField, name + " is required"));

    internal static AnimalPayloadException Invalid(string name, string rule) => new(new Rejection(QuarantineReasons.InvalidField, name + " " + rule));
}

/// <summary>A member of an animal event or import row that breaks the contract: the rejection names it.</summary>
public sealed class AnimalPayloadException(Rejection rejection) : Exception(rejection.Detail)
{
    public Rejection Rejection { get; } = rejection;
}
