namespace HohhotCluster.Telemetry.Audit.Feeding;

/// <summary>The feeding alerts' judgements, pure, so each threshold is tested apart from the store that applies it.</summary>
public static class FeedingAlertRules
{
    /// <summary>Loaded against recipe, % of the recipe (positive: overloaded).</summary>
    public static double LoadingDeviationPercent(double recipeKg, double loadedKg) => (loadedKg - recipeKg) / recipeKg * 100.0;

    public static bool LoadingDeviates(double recipeKg, double loadedKg, FeedingOptions options) =>
        Math.Abs(LoadingDeviationPercent(recipeKg, loadedKg)) > options.LoadingDeviationPercent;

    /// <summary>Refusals, % of the kg delivered as fed; null when nothing was delivered.</summary>
    public static double? RefusalsPercent(double deliveredKg, double refusedKg) => deliveredKg > 0 ? refusedKg / deliveredKg * 100.0 : null;

    public static bool RefusalsOutOfBand(double percent, FeedingOptions options) =>
        percent < options.RefusalsMinPercent || percent > options.RefusalsMaxPercent;

    /// <summary>Days the stock lasts at the daily use; null when the feed is not being used (it lasts indefinitely).</summary>
    public static double? DaysOfUse(double stockKg, double dailyUseKg) => dailyUseKg > 0 ? stockKg / dailyUseKg : null;

    public static bool StockLow(double stockKg, double dailyUseKg, FeedingOptions options) =>
        DaysOfUse(stockKg, dailyUseKg) is { } days && days < options.StockMinDays;
}
