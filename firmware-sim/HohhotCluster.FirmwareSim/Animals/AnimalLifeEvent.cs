using HohhotCluster.FirmwareSim.Fleet;

namespace HohhotCluster.FirmwareSim.Animals;

/// <summary>An animal event the farm's herd-management system reports (docs/mqtt-contract.md "Animal kinds", /tmp wire shapes).</summary>
internal enum AnimalEventType : byte
{
    Birth,
    Arrival,
    Departure,
    Death,
    HerdMove,
    DryOff,
    Calving,
    Treatment,
    Vaccination,
    AntibodyTest,
    Heat,
    Insemination,
    EmbryoTransfer,
    PregnancyCheck,
    Abortion,
}

internal static class AnimalEventTypes
{
    public static IReadOnlyList<AnimalEventType> All { get; } = Enum.GetValues<AnimalEventType>();

    /// <summary>The movement and lactation event types (--animal-events platform-main): the registry without treatments, health or breeding.</summary>
    public static IReadOnlyList<AnimalEventType> PlatformMain { get; } =
        [AnimalEventType.Birth, AnimalEventType.Arrival, AnimalEventType.Departure, AnimalEventType.Death, AnimalEventType.HerdMove, AnimalEventType.DryOff, AnimalEventType.Calving];

#pragma warning disable CS8524 // every named value is listed
    public static string Name(AnimalEventType type) => type switch
    {
        AnimalEventType.Birth => "birth",
        AnimalEventType.Arrival => "arrival",
        AnimalEventType.Departure => "departure",
        AnimalEventType.Death => "death",
        AnimalEventType.HerdMove => "herd_move",
        AnimalEventType.DryOff => "dry_off",
        AnimalEventType.Calving => "calving",
        AnimalEventType.Treatment => "treatment",
        AnimalEventType.Vaccination => "vaccination",
        AnimalEventType.AntibodyTest => "antibody_test",
        AnimalEventType.Heat => "heat",
        AnimalEventType.Insemination => "insemination",
        AnimalEventType.EmbryoTransfer => "embryo_transfer",
        AnimalEventType.PregnancyCheck => "pregnancy_check",
        AnimalEventType.Abortion => "abortion",
    };

    /// <summary>The ICAR ADE 1.3 resource that carries it.</summary>
    public static string ResourceType(AnimalEventType type) => type switch
    {
        AnimalEventType.Birth => "icarMovementBirthEventResource",
        AnimalEventType.Arrival => "icarMovementArrivalEventResource",
        AnimalEventType.Departure => "icarMovementDepartureEventResource",
        AnimalEventType.Death => "icarMovementDeathEventResource",
        AnimalEventType.HerdMove => "icarAnimalSetJoinEventResource",
        AnimalEventType.DryOff => "icarMilkingDryOffEventResource",
        AnimalEventType.Calving => "icarReproParturitionEventResource",
        AnimalEventType.Treatment or AnimalEventType.Vaccination => "icarTreatmentEventResource",
        AnimalEventType.AntibodyTest => "icarDiagnosisEventResource",
        AnimalEventType.Heat => "icarReproHeatEventResource",
        AnimalEventType.Insemination or AnimalEventType.EmbryoTransfer => "icarReproInseminationEventResource",
        AnimalEventType.PregnancyCheck => "icarReproPregnancyCheckEventResource",
        AnimalEventType.Abortion => "icarReproAbortionEventResource",
    };
#pragma warning restore CS8524

    public static bool TryParse(string name, out AnimalEventType type)
    {
        foreach (var candidate in All)
        {
            if (Name(candidate) == name)
            {
                type = candidate;
                return true;
            }
        }
        type = default;
        return false;
    }

    /// <summary>"all", "platform-main" or a comma-separated list of names.</summary>
    public static HashSet<AnimalEventType> ParseSelection(IEnumerable<string> items)
    {
        var selected = new HashSet<AnimalEventType>();
        foreach (var item in items)
        {
            switch (item)
            {
                case "all":
                    selected.UnionWith(All);
                    break;
                case "platform-main":
                    selected.UnionWith(PlatformMain);
                    break;
                default:
                    if (!TryParse(item, out var type))
                    {
                        throw new InvalidDataException(
                            $"animal event type '{item}' is not one of all, platform-main, {string.Join(", ", All.Select(Name))}");
                    }
                    selected.Add(type);
                    break;
            }
        }
        return selected;
    }
}

/// <summary>One life event of one animal, with what its payload and the ledger need.</summary>
internal sealed class AnimalLifeEvent
{
    public required AnimalEventType Type { get; init; }
    public required string EarTag { get; init; }
    public required Pasture Pasture { get; init; }
    /// <summary>The herd it joins (birth, arrival, herd move) or is in.</summary>
    public string? HerdId { get; init; }
    /// <summary>Birth, arrival: the animal.</summary>
    public bool Female { get; init; } = true;
    public DateOnly? BirthDate { get; init; }
    public int Parity { get; init; }
    /// <summary>ICAR reason: departureKind, deathReason, arrivalReason.</summary>
    public string? Reason { get; init; }
    /// <summary>Treatment: the medicine; vaccination: the vaccine.</summary>
    public string? Medicine { get; init; }
    public string? MedicineId { get; init; }
    public string? Procedure { get; init; }
    public double DoseMl { get; init; }
    /// <summary>Treatment: milk is withheld until then (Unix ms).</summary>
    public long? MilkWithdrawalEndMs { get; init; }
    /// <summary>Vaccination, antibody test: fmd, brucellosis, ppr.</summary>
    public string? Programme { get; init; }
    public bool Protective { get; init; }
    public bool Sexed { get; init; }
    public string? SireId { get; init; }
    public string? EmbryoId { get; init; }
    public bool ImportedEmbryo { get; init; }
    /// <summary>Calving: the calves' genders (Female, Male) and whether the pregnancy came from an embryo.</summary>
    public IReadOnlyList<string> Progeny { get; init; } = [];
    public bool EmbryoImplant { get; init; }
    public string? PregnancyResult { get; init; }
    /// <summary>Animals alive on the pasture after this event (set once the day's events are in time order).</summary>
    public int StockAfter { get; set; }

    /// <summary>+1 for an animal that joins the pasture's stock, -1 for one that leaves it.</summary>
    public int StockChange => Type switch
    {
        AnimalEventType.Birth or AnimalEventType.Arrival => 1,
        AnimalEventType.Departure or AnimalEventType.Death => -1,
        _ => 0,
    };
}
