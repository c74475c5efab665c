namespace HohhotCluster.Telemetry.Audit.Feeding;

/// <summary>What a <c>tmr</c> message reports (its <c>event</c>).</summary>
public enum TmrEvent
{
    /// <summary>The ration (recipe) the named herds are fed from now on.</summary>
    Ration,

    /// <summary>One mixer load: per ingredient the recipe kg and the kg the mixer's scale weighed in.</summary>
    Load,

    /// <summary>Kg as fed put on one pen's feed bunk from a load.</summary>
    Delivery,

    /// <summary>Kg weighed back from one pen's bunk (what the cows left).</summary>
    Refusal,
}

public static class TmrEvents
{
    public static readonly string[] Names = ["ration", "load", "delivery", "refusal"];

    public static string Name(TmrEvent kind) => Names[(int)kind];
}

/// <summary>A feed of a ration and its share of the ration as fed (ICAR <c>icarFeedsInRationType</c>).</summary>
public sealed record RationFeed(string FeedId, double Percentage);

/// <summary>One ingredient of a mixer load.</summary>
public sealed record LoadIngredient(string FeedId, double RecipeKg, double LoadedKg, double DryMatterPercent, FeedOrigin? Origin)
{
    public double LoadedDryMatterKg => LoadedKg * DryMatterPercent / 100.0;
}

/// <summary>A <c>tmr</c> message; which members are set depends on <see cref="Event"/> (see docs/mqtt-contract.md).</summary>
public sealed record TmrRecord
{
    public required TmrEvent Event { get; init; }

    /// <summary>The local (China) day of the event: the day the feeding is rolled up under.</summary>
    public required DateOnly LocalDate { get; init; }

    public required string RationId { get; init; }

    /// <summary>The ration's version (ration and load only; 0 on a delivery or refusal).</summary>
    public int RationVersion { get; init; }

    /// <summary>Ration: the herds put on it.</summary>
    public IReadOnlyList<string> HerdIds { get; init; } = [];

    /// <summary>Ration: its name (ICAR <c>name</c>).</summary>
    public string? RationName { get; init; }

    /// <summary>Ration: its feeds as fed.</summary>
    public IReadOnlyList<RationFeed> Feeds { get; init; } = [];

    /// <summary>Load, delivery, refusal: the herd fed.</summary>
    public string? HerdId { get; init; }

    /// <summary>Load, delivery: the mixer load's id (unique on the pasture).</summary>
    public string? LoadId { get; init; }

    public IReadOnlyList<LoadIngredient> Ingredients { get; init; } = [];

    /// <summary>Delivery, refusal: the pen (bunk) of the herd; empty when the herd is fed as one group.</summary>
    public string Pen { get; init; } = "";

    /// <summary>Delivery: kg as fed put on the bunk; refusal: kg as fed weighed back.</summary>
    public double Kg { get; init; }

    /// <summary>Delivery: the pen's cows in milk, as the feeding system lists the pen.</summary>
    public int HeadCount { get; init; }

    /// <summary>Refusal: the refusals' own dry matter %, when measured (else the day's delivered TMR's).</summary>
    public double? DryMatterPercent { get; init; }
}

/// <summary>A <c>feed_stock</c> message: what one store (clamp, barn, bin) holds now (ICAR <c>icarFeedStorageResource</c>).</summary>
public sealed record FeedStockRecord
{
    public required DateOnly LocalDate { get; init; }

    /// <summary>ICAR <c>id</c>: the store on the pasture.</summary>
    public required string StorageId { get; init; }

    public string? StorageName { get; init; }

    /// <summary><c>silage_clamp</c>, <c>hay_barn</c> or <c>bin</c>.</summary>
    public required string StorageType { get; init; }

    public required string FeedId { get; init; }

    /// <summary>ICAR <c>quantityAvailable</c>, kg as fed.</summary>
    public required double QuantityKg { get; init; }

    /// <summary>ICAR <c>capacity</c>, kg as fed.</summary>
    public double? CapacityKg { get; init; }

    public double? DryMatterPercent { get; init; }

    public FeedOrigin? Origin { get; init; }
}
