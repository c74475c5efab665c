namespace HohhotCluster.Telemetry.Contracts;

/// <summary>
/// The business calendar: the local day in China Standard Time (UTC+8, no daylight saving),
/// whatever the time zone of the server that computes it.
/// </summary>
public static class ChinaTime
{
    public static readonly TimeSpan Offset = TimeSpan.FromHours(8);

    public static DateOnly LocalDate(DateTimeOffset instant) =>
        DateOnly.FromDateTime(instant.ToOffset(Offset).DateTime);

    public static DateOnly Today(TimeProvider clock) => LocalDate(clock.GetUtcNow());

    /// <summary>The UTC instant at which the given local day starts.</summary>
    public static DateTimeOffset StartOfDay(DateOnly localDate) =>
        new DateTimeOffset(localDate.ToDateTime(TimeOnly.MinValue), Offset).ToUniversalTime();
}
