using System.Globalization;

namespace HohhotCluster.Telemetry.Audit.Alerts;

public enum AlertTransition
{
    None,
    Raised,
    Cleared,
}

/// <summary>A bulk tank's warm episode (persisted in its grain): above the limit since when, and whether it was raised.</summary>
public sealed class TankEpisode
{
    public DateTimeOffset? AboveSince { get; set; }
    public DateTimeOffset LastEventTime { get; set; }
    public bool Alerted { get; set; }
    public List<AlertReading> Readings { get; set; } = [];
}

/// <summary>Bulk-tank cold chain: milk above <see cref="AlertOptions.BulkTankMaxC"/> for longer than <see cref="AlertOptions.BulkTankMaxDuration"/>.</summary>
public static class ColdChainRule
{
    private const int ReadingsKept = 12;

    /// <summary>Applies one temperature in event-time order; older or repeated readings change nothing.</summary>
    public static AlertTransition Observe(TankEpisode episode, DateTimeOffset at, double temperatureC, string source, AlertOptions options)
    {
        if (at <= episode.LastEventTime)
        {
            return AlertTransition.None;
        }

        episode.LastEventTime = at;
        if (temperatureC > options.BulkTankMaxC)
        {
            episode.AboveSince ??= at;
            episode.Readings.Add(new AlertReading
            {
                At = at, Name = "temperature", Value = temperatureC, Unit = "°C",
                Limit = "<= " + options.BulkTankMaxC.ToString(CultureInfo.InvariantCulture), Source = source,
            });
            if (episode.Readings.Count > ReadingsKept)
            {
                // Keep the first (the start of the episode) and the latest.
                episode.Readings.RemoveAt(1);
            }

            if (!episode.Alerted && at - episode.AboveSince.Value > options.BulkTankMaxDuration)
            {
                episode.Alerted = true;
                return AlertTransition.Raised;
            }

            return AlertTransition.None;
        }

        var wasAlerted = episode.Alerted;
        episode.AboveSince = null;
        episode.Alerted = false;
        episode.Readings.Clear();
        return wasAlerted ? AlertTransition.Cleared : AlertTransition.None;
    }
}

/// <summary>One cow's conductivity baseline (an EWMA of her own milkings) and her suspicion state.</summary>
public sealed class CowBaseline
{
    public double Mean { get; set; }
    public int Count { get; set; }
    public DateTimeOffset LastEventTime { get; set; }
    public int Consecutive { get; set; }
    public bool Suspected { get; set; }
    public DateTimeOffset? SuspectSince { get; set; }
    public List<AlertReading> Recent { get; set; } = [];
}

/// <summary>
/// Mastitis suspicion from a cow's electrical conductivity against her own baseline: after a warm-up, N consecutive
/// milkings at or above baseline × (1 + rise) raise it; the suspicious milkings do not enter the baseline (so it does
/// not chase the infection); the first milking back below the threshold clears it.
/// </summary>
public static class MastitisRule
{
    private const int RecentKept = 8;

    public static AlertTransition Observe(CowBaseline cow, DateTimeOffset at, double conductivity, string source, AlertOptions options)
    {
        if (at <= cow.LastEventTime)
        {
            return AlertTransition.None;
        }

        cow.LastEventTime = at;
        var threshold = cow.Mean * (1 + options.MastitisRiseFraction);
        cow.Recent.Add(new AlertReading
        {
            At = at, Name = "conductivity", Value = conductivity, Unit = "mS/cm",
            Limit = cow.Count >= options.MastitisWarmupMilkings
                ? $"< {threshold.ToString("F2", CultureInfo.InvariantCulture)} (baseline {cow.Mean.ToString("F2", CultureInfo.InvariantCulture)})"
                : "warm-up",
            Source = source,
        });
        if (cow.Recent.Count > RecentKept)
        {
            cow.Recent.RemoveAt(0);
        }

        if (cow.Count < options.MastitisWarmupMilkings)
        {
            cow.Mean = cow.Count == 0 ? conductivity : cow.Mean + (options.MastitisEwmaAlpha * (conductivity - cow.Mean));
            cow.Count++;
            return AlertTransition.None;
        }

        if (conductivity >= threshold)
        {
            cow.Consecutive++;
            cow.SuspectSince ??= at;
            if (!cow.Suspected && cow.Consecutive >= options.MastitisConsecutiveMilkings)
            {
                cow.Suspected = true;
                return AlertTransition.Raised;
            }

            return AlertTransition.None;
        }

        cow.Mean += options.MastitisEwmaAlpha * (conductivity - cow.Mean);
        cow.Count++;
        cow.Consecutive = 0;
        cow.SuspectSince = null;
        if (cow.Suspected)
        {
            cow.Suspected = false;
            return AlertTransition.Cleared;
        }

        return AlertTransition.None;
    }
}
