using HohhotCluster.Telemetry.Contracts;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Audit.Kpi;

/// <summary>
/// The compulsory-immunisation programmes (<c>Audit:Programmes</c>, the one table of them) as the animal registry reads
/// them: a vaccination or antibody test per animal names one of these, for the species it lists.
/// </summary>
public sealed class AuditProgrammes(IOptions<AuditOptions> options) : IImmunisationProgrammes
{
    private readonly IReadOnlyList<ImmunisationProgramme> _all =
        options.Value.EffectiveProgrammes.Select(p => new ImmunisationProgramme(p.Id, p.ProtectionDays, p.Species.ToArray())).ToArray();

    public IReadOnlyList<ImmunisationProgramme> All => _all;

    public ImmunisationProgramme? Find(string id) => _all.FirstOrDefault(p => p.Id == id);
}

/// <summary>
/// The breeding KPIs' definitions (<c>Audit:Breeding</c>): which registered goats count as breeding stock. The plan
/// (三(一), 提升奶羊育种繁育水平) asks for quality breeding goats (优质种羊) with herd-book registration (良种登记) and
/// performance testing; the registry counts a goat as breeding stock when it is of a herd-book dairy breed (its
/// <c>primaryBreed.id</c> one of <see cref="HerdBookGoatBreeds"/>) and of breeding age.
/// </summary>
public sealed class BreedingOptions
{
    /// <summary>Months from birth to breeding age (a doe is first bred at about 7-10 months; 12 keeps the count to animals in use: unverified, set locally).</summary>
    [System.ComponentModel.DataAnnotations.Range(1, 60)]
    public int GoatBreedingAgeMonths { get; set; } = 12;

    /// <summary>
    /// The breed ids (ICAR <c>primaryBreed.id</c>, as the farm's system sends them) of herd-book dairy goat breeds. The
    /// default is the dairy breeds kept in Inner Mongolia's goat farms as the engineer knows them (Saanen, Guanzhong
    /// dairy goat, Laoshan dairy goat, Toggenburg, Alpine, Nubian), in ICAR-style three-letter codes: unverified, there
    /// is no breed catalogue yet; set the farms' codes in configuration (empty list: no goat counts).
    /// </summary>
    public List<string> HerdBookGoatBreeds { get; set; } = [];

    public static IReadOnlyList<string> DefaultHerdBookGoatBreeds { get; } = ["SAA", "GZD", "LSD", "TOG", "ALP", "NUB"];

    public IReadOnlyList<string> EffectiveHerdBookGoatBreeds => HerdBookGoatBreeds.Count > 0 ? HerdBookGoatBreeds : DefaultHerdBookGoatBreeds;
}
