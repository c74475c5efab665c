using System.ComponentModel.DataAnnotations;

namespace HohhotCluster.Telemetry.Traceability;

public sealed class TraceabilityOptions
{
    public const string Section = "Traceability";

    /// <summary>A tanker load arriving warmer than this (°C) is rejected at the plant (domain.md: above about 10 °C).</summary>
    [Range(-5.0, 50.0, ErrorMessage = "Traceability:RejectAboveC must be between -5 and 50 °C.")]
    public double RejectAboveC { get; set; } = 10.0;

    /// <summary>Relative difference (0.02 = 2 %) beyond which a mass-balance comparison is flagged.</summary>
    [Range(0.0, 0.5, ErrorMessage = "Traceability:MassBalanceTolerance must be a fraction between 0 and 0.5.")]
    public double MassBalanceTolerance { get; set; } = 0.02;

    /// <summary>A freezing point above this (°C) in a quality result suggests added water (GB 19301: -0.500).</summary>
    public double WateredFreezingPointAboveC { get; set; } = -0.500;

    /// <summary>How many edges a trace follows at most; the chain has four levels, so this only guards against cycles.</summary>
    [Range(4, 64)]
    public int MaxTraceDepth { get; set; } = 12;

    /// <summary>Path of the official EPCIS 2.0 JSON schema; empty: looked up as ../shared/data/epcis beside the repository.</summary>
    public string? EpcisSchemaPath { get; set; }

    /// <summary>URI prefix of the platform's own lot and place identifiers in EPCIS documents.</summary>
    [Required, Url]
    public string EpcisIdBase { get; set; } = "https://id.hohhot-dairy.example/";
}
