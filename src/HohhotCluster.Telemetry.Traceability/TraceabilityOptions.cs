using System.ComponentModel.DataAnnotations;

namespace HohhotCluster.Telemetry.Traceability;

public sealed class TraceabilityOptions
{
    public const string Section = "Traceability";

    /// <summary>A tanker load arriving warmer than this (°C) is rejected at the plant (domain.md: above about 10 °C).</summary>
    [Range(-5.0, 50.0, ErrorMessage = "Traceability:RejectAboveC must be between -5 and 50 °C.")]
    public double RejectAboveC { get; set; } = 10.0;

    /// <summary>Tanker loggers on the road (<c>tanker_log</c>): the limit judged in transit and how readings are summed.</summary>
    public Tanker.TankerLogOptions TankerLog { get; set; } = new();

    /// <summary>Relative difference (0.02 = 2 %) beyond which a mass-balance comparison is flagged.</summary>
    [Range(0.0, 0.5, ErrorMessage = "Traceability:MassBalanceTolerance must be a fraction between 0 and 0.5.")]
    public double MassBalanceTolerance { get; set; } = 0.02;

    /// <summary>A freezing point above this (°C) in a quality result suggests added water (GB 19301: -0.500).</summary>
    public double WateredFreezingPointAboveC { get; set; } = -0.500;

    /// <summary>
    /// Weighbridge vs pickups: a tanker load weighed in heavier than what was pumped in at the pastures by more than
    /// both this many kg and <see cref="WeightToleranceFraction"/> of the pickups is flagged <c>watered_load</c>
    /// (the day-level <see cref="MassBalanceTolerance"/> of 2 % let 600 kg through on a 30 t load).
    /// </summary>
    [Range(0.0, 5_000.0, ErrorMessage = "Traceability:WeightToleranceKg must be between 0 and 5000 kg.")]
    public double WeightToleranceKg { get; set; } = 60.0;

    /// <summary>The relative half of the weight tolerance (0.005 = 0.5 % of the pickups).</summary>
    [Range(0.0, 0.1, ErrorMessage = "Traceability:WeightToleranceFraction must be a fraction between 0 and 0.1.")]
    public double WeightToleranceFraction { get; set; } = 0.005;

    /// <summary>How many of a pasture's most recent freezing points make its baseline (their median).</summary>
    [Range(1, 1000, ErrorMessage = "Traceability:FreezingPointBaselineSamples must be between 1 and 1000.")]
    public int FreezingPointBaselineSamples { get; set; } = 10;

    /// <summary>A baseline needs at least this many samples; with fewer, no suspect band is drawn (and the flag says so).</summary>
    [Range(1, 1000, ErrorMessage = "Traceability:FreezingPointBaselineMinSamples must be between 1 and 1000.")]
    public int FreezingPointBaselineMinSamples { get; set; } = 3;

    /// <summary>
    /// A load's freezing point higher than its pastures' baseline by more than this (°C) is <c>suspected_watering</c>.
    /// Added water raises the freezing point by about 0.0055 °C per 1 % (ISO 5764 / IDF 108 convention: water % =
    /// (baseline - sample) / baseline × 100 on a baseline near -0.540 °C), so 0.005 °C catches about 1 % water.
    /// </summary>
    [Range(0.0005, 0.1, ErrorMessage = "Traceability:SuspectedWateringRiseC must be between 0.0005 and 0.1 °C.")]
    public double SuspectedWateringRiseC { get; set; } = 0.005;

    /// <summary>
    /// kg of product per kg of milk used, per product category (shared vocabulary); a production outside its range is
    /// <c>production_imbalance</c>. An unknown or missing category is checked as liquid milk, and the flag says so.
    /// </summary>
    public Dictionary<string, YieldRange> ProductYields { get; set; } = YieldRange.CreateDefaults();

    /// <summary>Product lots of one plant, line and product made within this window of each other form one line run (see ChainQueries).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00", ErrorMessage = "Traceability:LineRunWindow must be between 0 and 7 days.")]
    public TimeSpan LineRunWindow { get; set; } = TimeSpan.FromHours(12);

    /// <summary>
    /// The GS1 keys of the places whose locations and lots are written with GS1 keys in EPCIS (SGLN, LGTIN): pasture or
    /// plant id -> company prefix and location reference (and, for lots without a GTIN of their own, the item
    /// reference of its raw milk). The registry has no GS1 fields; a place not listed keeps the platform's private URIs.
    /// </summary>
    public Dictionary<string, Gs1Place> Gs1Places { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How many edges a trace follows at most; the chain has four levels, so this only guards against cycles.</summary>
    [Range(4, 64)]
    public int MaxTraceDepth { get; set; } = 12;

    /// <summary>Path of the official EPCIS 2.0 JSON schema; empty: looked up as ../shared/data/epcis beside the repository.</summary>
    public string? EpcisSchemaPath { get; set; }

    /// <summary>URI prefix of the platform's own lot and place identifiers in EPCIS documents.</summary>
    [Required, Url]
    public string EpcisIdBase { get; set; } = "https://id.hohhot-dairy.example/";
}

/// <summary>kg of product per kg of milk, lowest and highest accepted.</summary>
public sealed class YieldRange
{
    public const string Liquid = "liquid";

    public double Min { get; set; }

    public double Max { get; set; }

    /// <summary>
    /// Ranges around the simulator's nominal yields (shared vocabulary: liquid 0.985, fermented 1.0, milk_powder 0.125,
    /// cheese 0.10, cream 0.12). The widths are the platform's judgement, not a standard: liquid and fermented
    /// products lose or gain a few % (standardisation, added cultures/sugar); powder depends on the milk's total solids
    /// (about 12.5-13 % for cow milk), cheese on the variety, cream on the fat of milk and cream.
    /// </summary>
    public static Dictionary<string, YieldRange> CreateDefaults() => new(StringComparer.Ordinal)
    {
        ["pasteurised_milk"] = new() { Min = 0.95, Max = 1.02 },
        ["sterilised_milk"] = new() { Min = 0.95, Max = 1.02 },
        ["modified_milk"] = new() { Min = 0.95, Max = 1.05 },
        ["fermented_milk"] = new() { Min = 0.95, Max = 1.10 },
        ["milk_powder"] = new() { Min = 0.10, Max = 0.15 },
        ["cheese"] = new() { Min = 0.08, Max = 0.13 },
        ["cream"] = new() { Min = 0.06, Max = 0.18 },
        [Liquid] = new() { Min = 0.95, Max = 1.02 },
    };

    public static readonly string[] Categories =
        ["pasteurised_milk", "sterilised_milk", "modified_milk", "fermented_milk", "milk_powder", "cheese", "cream"];
}

/// <summary>A place's GS1 company prefix (6-12 digits) and location reference (prefix + reference = 12 digits).</summary>
public sealed class Gs1Place
{
    public string CompanyPrefix { get; set; } = "";

    public string LocationReference { get; set; } = "";

    /// <summary>Indicator digit and item reference of the place's raw milk (prefix + this = 13 digits); empty: none.</summary>
    public string? MilkItemReference { get; set; }

    public bool IsValid =>
        CompanyPrefix is { Length: >= 6 and <= 12 } && CompanyPrefix.All(char.IsAsciiDigit)
        && LocationReference.All(char.IsAsciiDigit) && CompanyPrefix.Length + LocationReference.Length == 12
        && (string.IsNullOrEmpty(MilkItemReference) || (MilkItemReference.All(char.IsAsciiDigit) && CompanyPrefix.Length + MilkItemReference.Length == 13));
}
