using HohhotCluster.FirmwareSim.Fleet;

namespace HohhotCluster.FirmwareSim.Simulation;

/// <summary>
/// What a lot of raw milk is, as a lab would measure it. Bulk-tank lots get theirs from the milk poured in
/// (fat, protein and SCC weighted by kg) plus seeded draws and incidents; a tanker load's is the kg-weighted mix of
/// its lots, diluted when water was added on the way.
/// </summary>
internal sealed record LotQuality
{
    public required double FatPercent { get; init; }
    public required double ProteinPercent { get; init; }
    public required double NonFatSolidsPercent { get; init; }
    public required double RelativeDensity { get; init; }
    public required double FreezingPointC { get; init; }
    public required double AcidityT { get; init; }
    public required double TotalBacteria { get; init; }
    public required double SccThousand { get; init; }
    public required double AflatoxinM1 { get; init; }
    public required double ImpuritiesMgKg { get; init; }
    public required bool Antibiotic { get; init; }
    /// <summary>Lead, mg/kg, when the lot was contaminated; null = the background a lab finds in honest milk.</summary>
    public double? LeadMgKg { get; init; }

    /// <summary>Lead of honest raw milk as the supervisory lab reports it, mg/kg (background, well below GB 2762's limit).</summary>
    public const double BackgroundLeadMgKg = 0.005;

    public static LotQuality Mix(IReadOnlyList<(double Kg, LotQuality Quality)> parts)
    {
        double total = 0, fat = 0, protein = 0, snf = 0, density = 0, freezing = 0, acidity = 0, tbc = 0, scc = 0, afm1 = 0, impurities = 0;
        var antibiotic = false;
        double lead = 0;
        var contaminated = false;
        foreach (var (kg, q) in parts)
        {
            lead += kg * (q.LeadMgKg ?? BackgroundLeadMgKg);
            contaminated |= q.LeadMgKg is not null;
            total += kg;
            fat += kg * q.FatPercent;
            protein += kg * q.ProteinPercent;
            snf += kg * q.NonFatSolidsPercent;
            density += kg * q.RelativeDensity;
            freezing += kg * q.FreezingPointC;
            acidity += kg * q.AcidityT;
            tbc += kg * q.TotalBacteria;
            scc += kg * q.SccThousand;
            afm1 += kg * q.AflatoxinM1;
            impurities += kg * q.ImpuritiesMgKg;
            antibiotic |= q.Antibiotic; // rapid screens detect a positive lot diluted in a tanker
        }
        total = Math.Max(total, 1e-9);
        return new LotQuality
        {
            FatPercent = fat / total, ProteinPercent = protein / total, NonFatSolidsPercent = snf / total, RelativeDensity = density / total,
            FreezingPointC = freezing / total, AcidityT = acidity / total, TotalBacteria = tbc / total, SccThousand = scc / total,
            AflatoxinM1 = afm1 / total, ImpuritiesMgKg = impurities / total, Antibiotic = antibiotic,
            LeadMgKg = contaminated ? lead / total : null,
        };
    }

    /// <summary><paramref name="waterShare"/> kg of water per kg of milk: solids, density excess and freezing-point depression dilute.</summary>
    public LotQuality Watered(double waterShare)
    {
        var d = 1 / (1 + waterShare);
        return this with
        {
            FatPercent = FatPercent * d, ProteinPercent = ProteinPercent * d, NonFatSolidsPercent = NonFatSolidsPercent * d,
            RelativeDensity = 1 + ((RelativeDensity - 1) * d), FreezingPointC = FreezingPointC * d, AcidityT = AcidityT * d,
            TotalBacteria = TotalBacteria * d, SccThousand = SccThousand * d, AflatoxinM1 = AflatoxinM1 * d,
            LeadMgKg = LeadMgKg * d,
        };
    }
}

internal sealed record QualityItem(string Item, double? Value, string? Unit, string? Result, string Format);

/// <summary>A lab result as the <c>quality</c> kind carries it, with the simulator's own verdict.</summary>
internal sealed class QualitySampleRecord
{
    public required string SampleId { get; init; }
    public required string SampleKind { get; init; }
    public required long SampledAtMs { get; init; }
    public required string LotKind { get; init; }
    public required string LotId { get; init; }
    public required AnimalSpecies Species { get; init; }
    public string? TankerPlate { get; init; }
    public required string Lab { get; init; }
    public required List<QualityItem> Items { get; init; }
    public required bool Fails { get; init; }

    /// <summary>Only an antibiotic rapid screen is positive: the platform holds it as suspect, not a confirmed fail.</summary>
    public bool Suspect { get; init; }

    /// <summary>The audited pasture a regulator's lab names (supervisory samples); null for a farm's or plant's own sample.</summary>
    public string? SampledPastureId { get; set; }
}

internal sealed record SiloTransferRecord(string SiloBatchId, string SiloId, string TankerLoadId, double Kg);

internal sealed record ProductionRecord(string ProductLotId, string Product, string ProductCategory, string Line, string SiloBatchId, double UsedKg, double OutputKg);

internal sealed record ManureRecord(DateOnly Day, double ProducedKg, double CollectedKg, double AppliedKg, double TreatedKg, string Treatment);

internal sealed record HealthRecord(string Event, string Programme, AnimalSpecies Species, int Vaccinated = 0, int InStock = 0, int Due = 0, int[]? Titres = null);

/// <summary>
/// The labs: which GB 19301 items each sample kind measures, and the simulator's own verdict under the limits of
/// gb19301-rules.csv (cow acidity 12-18 °T before 2025-09-16, 10-18 °T from then; goat 6-13 °T before it, recorded
/// after (Amendment No. 2, range unverified); goat freezing point recorded; metals judged under the GB 2762 edition in
/// force; somatic cells recorded only; an antibiotic screen positive is suspect, not a confirmed fail).
/// </summary>
internal static class QualityLab
{
    public const string SelfCheck = "pasture_self_check";
    public const string Acceptance = "plant_acceptance";
    public const string Supervisory = "supervisory";

    private static readonly DateOnly s_amendment1 = new(2025, 9, 16);
    /// <summary>GB 2762-2022 in force (lead in raw milk 0.02 mg/kg; 0.05 under the editions since 2005 before it).</summary>
    private static readonly DateOnly s_gb2762Of2022 = new(2023, 6, 30);

    /// <summary>
    /// Aflatoxin M1 in raw milk, per season (Li Songli et al., Chinese Journal of Animal Nutrition 2018, 30(12): 5202-5209:
    /// 5,080 samples from Hebei, Henan, Heilongjiang, Shandong and Inner Mongolia, ELISA; 234 (4.6 %) detected, 36 (0.7 %)
    /// above 0.05 µg/kg, none above 0.5; detected in 11.2 % of winter samples, 1.5 % spring, 2.5 % summer, 4.5 % autumn).
    /// Seasons are taken as Dec-Feb, Mar-May, Jun-Aug, Sep-Nov (the paper's month boundaries unverified).
    /// </summary>
    public static double AflatoxinDetectedShare(int month) => month switch
    {
        12 or 1 or 2 => 0.112,
        3 or 4 or 5 => 0.015,
        6 or 7 or 8 => 0.025,
        _ => 0.045,
    };

    /// <summary>
    /// Background aflatoxin M1, µg/kg: below the detection limit (about 0.005, reported as measured below it) unless
    /// detected; a detected value is lognormal with median 0.02 and sigma 0.9, so 15 % of detected samples exceed 0.05
    /// (36 of 234 in the survey) and none reaches GB 2761's 0.5.
    /// </summary>
    public static double BackgroundAflatoxinM1(ref DeterministicRandom rng, int month) =>
        rng.Chance(AflatoxinDetectedShare(month))
            ? Math.Clamp(rng.LogNormal(0.020, 0.9), 0.005, 0.45)
            : rng.Uniform(0, 0.0045);

    /// <summary>
    /// A herd's own freezing point, °C: cows about -0.525 (domain.md), goats about -0.55 to -0.57 (goat milk has more
    /// lactose and salts per kg; the range of issue 13 and domain.md, values for Saanen-type goats, unverified per
    /// farm). Herds differ (breed, feed, season) by a few thousandths of a degree, and each herd's bulk milk stays near
    /// its own value: that steadiness is what lets a plant judge a load against its pastures' baselines.
    /// </summary>
    public static double HerdFreezingPointC(long seed, int pastureIndex, AnimalSpecies species)
    {
        var rng = new DeterministicRandom(seed, 9, pastureIndex);
        return species == AnimalSpecies.Cow
            ? Math.Clamp(rng.Normal(-0.525, 0.004), -0.538, -0.514)
            : Math.Clamp(rng.Normal(-0.560, 0.003), -0.566, -0.554);
    }

    /// <summary>
    /// The freezing point of one honest bulk-tank lot: the herd's own value with day-to-day variation (sd 0.0012 °C,
    /// within ±0.0024: a scale herd's bulk milk averages hundreds of cows), within the species' range. So an honest
    /// lot never lies 0.005 °C above its herd's median, the platform's suspect band (Traceability:SuspectedWateringRiseC).
    /// </summary>
    public static double FreezingPointC(ref DeterministicRandom rng, AnimalSpecies species, double herdFreezingPointC)
    {
        var day = Math.Clamp(rng.Normal(0, 0.0012), -0.0024, 0.0024);
        return species == AnimalSpecies.Cow
            ? Math.Clamp(herdFreezingPointC + day, -0.545, -0.510)
            : Math.Clamp(herdFreezingPointC + day, -0.570, -0.550);
    }

    /// <summary>An honest bulk-tank lot: composition from the tank, the rest drawn within typical ranges (domain.md).</summary>
    public static LotQuality Draw(ref DeterministicRandom rng, AnimalSpecies species, double herdFreezingPointC, double fat, double protein, double scc, int month)
    {
        var cow = species == AnimalSpecies.Cow;
        var snf = protein + 4.75 + 0.70 + rng.Normal(0, 0.05);
        return new LotQuality
        {
            FatPercent = fat,
            ProteinPercent = protein,
            NonFatSolidsPercent = snf,
            RelativeDensity = Math.Clamp(1.0300 + (0.0035 * (snf - 8.6)) - (0.0007 * (fat - 3.8)) + rng.Normal(0, 0.0004), 1.0281, 1.0324),
            FreezingPointC = FreezingPointC(ref rng, species, herdFreezingPointC),
            AcidityT = cow ? Math.Clamp(rng.Normal(15.5, 0.6), 14.0, 17.0) : Math.Clamp(rng.Normal(10.5, 0.6), 8.5, 12.5),
            TotalBacteria = Math.Clamp(rng.LogNormal(40_000, 0.7), 5_000, 200_000),
            SccThousand = scc,
            AflatoxinM1 = BackgroundAflatoxinM1(ref rng, month),
            ImpuritiesMgKg = rng.Uniform(0.5, 2.0),
            Antibiotic = false,
        };
    }

    public static QualitySampleRecord Sample(string sampleKind, string sampleId, long sampledAtMs, string lotKind, string lotId,
        AnimalSpecies species, LotQuality q, string lab, string? plate, long seed)
    {
        var rng = new DeterministicRandom(seed, 30, DeterministicRandom.StableHash(sampleId));
        var items = new List<QualityItem>
        {
            new("protein", q.ProteinPercent, "g/100g", null, "F2"),
            new("fat", q.FatPercent, "g/100g", null, "F2"),
            new("non_fat_solids", q.NonFatSolidsPercent, "g/100g", null, "F2"),
            new("relative_density", q.RelativeDensity, "20/4C", null, "F4"),
            new("freezing_point", q.FreezingPointC, "°C", null, "F3"),
            new("acidity", q.AcidityT, "°T", null, "F1"),
            new("total_bacteria", Math.Round(q.TotalBacteria / 1000) * 1000, "CFU/mL", null, "F0"),
            new("aflatoxin_m1", q.AflatoxinM1, "µg/kg", null, "F3"),
            Screen("antibiotic_residue", q.Antibiotic),
        };
        if (sampleKind != Acceptance)
        {
            items.Add(new("somatic_cells", q.SccThousand, "10^3/mL", null, "F0"));
        }
        if (sampleKind != SelfCheck)
        {
            items.Add(Screen("alkali", false));
            items.Add(Screen("beta_lactamase", false));
        }
        if (sampleKind == Supervisory)
        {
            items.Add(new("impurities", q.ImpuritiesMgKg, "mg/kg", null, "F1"));
            items.Add(new("melamine", rng.Uniform(0, 0.05), "mg/kg", null, "F3"));
            items.Add(Screen("sodium_thiocyanate", false));
            items.Add(Screen("hydrolysed_leather_protein", false));
            items.Add(new("lead", q.LeadMgKg ?? rng.Uniform(0.002, 0.008), "mg/kg", null, "F4"));
            items.Add(new("mercury", rng.Uniform(0.0005, 0.003), "mg/kg", null, "F4"));
            items.Add(new("arsenic", rng.Uniform(0.005, 0.03), "mg/kg", null, "F4"));
            items.Add(new("chromium", rng.Uniform(0.01, 0.08), "mg/kg", null, "F4"));
            items.Add(new("nitrite", rng.Uniform(0.02, 0.15), "mg/kg", null, "F3"));
        }
        // Judge what goes on the wire: rounded as the payload writes it.
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i].Value is { } v)
            {
                items[i] = items[i] with { Value = Math.Round(v, int.Parse(items[i].Format.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture)) };
            }
        }
        var day = DairySimulation.LocalDayOf(sampledAtMs);
        return new QualitySampleRecord
        {
            SampleId = sampleId, SampleKind = sampleKind, SampledAtMs = sampledAtMs, LotKind = lotKind, LotId = lotId, Species = species,
            TankerPlate = plate, Lab = lab, Items = items, Fails = items.Exists(item => Fails(item, species, day)),
            Suspect = items.Exists(item => Fails(item, species, day)) && items.TrueForAll(item => item.Item == "antibiotic_residue" || !Fails(item, species, day)),
        };
    }

    private static QualityItem Screen(string item, bool positive) => new(item, null, null, positive ? "positive" : "negative", "");

    public static bool Fails(QualityItem item, AnimalSpecies species, DateOnly day)
    {
        if (item.Result is { } result)
        {
            return result == "positive";
        }
        var v = item.Value!.Value;
        return item.Item switch
        {
            "protein" => v < 2.8,
            "fat" => v < 3.1,
            "non_fat_solids" => v < 8.1,
            "relative_density" => v < 1.027,
            // GB 19301-2010 table 2 footnote b: the range is for Holstein cows; goat milk is recorded, not judged.
            "freezing_point" => species == AnimalSpecies.Cow && v is < -0.560 or > -0.500,
            // Goat acidity under Amendment No. 2 (from 2025-09-16 in the rule table) is recorded: its new range is unverified.
            "acidity" => species == AnimalSpecies.Goat ? day < s_amendment1 && v is < 6 or > 13 : v < (day >= s_amendment1 ? 10 : 12) || v > 18,
            "impurities" => v > 4.0,
            "total_bacteria" => v > 2_000_000,
            "aflatoxin_m1" => v > 0.5,
            "melamine" => v > 2.5,
            // GB 19301 refers to GB 2762 undated: the edition in force applies, a limit has applied throughout.
            "lead" => v > (day >= s_gb2762Of2022 ? 0.02 : 0.05),
            "mercury" => v > 0.01,
            "arsenic" => v > 0.1,
            "chromium" => v > 0.3,
            "nitrite" => v > 0.4,
            _ => false,
        };
    }
}

/// <summary>One <c>tanker_log</c> reading of a load on the road: the filled compartments' temperatures and where the tanker is.</summary>
internal sealed record TankerLogReading(TankerLoad Load, int[] Compartments, double[] TemperaturesC, double LatitudeDeg, double LongitudeDeg, double SpeedKmh);
