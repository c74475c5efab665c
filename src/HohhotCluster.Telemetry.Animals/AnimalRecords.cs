namespace HohhotCluster.Telemetry.Animals;

/// <summary>The registry's species, as a pasture's (<c>cow</c>, <c>goat</c>); ICAR's <c>Cattle</c> and <c>Goat</c>.</summary>
public enum AnimalSpecies
{
    Cow,
    Goat,
}

/// <summary>Whether the animal is on a farm of the registry (ICAR <c>icarAnimalStatusType</c>: Alive, OffFarm, Dead).</summary>
public enum AnimalStatus
{
    Alive,

    /// <summary>It departed (sold, slaughtered, exported, moved off): ICAR <c>OffFarm</c>.</summary>
    OffFarm,

    Dead,
}

/// <summary>What happened to an animal: the ICAR resource each comes as, or a bulk import's registration.</summary>
public enum AnimalEventType
{
    /// <summary>Registered by bulk import (ICAR <c>icarRegistrationReasonType</c> <c>Registered</c>).</summary>
    Registration,

    /// <summary><c>icarMovementBirthEventResource</c>.</summary>
    Birth,

    /// <summary><c>icarMovementArrivalEventResource</c>.</summary>
    Arrival,

    /// <summary><c>icarMovementDepartureEventResource</c>.</summary>
    Departure,

    /// <summary><c>icarMovementDeathEventResource</c>.</summary>
    Death,

    /// <summary><c>icarAnimalSetJoinEventResource</c> with the herd as the animal set.</summary>
    HerdMove,

    /// <summary><c>icarMilkingDryOffEventResource</c>.</summary>
    DryOff,

    /// <summary><c>icarReproParturitionEventResource</c>: parity + 1, a lactation starts.</summary>
    Calving,

    /// <summary><c>icarTreatmentEventResource</c> without a top-level <c>programme</c>: a medicine, its milk withdrawal (helper C, issue 17).</summary>
    Treatment,

    /// <summary><c>icarWithdrawalEventResource</c>: a product's withdrawal end (<c>Milk</c> keeps the milk out of the tank).</summary>
    Withdrawal,

    // Health and breeding (AnimalCareRecords.cs): from 20 on, so other additions above do not renumber them.

    /// <summary><c>icarTreatmentEventResource</c> with a top-level <c>programme</c>: a compulsory-immunisation vaccination.</summary>
    Vaccination = 20,

    /// <summary><c>icarDiagnosisEventResource</c> with a top-level <c>programme</c> and <c>antibodyTest</c>.</summary>
    AntibodyTest,

    /// <summary><c>icarReproHeatEventResource</c>.</summary>
    Heat,

    /// <summary><c>icarReproInseminationEventResource</c>, <c>inseminationType</c> Insemination, NaturalService or RunWithBull.</summary>
    Insemination,

    /// <summary><c>icarReproInseminationEventResource</c>, <c>inseminationType</c> Implantation: an embryo transfer.</summary>
    EmbryoTransfer,

    /// <summary><c>icarReproPregnancyCheckEventResource</c>.</summary>
    PregnancyCheck,

    /// <summary><c>icarReproAbortionEventResource</c>.</summary>
    Abortion,
}

public static class AnimalNames
{
    public static readonly string[] EventNames = ["registration", "birth", "arrival", "departure", "death", "herd_move", "dry_off", "calving", "treatment", "withdrawal"];

    /// <summary>The ICAR resource type of each event type, in <see cref="AnimalEventType"/> order (registration has none).</summary>
    public static readonly string[] ResourceTypes =
    [
        "", "icarMovementBirthEventResource", "icarMovementArrivalEventResource", "icarMovementDepartureEventResource",
        "icarMovementDeathEventResource", "icarAnimalSetJoinEventResource", "icarMilkingDryOffEventResource", "icarReproParturitionEventResource",
        "icarTreatmentEventResource", "icarWithdrawalEventResource",
    ];

    /// <summary>ICAR <c>icarAnimalGenderType</c>.</summary>
    public static readonly string[] Sexes = ["Female", "FemaleNeuter", "Male", "MaleCryptorchid", "MaleNeuter", "Unknown"];

    /// <summary>ICAR <c>icarAnimalLactationStatusType</c>; Fresh, Early and Lactating are in milk.</summary>
    public static readonly string[] LactationStatuses = ["Dry", "Lead", "Fresh", "Early", "Lactating"];

    /// <summary>ICAR <c>icarDepartureKindType</c>.</summary>
    public static readonly string[] DepartureKinds =
        ["InternalTransfer", "Export", "Slaughter", "Newborn", "StudService", "StudServiceReturn", "Agistment", "AgistmentReturn", "Show", "ShowReturn", "Sale", "SaleReturn", "Other"];

    /// <summary>ICAR <c>icarArrivalReasonType</c>.</summary>
    public static readonly string[] ArrivalReasons =
        ["Purchase", "InternalTransfer", "Imported", "StudService", "StudServiceReturn", "Slaughter", "Agistment", "AgistmentReturn", "Show", "ShowReturn", "Sale", "SaleReturn", "Other"];

    /// <summary>ICAR <c>icarDeathReasonType</c>.</summary>
    public static readonly string[] DeathReasons =
        ["Missing", "Parturition", "Disease", "Accident", "Consumption", "Culled", "Other", "Unknown", "Age", "Mastitis", "Production", "LegOrClaw", "MilkingAbility", "Nutrition", "Fertility"];

    public static string Name(AnimalEventType type) => (int)type < EventNames.Length ? EventNames[(int)type] : AnimalCareNames.Name(type);

    public static string Name(AnimalSpecies species) => species == AnimalSpecies.Cow ? "cow" : "goat";

    public static string Name(AnimalStatus status) => status switch
    {
        AnimalStatus.Alive => "alive",
        AnimalStatus.OffFarm => "off_farm",
        _ => "dead",
    };

    public static AnimalStatus ParseStatus(string name) => name switch
    {
        "alive" => AnimalStatus.Alive,
        "off_farm" => AnimalStatus.OffFarm,
        "dead" => AnimalStatus.Dead,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not an animal status"),
    };

    public static bool TryParseSpecies(string name, out AnimalSpecies species)
    {
        species = name == "goat" ? AnimalSpecies.Goat : AnimalSpecies.Cow;
        return name is "cow" or "goat";
    }

    public static bool IsInMilk(string? lactationStatus) => lactationStatus is "Fresh" or "Early" or "Lactating";
}

/// <summary>
/// What the registry holds of one animal now (ICAR <c>icarAnimalCoreResource</c>'s members the platform keeps, plus
/// parity and where it is).
/// </summary>
public sealed record AnimalState
{
    public required string EarTag { get; init; }
    public required AnimalSpecies Species { get; init; }
    public string? Breed { get; init; }
    public required string Sex { get; init; }
    public DateOnly? BirthDate { get; init; }
    public int Parity { get; init; }
    public string? LactationStatus { get; init; }
    public DateOnly? LactationStart { get; init; }
    public required AnimalStatus Status { get; init; }
    public required string PastureId { get; init; }
    public required string CountyId { get; init; }
    public string? HerdId { get; init; }
    public required DateTimeOffset RegisteredAt { get; init; }
    public required DateTimeOffset LastEventTime { get; init; }
}

/// <summary>An animal as an event or an import describes it on arrival, birth or registration (ICAR <c>animalDetail</c>).</summary>
public sealed record AnimalDetail
{
    public required AnimalSpecies Species { get; init; }
    public required string Sex { get; init; }
    public DateOnly? BirthDate { get; init; }
    public string? Breed { get; init; }

    /// <summary>Calvings so far (a platform member beside ICAR's: ADE keeps parity on lactations); 0 when not given.</summary>
    public int Parity { get; init; }

    public string? LactationStatus { get; init; }
}

/// <summary>One animal event as parsed from an <c>animal_event</c> message (or built from an import row).</summary>
public sealed record AnimalEventRecord
{
    public required AnimalEventType Event { get; init; }
    public required EarTag Animal { get; init; }

    /// <summary>ICAR <c>id</c>: the event's id in the farm's system, kept for reference.</summary>
    public string? SourceEventId { get; init; }

    /// <summary>Birth, arrival, registration: the herd it joins; herd move: the herd it moves to.</summary>
    public string? HerdId { get; init; }

    /// <summary>Birth, arrival, registration: the animal.</summary>
    public AnimalDetail? Detail { get; init; }

    /// <summary>The ICAR reason or kind (arrivalReason, departureKind, deathReason), when given.</summary>
    public string? Reason { get; init; }

    /// <summary>A vaccination or antibody test: what the health records keep (AnimalCareRecords.cs).</summary>
    public ImmunisationFacts? Immunisation { get; init; }

    /// <summary>A reproduction event, or a calving's progeny: what the breeding records keep (AnimalCareRecords.cs).</summary>
    public BreedingFacts? Breeding { get; init; }

    /// <summary>Treatment, withdrawal: the medicine and the milk withdrawal end.</summary>
    public Milk.AnimalTreatment? Treatment { get; init; }
}

/// <summary>A pasture as the animal rules need it.</summary>
public sealed record PastureFacts(string PastureId, string CountyId, AnimalSpecies Species);

/// <summary>One row of an animal's history.</summary>
public sealed record AnimalHistoryEntry
{
    public required string Event { get; init; }
    public required DateTimeOffset EventTime { get; init; }
    public required string PastureId { get; init; }
    public string? HerdId { get; init; }
    public required string Status { get; init; }
    public required int Parity { get; init; }
    public string? LactationStatus { get; init; }
    public string? Reason { get; init; }
    public string? SourceEventId { get; init; }

    /// <summary><c>device/boot/seq</c> of the message, or <c>import:{id}</c>.</summary>
    public required string Source { get; init; }
}
