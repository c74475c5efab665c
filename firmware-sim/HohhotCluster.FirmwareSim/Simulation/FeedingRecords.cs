using HohhotCluster.FirmwareSim.Fleet;

namespace HohhotCluster.FirmwareSim.Simulation;

/// <summary>
/// A ration of the simulated pastures: feeds as fed (share) with their dry matter. Shares and dry matter follow
/// domain.md's typical lactating-cow ration (corn silage 20-25 kg, alfalfa hay 3-4 kg, oat hay 1-2 kg, concentrate
/// 10-12 kg a cow a day; unverified) and a goat ration richer in hay; the dry matter % are common feed-table values
/// (silage about a third, hays and concentrate near 90 %).
/// </summary>
internal sealed record SimRation(string Id, int Version, string Name, (string FeedId, double Share, double DryMatterPercent)[] Feeds)
{
    public double DryMatterFraction
    {
        get
        {
            var dm = 0.0;
            foreach (var feed in Feeds)
            {
                dm += feed.Share * feed.DryMatterPercent / 100.0;
            }
            return dm;
        }
    }

    public static SimRation Cow { get; } = new("LACT-COW", 1, "Lactating cows",
    [
        ("silage_corn", 0.60, 33.0), ("alfalfa_hay", 0.08, 89.0), ("oat_hay", 0.04, 90.0), ("concentrate", 0.28, 88.0),
    ]);

    public static SimRation Goat { get; } = new("LACT-GOAT", 1, "Lactating goats",
    [
        ("alfalfa_hay", 0.30, 89.0), ("oat_hay", 0.20, 90.0), ("silage_corn", 0.25, 33.0), ("concentrate", 0.25, 88.0),
    ]);

    public static SimRation For(AnimalSpecies species) => species == AnimalSpecies.Cow ? Cow : Goat;
}

internal sealed record TmrRationRecord(SimRation Ration, string[] HerdIds);

internal sealed record TmrIngredient(string FeedId, double RecipeKg, double LoadedKg, double DryMatterPercent, string? Origin);

internal sealed record TmrLoadRecord(string LoadId, string HerdId, SimRation Ration, TmrIngredient[] Ingredients)
{
    public double LoadedKg
    {
        get
        {
            var kg = 0.0;
            foreach (var ingredient in Ingredients)
            {
                kg += ingredient.LoadedKg;
            }
            return kg;
        }
    }
}

internal sealed record TmrDeliveryRecord(string HerdId, string Pen, string LoadId, string RationId, int HeadCount, double Kg);

internal sealed record TmrRefusalRecord(string HerdId, string Pen, DateOnly FeedingDay, double Kg, double DryMatterPercent);

internal sealed record FeedStockSimRecord(string StorageId, string Name, string StorageType, string FeedId, double QuantityKg, double CapacityKg,
    double DryMatterPercent, string? Origin);
