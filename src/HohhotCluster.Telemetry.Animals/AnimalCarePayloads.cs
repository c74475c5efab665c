using System.Text.Json;
using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Animals;

/// <summary>
/// The health and breeding events of an <c>animal_event</c> message (docs/mqtt-contract.md, "Animal kinds"; the wire
/// decisions of issue 17), pure: a vaccination is an <c>icarTreatmentEventResource</c> with a top-level
/// <c>programme</c>, an antibody test an <c>icarDiagnosisEventResource</c> with <c>programme</c> and
/// <c>antibodyTest</c>, and the ICAR reproduction resources (heat, insemination or embryo transfer, pregnancy check,
/// abortion). Members are ICAR ADE 1.3's; the platform's own (<c>programme</c>, <c>antibodyTest</c>,
/// <c>embryoOrigin</c>) sit at the message's top level. Every refusal names the member by its path.
/// </summary>
public static class AnimalCarePayloads
{
    public const string TreatmentResource = "icarTreatmentEventResource";
    public const string DiagnosisResource = "icarDiagnosisEventResource";
    public const string HeatResource = "icarReproHeatEventResource";
    public const string InseminationResource = "icarReproInseminationEventResource";
    public const string PregnancyCheckResource = "icarReproPregnancyCheckEventResource";
    public const string AbortionResource = "icarReproAbortionEventResource";

    public const int MaxProgramme = 32;
    public const int MaxText = 64;
    public const int MaxProgeny = 8;

    /// <summary>The resource types this class reads (a treatment without <c>programme</c> is not a vaccination, and not read here).</summary>
    public static readonly string[] ResourceTypes = [TreatmentResource + " (with programme)", DiagnosisResource, HeatResource, InseminationResource, PregnancyCheckResource, AbortionResource];

    /// <summary>The health or breeding event a resource is, or null when it is none of them (a registry event, or another component's).</summary>
    public static AnimalEventType? TypeOf(string resourceType, JsonElement body, JsonElement resource) => resourceType switch
    {
        TreatmentResource when Present(body, "programme") => AnimalEventType.Vaccination,
        DiagnosisResource => AnimalEventType.AntibodyTest,
        HeatResource => AnimalEventType.Heat,
        InseminationResource => resource.TryGetProperty("inseminationType", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == "Implantation"
            ? AnimalEventType.EmbryoTransfer
            : AnimalEventType.Insemination,
        PregnancyCheckResource => AnimalEventType.PregnancyCheck,
        AbortionResource => AnimalEventType.Abortion,
        _ => null,
    };

    public static AnimalEventRecord Parse(AnimalEventType type, JsonElement body, JsonElement resource, EarTag tag, string? sourceId)
    {
        const string r = "animalEvent.";
        ImmunisationFacts? immunisation = null;
        BreedingFacts? breeding = null;
        switch (type)
        {
            case AnimalEventType.Vaccination:
            {
                var procedure = Text(resource, r, "procedure") ?? throw Missing(r + "procedure");
                if (procedure != "Vaccination")
                {
                    throw Invalid(r + "procedure", "must be Vaccination on a treatment that names a programme (a treatment without programme is a medicine treatment)");
                }

                var medicine = Object(resource, r, "medicine") ?? throw Missing(r + "medicine");
                var name = Text(medicine, r + "medicine.", "name") ?? throw Missing(r + "medicine.name");
                IcarIdentifier? registered = Object(medicine, r + "medicine.", "registeredIdentifier") is { } id
                    ? Identifier(id, r + "medicine.registeredIdentifier.")
                    : null;
                decimal? quantity = null;
                string? unit = null;
                if (Object(resource, r, "dose") is { } dose)
                {
                    if (Member(dose, "doseQuantity") is { } q)
                    {
                        if (q.ValueKind != JsonValueKind.Number || !q.TryGetDecimal(out var value) || value <= 0 || value > 10_000)
                        {
                            throw Invalid(r + "dose.doseQuantity", "must be a number above 0 and at most 10,000");
                        }

                        quantity = value;
                    }

                    unit = Text(dose, r + "dose.", "doseUnit");
                }

                immunisation = new ImmunisationFacts
                {
                    Programme = Programme(body), MedicineName = name, MedicineId = registered, Procedure = procedure, DoseQuantity = quantity, DoseUnit = unit,
                };
                break;
            }

            case AnimalEventType.AntibodyTest:
            {
                var test = Object(body, "", "antibodyTest") ?? throw Missing("antibodyTest");
                var result = Choice(test, "antibodyTest.", "result", AnimalCareNames.AntibodyResults) ?? throw Missing("antibodyTest.result");
                immunisation = new ImmunisationFacts { Programme = Programme(body), Protective = result == "protective" };
                break;
            }

            case AnimalEventType.Heat:
                breeding = new BreedingFacts
                {
                    HeatDetectionMethod = Choice(resource, r, "heatDetectionMethod", AnimalCareNames.HeatDetectionMethods),
                    HeatCertainty = Choice(resource, r, "certainty", AnimalCareNames.HeatCertainties),
                };
                break;

            case AnimalEventType.Insemination:
            {
                var kind = Choice(resource, r, "inseminationType", AnimalCareNames.InseminationTypes) ?? throw Missing(r + "inseminationType");
                var straw = Object(resource, r, "straw");
                if (straw is not null && kind != "Insemination")
                {
                    throw Invalid(r + "straw", $"is for an artificial insemination (inseminationType Insemination), not {kind}");
                }

                if (Object(resource, r, "embryo") is not null)
                {
                    throw Invalid(r + "embryo", "is for an embryo transfer (inseminationType Implantation)");
                }

                var sexed = false;
                string? sexedGender = null;
                IcarIdentifier? sire = null;
                if (straw is { } s)
                {
                    sexed = Bool(s, r + "straw.", "isSexedSemen") ?? false;
                    sexedGender = Choice(s, r + "straw.", "sexedGender", ["Male", "Female"]);
                    if (sexedGender is not null && !sexed)
                    {
                        throw Invalid(r + "straw.sexedGender", "is for sexed semen only (isSexedSemen true)");
                    }

                    sire = FirstIdentifier(s, r + "straw.", "sireIdentifiers");
                }

                sire ??= FirstIdentifier(resource, r, "sireIdentifiers");
                breeding = new BreedingFacts { InseminationType = kind, SexedSemen = sexed, SexedGender = sexedGender, Sire = sire };
                break;
            }

            case AnimalEventType.EmbryoTransfer:
            {
                if (Object(resource, r, "straw") is not null)
                {
                    throw Invalid(r + "straw", "is for an insemination; an embryo transfer (Implantation) names its embryo");
                }

                var embryo = Object(resource, r, "embryo") ?? throw Missing(r + "embryo");
                var origin = Choice(body, "", "embryoOrigin", AnimalCareNames.EmbryoOrigins) ?? throw Missing("embryoOrigin");
                breeding = new BreedingFacts
                {
                    InseminationType = "Implantation",
                    EmbryoId = Object(embryo, r + "embryo.", "id") is { } id ? Identifier(id, r + "embryo.id.") : null,
                    CollectionCentre = Text(embryo, r + "embryo.", "collectionCentre"),
                    Donor = FirstIdentifier(embryo, r + "embryo.", "donorIdentifiers"),
                    Sire = FirstIdentifier(embryo, r + "embryo.", "sireIdentifiers"),
                    EmbryoOrigin = origin,
                };
                break;
            }

            case AnimalEventType.PregnancyCheck:
                breeding = new BreedingFacts
                {
                    PregnancyMethod = Choice(resource, r, "method", AnimalCareNames.PregnancyMethods),
                    PregnancyResult = Choice(resource, r, "result", AnimalCareNames.PregnancyResults) ?? throw Missing(r + "result"),
                };
                break;

            case AnimalEventType.Abortion:
                breeding = new BreedingFacts();
                break;

            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "not a health or breeding event");
        }

        return new AnimalEventRecord { Event = type, Animal = tag, SourceEventId = sourceId, Immunisation = immunisation, Breeding = breeding };
    }

    /// <summary>A calving's ICAR <c>progenyDetails[].gender</c> (at most <see cref="MaxProgeny"/>); none when absent.</summary>
    public static BreedingFacts? ParseProgeny(JsonElement resource)
    {
        const string path = "animalEvent.progenyDetails";
        if (Member(resource, "progenyDetails") is not { } progeny)
        {
            return null;
        }

        if (progeny.ValueKind != JsonValueKind.Array || progeny.GetArrayLength() > MaxProgeny)
        {
            throw Invalid(path, $"must be an array of at most {MaxProgeny} ICAR progeny details");
        }

        var genders = new List<string>();
        var i = 0;
        foreach (var calf in progeny.EnumerateArray())
        {
            if (calf.ValueKind != JsonValueKind.Object)
            {
                throw Invalid($"{path}[{i}]", "must be an object (icarProgenyDetailsResource)");
            }

            genders.Add(Choice(calf, $"{path}[{i}].", "gender", AnimalNames.Sexes) ?? throw Missing($"{path}[{i}].gender"));
            i++;
        }

        return new BreedingFacts { ProgenyGenders = genders };
    }

    private static string Programme(JsonElement body)
    {
        var programme = Text(body, "", "programme", MaxProgramme) ?? throw Missing("programme");
        foreach (var c in programme)
        {
            if (c is not ((>= 'a' and <= 'z') or (>= '0' and <= '9') or '_'))
            {
                throw Invalid("programme", "must be a programme id of lower-case letters, digits and '_' (e.g. fmd, brucellosis, ppr)");
            }
        }

        return programme;
    }

    private static bool Present(JsonElement element, string name) => Member(element, name) is not null;

    private static JsonElement? Member(JsonElement element, string name) =>
        element.ValueKind == JsonValueKind.Object && element.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static JsonElement? Object(JsonElement element, string path, string name)
    {
        if (Member(element, name) is not { } value)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.Object ? value : throw Invalid(path + name, "must be an object");
    }

    private static string? Text(JsonElement element, string path, string name, int maxLength = MaxText)
    {
        if (Member(element, name) is not { } value)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String || value.GetString() is not { Length: > 0 } text || text.Length > maxLength || text.Contains('\0'))
        {
            throw Invalid(path + name, $"must be a string of 1-{maxLength} characters");
        }

        return text;
    }

    private static bool? Bool(JsonElement element, string path, string name) => Member(element, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => throw Invalid(path + name, "must be true or false"),
    };

    private static string? Choice(JsonElement element, string path, string name, string[] choices)
    {
        var text = Text(element, path, name, 32);
        return text is null || Array.IndexOf(choices, text) >= 0 ? text : throw Invalid(path + name, "must be one of " + string.Join(", ", choices));
    }

    private static IcarIdentifier Identifier(JsonElement element, string path) =>
        new(Text(element, path, "scheme") ?? throw Missing(path + "scheme"), Text(element, path, "id") ?? throw Missing(path + "id"));

    private static IcarIdentifier? FirstIdentifier(JsonElement element, string path, string name)
    {
        if (Member(element, name) is not { } list)
        {
            return null;
        }

        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() is 0 or > 8)
        {
            throw Invalid(path + name, "must be an array of 1-8 ICAR identifiers {scheme, id}");
        }

        var first = list[0];
        if (first.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(path + name + "[0]", "must be an ICAR identifier {scheme, id}");
        }

        return Identifier(first, path + name + "[0].");
    }

    private static AnimalPayloadException Missing(string name) => new(new Rejection(QuarantineReasons.MissingField, name + " is required"));

    private static AnimalPayloadException Invalid(string name, string rule) => AnimalEventPayloads.Invalid(name, rule);
}
