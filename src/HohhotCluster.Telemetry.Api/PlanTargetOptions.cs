using System.ComponentModel.DataAnnotations;

namespace HohhotCluster.Telemetry.Api;

/// <summary>What a daily target measures.</summary>
public enum TargetMeasure
{
    /// <summary>Fresh milk received by plants (weighbridge intake).</summary>
    Processed,

    /// <summary>Fresh milk produced by pastures (bulk-tank collections).</summary>
    Produced,
}

public sealed class PlanTarget
{
    [Required]
    public string Key { get; set; } = "";

    public string Description { get; set; } = "";

    [Range(2000, 2100)]
    public int Year { get; set; }

    [Range(0.001, 1_000_000)]
    public double TonnesPerDay { get; set; }

    public TargetMeasure Measure { get; set; }
}

/// <summary>The plan's daily targets (targets.md), in configuration so a new plan needs no new build.</summary>
public sealed class PlanTargetOptions
{
    public const string Section = "PlanTargets";

    public List<PlanTarget> Daily { get; set; } = [];
}
