namespace HohhotCluster.Telemetry.Contracts;

/// <summary>
/// A compulsory-immunisation programme as the animal registry needs it (the programme table is Audit's,
/// <c>Audit:Programmes</c>): its id, how long a vaccination or a protective antibody test keeps an animal immune, and
/// the species it is for (empty: every species).
/// </summary>
public sealed record ImmunisationProgramme(string Id, int ProtectionDays, IReadOnlyList<string> Species)
{
    /// <summary>True when the programme is for animals of this species (<c>cow</c>, <c>goat</c>).</summary>
    public bool Applies(string species) => Species.Count == 0 || Species.Contains(species);

    /// <summary>The first day of the protection period that ends on <paramref name="day"/> (inclusive).</summary>
    public DateOnly PeriodStart(DateOnly day) => day.AddDays(1 - ProtectionDays);
}

/// <summary>The programmes the platform runs; Audit serves them from its configuration, the animal registry reads them.</summary>
public interface IImmunisationProgrammes
{
    IReadOnlyList<ImmunisationProgramme> All { get; }

    ImmunisationProgramme? Find(string id);
}

/// <summary>One pasture's registered stock at a moment (the day's end): the registry's count, not an estimate.</summary>
public sealed record RegisteredStock(string PastureId, int Alive, int BreedingAgeHerdBookGoats);

/// <summary>
/// One pasture's immunity for one programme on a day, from per-animal records: animals alive at the day's end, and
/// those with valid immunity (a vaccination, or a protective antibody test, within the protection period ending that
/// day), with each way counted apart (an animal with both is counted once in <see cref="Immune"/>).
/// </summary>
public sealed record RegisteredImmunity(string PastureId, int InStock, int Immune, int ByVaccination, int ByAntibodyTest, int Tested, int Protective);

/// <summary>Breeding figures of a set of pastures over a window, from the registry's per-animal reproduction events.</summary>
public sealed record RegisteredBreeding
{
    public int Inseminations { get; init; }
    public int SexedSemenInseminations { get; init; }
    public int NaturalServices { get; init; }
    public int EmbryoTransfers { get; init; }
    public int ImportedEmbryoTransfers { get; init; }

    /// <summary>Services (inseminations, natural services, embryo transfers) of the window whose outcome a later pregnancy check told.</summary>
    public int ServicesChecked { get; init; }

    /// <summary>Of <see cref="ServicesChecked"/>, those the check found pregnant (Pregnant or Multiple).</summary>
    public int ServicesConceived { get; init; }

    /// <summary>Services of the window with no pregnancy check after them yet (before the animal's next service).</summary>
    public int ServicesAwaitingCheck { get; init; }

    /// <summary>Calvings in the window that follow an earlier recorded calving of the same animal, and the days between.</summary>
    public int CalvingIntervals { get; init; }
    public double CalvingIntervalDaysSum { get; init; }
    public int Calvings { get; init; }
    public int FemaleCalves { get; init; }
    public int MaleCalves { get; init; }
    public int Abortions { get; init; }

    /// <summary>The pastures that recorded any reproduction event in the window.</summary>
    public IReadOnlyList<string> ReportingPastures { get; init; } = [];
}

/// <summary>
/// What the KPIs read from the animal registry (the Animals component implements it over its own tables; Audit's
/// KPI calculation reads it; the host wires the two, so neither project references the other).
/// </summary>
public interface IAnimalRegistryFigures
{
    /// <summary>The pastures (of these) the registry holds any animal of by <paramref name="at"/>: they keep per-animal records.</summary>
    Task<IReadOnlySet<string>> PasturesWithAnimalsAsync(IReadOnlyCollection<string> pastureIds, DateTimeOffset at, CancellationToken cancellationToken);

    /// <summary>
    /// Registered animals alive on each pasture at <paramref name="at"/> (the state after the newest event before it),
    /// and among goats those of breeding age (born at least <paramref name="breedingAgeMonths"/> before) of a herd-book
    /// breed (<paramref name="herdBookGoatBreeds"/>). Pastures without animals are absent.
    /// </summary>
    Task<IReadOnlyDictionary<string, RegisteredStock>> StockAsync(IReadOnlyCollection<string> pastureIds, DateTimeOffset at, int breedingAgeMonths,
        IReadOnlyCollection<string> herdBookGoatBreeds, CancellationToken cancellationToken);

    /// <summary>The pastures (of these) with any per-animal record of the programme on or before <paramref name="day"/>.</summary>
    Task<IReadOnlySet<string>> PasturesWithImmunisationRecordsAsync(IReadOnlyCollection<string> pastureIds, string programme, DateOnly day,
        CancellationToken cancellationToken);

    /// <summary>
    /// Per pasture, immunity at the end of <paramref name="day"/> for the programme, per animal; antibody tests of
    /// <paramref name="testsFrom"/>..<paramref name="day"/> are counted too (<see cref="RegisteredImmunity.Tested"/>).
    /// </summary>
    Task<IReadOnlyDictionary<string, RegisteredImmunity>> ImmunityAsync(IReadOnlyCollection<string> pastureIds, ImmunisationProgramme programme,
        DateOnly day, DateOnly testsFrom, CancellationToken cancellationToken);

    /// <summary>Breeding figures of these pastures' animals over <paramref name="from"/>..<paramref name="to"/> (local days, inclusive).</summary>
    Task<RegisteredBreeding> BreedingAsync(IReadOnlyCollection<string> pastureIds, DateOnly from, DateOnly to, CancellationToken cancellationToken);
}
