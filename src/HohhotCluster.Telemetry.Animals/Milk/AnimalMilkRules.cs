using HohhotCluster.Telemetry.Contracts;

namespace HohhotCluster.Telemetry.Animals.Milk;

/// <summary>What the platform knows of one milking's milk, as bits (stored in <c>animal_milk_day.flags</c>).</summary>
[Flags]
public enum AnimalMilkFlags : short
{
    None = 0,

    /// <summary>ICAR <c>milkingRemarks</c> <c>MilkedSeparately</c>: the milk was kept out of the bulk tank.</summary>
    MilkedSeparately = 1,

    /// <summary>The animal was under a milk withdrawal (a treatment's or a withdrawal event's) at the milking.</summary>
    Withdrawal = 2,

    /// <summary>Colostrum: the milking's China day is within <see cref="AnimalMilkRules.ColostrumDays"/> days after the calving.</summary>
    Colostrum = 4,

    /// <summary>The ear tag was not registered alive on the milking's pasture when the milking was counted.</summary>
    Unregistered = 8,
}

/// <summary>What the registry says of an animal for its milk: where it is, its lactation, its milk withdrawal.</summary>
public sealed record AnimalMilkFacts(AnimalStatus Status, string PastureId, DateOnly? LactationStart, DateTimeOffset? MilkWithdrawalEnd);

/// <summary>One milking's kg split the way throughput reports it; the first four add up to the milking's kg.</summary>
public readonly record struct AnimalMilkSplit(double SaleableKg, double WithdrawalKg, double ColostrumKg, double SeparatedKg, double UnregisteredKg);

/// <summary>
/// The platform's rules for one milking's milk (pure). GB 19301 (the brief's domain notes): colostrum, the first
/// 7 days after calving, and milk of animals under treatment or in their withdrawal period are not raw milk and must
/// never reach a bulk-tank lot.
/// </summary>
public static class AnimalMilkRules
{
    /// <summary>
    /// Days after the calving's China day whose milk is colostrum: days in milk 0 (the calving day) to 7. The registry
    /// keeps the calving as a day, not a time, so "the first 7 days" is read the side that never lets colostrum in: a
    /// milking on day 7 may be 6 days and a few hours after the calving.
    /// </summary>
    public const int ColostrumDays = 7;

    /// <summary>The milking's flags from the registry's facts of its animal at the time it is counted.</summary>
    public static AnimalMilkFlags Classify(AnimalMilkFacts? animal, string pastureId, DateTimeOffset milkingTime, bool milkedSeparately)
    {
        var flags = milkedSeparately ? AnimalMilkFlags.MilkedSeparately : AnimalMilkFlags.None;
        if (animal is null || animal.Status != AnimalStatus.Alive || animal.PastureId != pastureId)
        {
            return flags | AnimalMilkFlags.Unregistered;
        }

        if (animal.MilkWithdrawalEnd is { } end && milkingTime < end)
        {
            flags |= AnimalMilkFlags.Withdrawal;
        }

        if (DaysInMilk(animal.LactationStart, ChinaTime.LocalDate(milkingTime)) is >= 0 and <= ColostrumDays)
        {
            flags |= AnimalMilkFlags.Colostrum;
        }

        return flags;
    }

    /// <summary>Days since the lactation's calving day (0 on that day), or null without a lactation.</summary>
    public static int? DaysInMilk(DateOnly? lactationStart, DateOnly day) =>
        lactationStart is { } start ? day.DayNumber - start.DayNumber : null;

    /// <summary>
    /// Where the milk went, for the report: withdrawal milk first (whatever else is true of it), then colostrum, then
    /// milk kept out of the tank for another reason; saleable is what reached the tank and is neither. An unregistered
    /// ear tag's milk is counted in its class and also apart (the registry cannot vouch for it).
    /// </summary>
    public static AnimalMilkSplit Split(AnimalMilkFlags flags, double kg)
    {
        var withdrawal = flags.HasFlag(AnimalMilkFlags.Withdrawal) ? kg : 0;
        var colostrum = withdrawal == 0 && flags.HasFlag(AnimalMilkFlags.Colostrum) ? kg : 0;
        var separated = withdrawal == 0 && colostrum == 0 && flags.HasFlag(AnimalMilkFlags.MilkedSeparately) ? kg : 0;
        var saleable = kg - withdrawal - colostrum - separated;
        return new AnimalMilkSplit(saleable, withdrawal, colostrum, separated, flags.HasFlag(AnimalMilkFlags.Unregistered) ? kg : 0);
    }

    /// <summary>Milk GB 19301 keeps out of the tank that went into it: an alert, and the lot it went into is flagged.</summary>
    public static bool ReachedTankUnfit(AnimalMilkFlags flags) =>
        !flags.HasFlag(AnimalMilkFlags.MilkedSeparately) && (flags & (AnimalMilkFlags.Withdrawal | AnimalMilkFlags.Colostrum)) != 0;
}
