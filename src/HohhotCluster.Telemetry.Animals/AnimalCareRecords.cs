namespace HohhotCluster.Telemetry.Animals;

/// <summary>The names of the health and breeding events (docs/animals.md, "Health per animal", "Breeding").</summary>
public static class AnimalCareNames
{
    public const string Vaccination = "vaccination";
    public const string AntibodyTest = "antibody_test";
    public const string Heat = "heat";
    public const string Insemination = "insemination";
    public const string EmbryoTransfer = "embryo_transfer";
    public const string PregnancyCheck = "pregnancy_check";
    public const string Abortion = "abortion";
    public const string Calving = "calving";

    /// <summary>ICAR <c>icarReproInseminationType</c>; Implantation is an embryo transfer.</summary>
    public static readonly string[] InseminationTypes = ["NaturalService", "RunWithBull", "Insemination", "Implantation"];

    /// <summary>ICAR <c>icarReproPregnancyMethodType</c>.</summary>
    public static readonly string[] PregnancyMethods = ["Echography", "Palpation", "Blood", "Milk", "Visual", "Other"];

    /// <summary>ICAR <c>icarReproPregnancyResultType</c>; Pregnant and Multiple are a conception.</summary>
    public static readonly string[] PregnancyResults = ["Empty", "Pregnant", "Multiple", "Unknown"];

    /// <summary>ICAR <c>icarReproHeatDetectionMethodType</c>.</summary>
    public static readonly string[] HeatDetectionMethods = ["Chemical", "Visual", "Pedometer", "Other"];

    /// <summary>ICAR <c>icarReproHeatCertaintyType</c>.</summary>
    public static readonly string[] HeatCertainties = ["InHeat", "Suspect"];

    /// <summary>The platform's <c>embryoOrigin</c> (ICAR has none): the plan counts imported embryos (进口胚胎).</summary>
    public static readonly string[] EmbryoOrigins = ["imported", "domestic"];

    /// <summary>The platform's <c>antibodyTest.result</c>: at or above the programme's protective titre, or not.</summary>
    public static readonly string[] AntibodyResults = ["protective", "not_protective"];

    public static string Name(AnimalEventType type) => type switch
    {
        AnimalEventType.Vaccination => Vaccination,
        AnimalEventType.AntibodyTest => AntibodyTest,
        AnimalEventType.Heat => Heat,
        AnimalEventType.Insemination => Insemination,
        AnimalEventType.EmbryoTransfer => EmbryoTransfer,
        AnimalEventType.PregnancyCheck => PregnancyCheck,
        AnimalEventType.Abortion => Abortion,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "not a health or breeding event"),
    };

    /// <summary>True for the events the health store keeps (vaccination, antibody test).</summary>
    public static bool IsImmunisation(AnimalEventType type) => type is AnimalEventType.Vaccination or AnimalEventType.AntibodyTest;

    /// <summary>True for the reproduction events the breeding store keeps (a calving is the registry's, with its progeny kept here too).</summary>
    public static bool IsReproduction(AnimalEventType type) =>
        type is AnimalEventType.Heat or AnimalEventType.Insemination or AnimalEventType.EmbryoTransfer or AnimalEventType.PregnancyCheck or AnimalEventType.Abortion;

    /// <summary>True for every event that changes no registry state and is kept by the health or breeding store.</summary>
    public static bool IsCareEvent(AnimalEventType type) => IsImmunisation(type) || IsReproduction(type);

    /// <summary>Events only a female has: heat, insemination, embryo transfer (as the recipient), pregnancy check, abortion.</summary>
    public static bool NeedsFemale(AnimalEventType type) => IsReproduction(type);
}

/// <summary>An ICAR identifier (<c>scheme</c>, <c>id</c>), e.g. a sire's herd-book number or a vaccine's registration.</summary>
public sealed record IcarIdentifier(string Scheme, string Id)
{
    public override string ToString() => Scheme + ":" + Id;
}

/// <summary>What a vaccination or antibody test says beyond the animal (docs/mqtt-contract.md, "Animal kinds").</summary>
public sealed record ImmunisationFacts
{
    /// <summary>The compulsory-immunisation programme (<c>fmd</c>, <c>brucellosis</c>, <c>ppr</c>): Audit's programme table.</summary>
    public required string Programme { get; init; }

    /// <summary>Vaccination: the vaccine (ICAR <c>medicine.name</c>).</summary>
    public string? MedicineName { get; init; }

    /// <summary>Vaccination: the vaccine's registration (ICAR <c>medicine.registeredIdentifier</c>), when given.</summary>
    public IcarIdentifier? MedicineId { get; init; }

    /// <summary>Vaccination: ICAR <c>procedure</c> (<c>Vaccination</c>).</summary>
    public string? Procedure { get; init; }

    /// <summary>Vaccination: ICAR <c>dose</c> quantity and unit, when given.</summary>
    public decimal? DoseQuantity { get; init; }
    public string? DoseUnit { get; init; }

    /// <summary>Antibody test: true when the titre was protective.</summary>
    public bool? Protective { get; init; }
}

/// <summary>What a reproduction event (or a calving's progeny) says beyond the animal.</summary>
public sealed record BreedingFacts
{
    /// <summary>Insemination, embryo transfer: ICAR <c>inseminationType</c>.</summary>
    public string? InseminationType { get; init; }

    /// <summary>Insemination: the straw's <c>isSexedSemen</c> (false when not given).</summary>
    public bool SexedSemen { get; init; }

    /// <summary>Insemination: the straw's <c>sexedGender</c> (Male or Female) for sexed semen.</summary>
    public string? SexedGender { get; init; }

    /// <summary>Insemination: the bull (the straw's or the event's first <c>sireIdentifiers</c>); embryo transfer: the embryo's sire.</summary>
    public IcarIdentifier? Sire { get; init; }

    /// <summary>Embryo transfer: the embryo's id, its collection centre, its donor dam.</summary>
    public IcarIdentifier? EmbryoId { get; init; }
    public string? CollectionCentre { get; init; }
    public IcarIdentifier? Donor { get; init; }

    /// <summary>Embryo transfer: the platform's <c>embryoOrigin</c>, <c>imported</c> or <c>domestic</c>.</summary>
    public string? EmbryoOrigin { get; init; }

    /// <summary>Pregnancy check: ICAR <c>method</c> and <c>result</c>.</summary>
    public string? PregnancyMethod { get; init; }
    public string? PregnancyResult { get; init; }

    /// <summary>Heat: ICAR <c>heatDetectionMethod</c> and <c>certainty</c>.</summary>
    public string? HeatDetectionMethod { get; init; }
    public string? HeatCertainty { get; init; }

    /// <summary>Calving: ICAR <c>progenyDetails[].gender</c>, in order.</summary>
    public IReadOnlyList<string> ProgenyGenders { get; init; } = [];
}
