using System.Globalization;
using Grpc.Core;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.IntegrationTests.EndToEnd;

/// <summary>
/// GetThroughputHistory (the dashboard's 30-day and 12-month charts): intakes and collections published on known
/// days come back per day and per month, with the mean per reported day; its range limits are refused by field.
/// This class owns its platform alone, so the city is exactly this test's readings.
/// </summary>
public sealed class ThroughputHistoryTests : IAsyncLifetime
{
    private PlatformProcess _platform = null!;

    public async Task InitializeAsync() => _platform = await PlatformProcess.StartAsync("America/New_York");

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    private static string Day(DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private ThroughputService.ThroughputServiceClient Client => new(_platform.Channel);

    [Fact]
    public async Task The_history_answers_each_day_and_month_with_its_sums_and_its_mean_per_reported_day()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(_platform);
        await using var plant = await Gateway.ConnectAsync(_platform, fleet.Plant, fleet.PasswordOf(fleet.Plant));
        await using var pasture = await Gateway.ConnectAsync(_platform, fleet.PastureA, fleet.PasswordOf(fleet.PastureA));
        // Intakes three days and one day ago (none two days ago, none today); a collection one day ago.
        var (d3, d2, d1, today) = (ThroughputProbe.ChinaDay(3), ThroughputProbe.ChinaDay(2), ThroughputProbe.ChinaDay(1), ThroughputProbe.ChinaDay(0));
        var topic = Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake");
        Assert.True(await plant.PublishAsync(topic, Payloads.Intake(fleet.Weighbridge, 1, ThroughputProbe.At(d3, 9, 0), fleet.Prefix + "-TL1", 20_000)));
        Assert.True(await plant.PublishAsync(topic, Payloads.Intake(fleet.Weighbridge, 2, ThroughputProbe.At(d3, 15, 0), fleet.Prefix + "-TL2", 4_500)));
        Assert.True(await plant.PublishAsync(topic, Payloads.Intake(fleet.Weighbridge, 3, ThroughputProbe.At(d1, 9, 0), fleet.Prefix + "-TL3", 12_000)));
        Assert.True(await pasture.PublishAsync(Payloads.Topic("pasture", fleet.PastureA, fleet.TankA, "bulk_tank"),
            Payloads.Collection(fleet.TankA, 1, ThroughputProbe.At(d1, 7, 30), fleet.Prefix + "-BTL1", 8_000)));
        await ThroughputProbe.WaitForCountsAsync(_platform, d1, ScopeKind.City, "", 0, 1, 1);

        var days = await Client.GetThroughputHistoryAsync(new GetThroughputHistoryRequest
        {
            FromDate = Day(d3), ToDate = Day(today), Granularity = ThroughputGranularity.Day, Scope = new Scope { Kind = ScopeKind.City },
        });
        Assert.Equal([Day(d3), Day(d2), Day(d1), Day(today)], days.Periods.Select(p => p.PeriodStart).ToArray());
        Assert.Equal([24.5, 0, 12, 0], days.Periods.Select(p => p.ProcessedT).ToArray());
        Assert.Equal([0, 0, 8, 0], days.Periods.Select(p => p.ProducedT).ToArray());
        Assert.Equal([1, 0, 1, 0], days.Periods.Select(p => p.DaysReported).ToArray());
        Assert.All(days.Periods, p => Assert.Equal((1, p.PeriodStart), (p.Days, p.PeriodEnd)));

        // The plant's own history is the plant grain's, the same numbers.
        var plantDays = await Client.GetThroughputHistoryAsync(new GetThroughputHistoryRequest
        {
            FromDate = Day(d3), ToDate = Day(d1), Scope = new Scope { Kind = ScopeKind.Plant, Id = fleet.Plant },
        });
        Assert.Equal([24.5, 0, 12], plantDays.Periods.Select(p => p.ProcessedT).ToArray());

        // By month: the periods cut at month ends within the range, and the mean is over the days that reported.
        var months = await Client.GetThroughputHistoryAsync(new GetThroughputHistoryRequest
        {
            FromDate = Day(d3), ToDate = Day(today), Granularity = ThroughputGranularity.Month,
        });
        Assert.Equal(Day(d3), months.Periods[0].PeriodStart);
        Assert.Equal(Day(today), months.Periods[^1].PeriodEnd);
        Assert.Equal(d3.Month == today.Month ? 1 : 2, months.Periods.Count);
        Assert.Equal(36.5, months.Periods.Sum(p => p.ProcessedT), 6);
        Assert.Equal(4, months.Periods.Sum(p => p.Days));
        Assert.Equal(2, months.Periods.Sum(p => p.DaysReported));
        if (months.Periods.Count == 1)
        {
            Assert.Equal(36.5 / 2, months.Periods[0].ProcessedTPerDay, 6);
        }

        // Without from_date: 30 days ending to_date, or 12 months.
        var defaultDays = await Client.GetThroughputHistoryAsync(new GetThroughputHistoryRequest { ToDate = Day(d1) });
        Assert.Equal((30, Day(d1.AddDays(-29))), (defaultDays.Periods.Count, defaultDays.FromDate));
        var defaultMonths = await Client.GetThroughputHistoryAsync(new GetThroughputHistoryRequest { ToDate = Day(d1), Granularity = ThroughputGranularity.Month });
        Assert.Equal(12, defaultMonths.Periods.Count);
        Assert.Equal(Day(new DateOnly(d1.Year, d1.Month, 1).AddMonths(-11)), defaultMonths.FromDate);
    }

    [Fact]
    public async Task A_range_over_400_days_reversed_or_misspelt_is_refused_naming_the_field()
    {
        async Task<RpcException> Refused(GetThroughputHistoryRequest request) =>
            await Assert.ThrowsAsync<RpcException>(async () => await Client.GetThroughputHistoryAsync(request));

        var tooLong = await Refused(new GetThroughputHistoryRequest { FromDate = "2025-01-01", ToDate = "2026-02-05" });
        Assert.Equal(StatusCode.InvalidArgument, tooLong.StatusCode);
        Assert.Contains("400 days", tooLong.Status.Detail, StringComparison.Ordinal);
        // 400 days exactly are answered.
        Assert.Equal(400, (await Client.GetThroughputHistoryAsync(new GetThroughputHistoryRequest { FromDate = "2025-01-01", ToDate = "2026-02-04" })).Periods.Count);

        var reversed = await Refused(new GetThroughputHistoryRequest { FromDate = "2026-03-02", ToDate = "2026-03-01" });
        Assert.Equal((StatusCode.InvalidArgument, true), (reversed.StatusCode, reversed.Status.Detail.Contains("from_date", StringComparison.Ordinal)));
        var misspelt = await Refused(new GetThroughputHistoryRequest { ToDate = "2026-13-01" });
        Assert.Equal((StatusCode.InvalidArgument, true), (misspelt.StatusCode, misspelt.Status.Detail.Contains("to_date", StringComparison.Ordinal)));
        var granularity = await Refused(new GetThroughputHistoryRequest { Granularity = (ThroughputGranularity)7 });
        Assert.Equal((StatusCode.InvalidArgument, true), (granularity.StatusCode, granularity.Status.Detail.Contains("granularity", StringComparison.Ordinal)));
        var unknown = await Refused(new GetThroughputHistoryRequest { Scope = new Scope { Kind = ScopeKind.Pasture, Id = "no-such-pasture" } });
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
    }
}
