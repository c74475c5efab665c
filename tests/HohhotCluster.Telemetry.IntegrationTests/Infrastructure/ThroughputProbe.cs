using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>Reads daily throughput through the gRPC API, the way a processor or regulator would.</summary>
public static class ThroughputProbe
{
    public static Task<DailyThroughput> GetAsync(PlatformProcess platform, DateOnly day, ScopeKind kind, string id = "") =>
        new ThroughputService.ThroughputServiceClient(platform.Channel).GetDailyThroughputAsync(new GetDailyThroughputRequest
        {
            LocalDate = day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture),
            Scope = new Scope { Kind = kind, Id = id },
        }).ResponseAsync;

    /// <summary>Waits until the scope's counts reach the expected ones, then returns the reply for exact assertions.</summary>
    public static Task<DailyThroughput> WaitForCountsAsync(
        PlatformProcess platform, DateOnly day, ScopeKind kind, string id, long milkings, long collections, long intakes, TimeSpan? timeout = null) =>
        Eventually.WaitAsync(
            () => GetAsync(platform, day, kind, id),
            r => r.MilkingCount >= milkings && r.CollectionCount >= collections && r.IntakeCount >= intakes,
            timeout);

    /// <summary>China Standard Time "today" minus the given days.</summary>
    public static DateOnly ChinaDay(int daysAgo) =>
        DateOnly.FromDateTime(DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8)).DateTime).AddDays(-daysAgo);

    public static DateTimeOffset At(DateOnly day, int hour, int minute, int second = 0) =>
        new(day.ToDateTime(new TimeOnly(hour, minute, second)), TimeSpan.FromHours(8));
}
