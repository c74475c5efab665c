using HohhotCluster.Telemetry.Audit.Rules;

namespace HohhotCluster.Telemetry.Audit.Quality;

/// <summary>A lab result as a <c>quality</c> message carries it, validated but not yet judged.</summary>
public sealed record QualitySample
{
    public required string SampleId { get; init; }

    /// <summary><c>pasture_self_check</c>, <c>plant_acceptance</c> or <c>supervisory</c>.</summary>
    public required string SampleKind { get; init; }
    public required DateTimeOffset SampledAt { get; init; }

    /// <summary><c>bulk_tank_lot</c>, <c>tanker_load</c>, <c>silo_batch</c> or <c>product_lot</c>.</summary>
    public required string LotKind { get; init; }
    public required string LotId { get; init; }

    /// <summary>Null: the species registered for the pasture or plant.</summary>
    public string? Species { get; init; }
    public string? TankerPlate { get; init; }
    public string? Lab { get; init; }

    /// <summary>The audited pasture a lab's supervisory sample names (its lot's origin); null from a pasture or plant device.</summary>
    public string? SampledPastureId { get; init; }

    /// <summary>The audited plant a lab's supervisory sample names; null from a pasture or plant device.</summary>
    public string? SampledPlantId { get; init; }

    /// <summary>A product lot's category (the shared vocabulary, e.g. <c>sterilised_milk</c>); null for raw milk.</summary>
    public string? ProductCategory { get; init; }

    /// <summary>The sample id this confirmatory sample decides (a screen's suspect is counted by it); null otherwise.</summary>
    public string? Confirms { get; init; }
    public required IReadOnlyList<SampleItem> Items { get; init; }
}

public static class SampleKinds
{
    public const string PastureSelfCheck = "pasture_self_check";
    public const string PlantAcceptance = "plant_acceptance";
    public const string Supervisory = "supervisory";

    public static readonly string[] All = [PastureSelfCheck, PlantAcceptance, Supervisory];
}

public static class LotKinds
{
    public static readonly string[] All = ["bulk_tank_lot", "tanker_load", "silo_batch", "product_lot"];
}
