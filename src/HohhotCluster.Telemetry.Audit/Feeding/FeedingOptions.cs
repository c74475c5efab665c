using System.ComponentModel.DataAnnotations;

namespace HohhotCluster.Telemetry.Audit.Feeding;

/// <summary>What a feed is for the forage KPI: the plan's three forages, or anything else.</summary>
public enum FeedCategory
{
    SilageCorn,
    OatHay,
    Alfalfa,
    Concentrate,
    Other,
}

/// <summary>Where a forage was grown (docs/mqtt-contract.md, <c>origin</c>).</summary>
public enum FeedOrigin
{
    /// <summary>The pasture's own or contracted fields (the pasture is in Hohhot when the KPI counts it).</summary>
    LocalFarm,

    /// <summary>Elsewhere within Hohhot's banners, counties and districts.</summary>
    Hohhot,

    /// <summary>Elsewhere in the Inner Mongolia Autonomous Region.</summary>
    InnerMongolia,

    /// <summary>From another province or abroad.</summary>
    Imported,
}

public static class FeedOrigins
{
    public const string LocalFarmName = "local_farm";
    public const string HohhotName = "hohhot";
    public const string InnerMongoliaName = "inner_mongolia";
    public const string ImportedName = "imported";

    public static readonly string[] Names = [LocalFarmName, HohhotName, InnerMongoliaName, ImportedName];

    public static string Name(FeedOrigin origin) => origin switch
    {
        FeedOrigin.LocalFarm => LocalFarmName,
        FeedOrigin.Hohhot => HohhotName,
        FeedOrigin.InnerMongolia => InnerMongoliaName,
        _ => ImportedName,
    };

    public static FeedOrigin? Parse(string name) => name switch
    {
        LocalFarmName => FeedOrigin.LocalFarm,
        HohhotName => FeedOrigin.Hohhot,
        InnerMongoliaName => FeedOrigin.InnerMongolia,
        ImportedName => FeedOrigin.Imported,
        _ => null,
    };

    /// <summary>
    /// 本土 (local) in the plan's 本土自给率: grown in Hohhot, whose banners and counties the plan gives the sown
    /// areas for (section 三(一) 1.): the pasture's own fields and the rest of the city; not the rest of the region.
    /// </summary>
    public static bool IsLocal(FeedOrigin origin) => origin is FeedOrigin.LocalFarm or FeedOrigin.Hohhot;
}

public static class FeedCategories
{
    public static string Name(FeedCategory category) => category switch
    {
        FeedCategory.SilageCorn => "silage_corn",
        FeedCategory.OatHay => "oat_hay",
        FeedCategory.Alfalfa => "alfalfa",
        FeedCategory.Concentrate => "concentrate",
        _ => "other",
    };

    /// <summary>The plan's forages (青贮玉米, 燕麦草, 苜蓿): a load or stock of one must say where it was grown.</summary>
    public static bool IsForage(FeedCategory category) => category is FeedCategory.SilageCorn or FeedCategory.OatHay or FeedCategory.Alfalfa;
}

/// <summary>One feed the pastures may load, with its KPI category and, when known, its price.</summary>
public sealed class FeedDefinition
{
    [Required, RegularExpression("^[a-z0-9_]{1,32}$")]
    public string Id { get; set; } = "";

    public string Name { get; set; } = "";

    public FeedCategory Category { get; set; } = FeedCategory.Other;

    /// <summary>CNY per tonne as fed; null when no price is configured (the day's cost then leaves this feed out and says so).</summary>
    [Range(0, 1_000_000)]
    public double? PricePerTonneCny { get; set; }
}

/// <summary>TMR feeding (section <c>Audit:Feeding</c>): the feed catalogue and the feeding alerts' thresholds.</summary>
public sealed class FeedingOptions
{
    /// <summary>The scheme of every <c>feedId</c> (an ICAR identifier's <c>scheme</c>): the platform's own catalogue.</summary>
    public const string FeedScheme = "cn.hohhot.feed";

    /// <summary>Feeds a load, ration or stock may name; empty means <see cref="DefaultFeeds"/>.</summary>
    public List<FeedDefinition> Feeds { get; set; } = [];

    /// <summary>An ingredient loaded more than this far from its recipe (% of the recipe kg) raises an alert.</summary>
    [Range(0.1, 100)]
    public double LoadingDeviationPercent { get; set; } = 5;

    /// <summary>A herd's day with refusals below this (% of the kg delivered as fed) is out of band: cows may be underfed.</summary>
    [Range(0, 100)]
    public double RefusalsMinPercent { get; set; } = 2;

    /// <summary>A herd's day with refusals above this (% of the kg delivered as fed) is out of band: feed is wasted or off.</summary>
    [Range(0, 100)]
    public double RefusalsMaxPercent { get; set; } = 8;

    /// <summary>A pasture's stock of a feed lasting fewer days than this at its recent use raises an alert.</summary>
    [Range(1, 366)]
    public int StockMinDays { get; set; } = 7;

    /// <summary>Days of loads behind a feed's daily use (the mean over the days with loads in this trailing window).</summary>
    [Range(1, 90)]
    public int StockUsageWindowDays { get; set; } = 7;

    // Rations: domain.md (unverified). Prices are not set: no source was checked, configure them per site.
    public static IReadOnlyList<FeedDefinition> DefaultFeeds { get; } =
    [
        new() { Id = "silage_corn", Name = "Corn silage (青贮玉米)", Category = FeedCategory.SilageCorn },
        new() { Id = "alfalfa_hay", Name = "Alfalfa hay (苜蓿干草)", Category = FeedCategory.Alfalfa },
        new() { Id = "alfalfa_haylage", Name = "Alfalfa haylage (苜蓿半干青贮)", Category = FeedCategory.Alfalfa },
        new() { Id = "oat_hay", Name = "Oat hay (燕麦草)", Category = FeedCategory.OatHay },
        new() { Id = "concentrate", Name = "Dairy concentrate (精补料)", Category = FeedCategory.Concentrate },
        new() { Id = "corn_grain", Name = "Ground corn (玉米)", Category = FeedCategory.Concentrate },
        new() { Id = "soybean_meal", Name = "Soybean meal (豆粕)", Category = FeedCategory.Concentrate },
        new() { Id = "beet_pulp", Name = "Beet pulp (甜菜粕)", Category = FeedCategory.Other },
        new() { Id = "mineral_premix", Name = "Mineral and vitamin premix (预混料)", Category = FeedCategory.Other },
    ];

    public IReadOnlyList<FeedDefinition> EffectiveFeeds => Feeds.Count > 0 ? Feeds : DefaultFeeds;

    public FeedDefinition? Find(string feedId)
    {
        foreach (var feed in EffectiveFeeds)
        {
            if (feed.Id == feedId)
            {
                return feed;
            }
        }

        return null;
    }
}
