using System.Globalization;
using System.Text;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.TimeSeries;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.IntegrationTests.Operations;

/// <summary>Retention policies, continuous queries and policy-aware reads against the real InfluxDB 1.6.</summary>
public sealed class InfluxRetentionTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };

    private static async Task<(string Database, InfluxRetention Retention, InfluxRetentionOptions Options)> FreshAsync(InfluxRetentionOptions? options = null)
    {
        var database = TestServers.UniqueName("rp");
        await new InfluxQuery(database).ExecuteAsync($"CREATE DATABASE \"{database}\"");
        options ??= new InfluxRetentionOptions();
        var retention = new InfluxRetention(
            Options.Create(new InfluxOptions { Url = TestServers.InfluxUrl, Database = database }), Options.Create(options), NullLogger<InfluxRetention>.Instance);
        await retention.ApplyAsync(CancellationToken.None);
        return (database, retention, options);
    }

    private static async Task<Dictionary<string, (string Duration, bool Default)>> PoliciesAsync(string database)
    {
        var reply = await new InfluxQuery(database).ExecuteAsync($"SHOW RETENTION POLICIES ON \"{database}\"");
        return reply.GetProperty("results")[0].GetProperty("series")[0].GetProperty("values").EnumerateArray()
            .ToDictionary(r => r[0].GetString()!, r => (r[1].GetString()!, r[4].GetBoolean()));
    }

    private static async Task WriteAsync(string database, string? policy, string lines)
    {
        var uri = $"{TestServers.InfluxUrl}/write?db={database}&precision=ms" + (policy is null ? "" : "&rp=" + policy);
        using var response = await Http.PostAsync(uri, new StringContent(lines, Encoding.UTF8));
        Assert.True(response.IsSuccessStatusCode, $"write: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task Start_makes_raw_the_default_policy_for_90_days_with_hourly_and_daily_aggregates_kept_longer_and_applies_a_changed_duration()
    {
        var (database, _, _) = await FreshAsync();
        var policies = await PoliciesAsync(database);
        Assert.Equal(("2160h0m0s", true), policies["raw"]);
        Assert.Equal(("17520h0m0s", false), policies["hourly"]);
        Assert.Equal(("87600h0m0s", false), policies["daily"]);
        Assert.False(policies["autogen"].Default, "autogen (kept for ever) is still the default policy");

        var queries = await new InfluxQuery(database).ExecuteAsync("SHOW CONTINUOUS QUERIES");
        var ours = queries.GetProperty("results")[0].GetProperty("series").EnumerateArray().Single(s => s.GetProperty("name").GetString() == database);
        var definitions = ours.GetProperty("values").EnumerateArray().ToDictionary(r => r[0].GetString()!, r => r[1].GetString()!);
        Assert.Contains("INTO " + database + ".hourly.:MEASUREMENT FROM " + database + ".raw./.*/ GROUP BY time(1h), *", definitions["hohhot_hourly"], StringComparison.Ordinal);
        Assert.Contains("GROUP BY time(1d, -8h), *", definitions["hohhot_daily"], StringComparison.Ordinal);

        // A second start with another raw retention (configurable): the policy is altered, the queries recreated once.
        var again = new InfluxRetention(Options.Create(new InfluxOptions { Url = TestServers.InfluxUrl, Database = database }),
            Options.Create(new InfluxRetentionOptions { Raw = TimeSpan.FromDays(30) }), NullLogger<InfluxRetention>.Instance);
        await again.ApplyAsync(CancellationToken.None);
        Assert.Equal(("720h0m0s", true), (await PoliciesAsync(database))["raw"]);
        var after = (await new InfluxQuery(database).ExecuteAsync("SHOW CONTINUOUS QUERIES")).GetProperty("results")[0].GetProperty("series")
            .EnumerateArray().Single(s => s.GetProperty("name").GetString() == database);
        Assert.Equal(2, after.GetProperty("values").GetArrayLength());
    }

    [Fact]
    public async Task Reads_take_raw_points_for_hours_hourly_aggregates_for_a_month_and_daily_ones_for_a_year()
    {
        var (database, retention, options) = await FreshAsync();
        var now = DateTimeOffset.UtcNow;
        var t1 = now.AddHours(-3);
        var t2 = now.AddHours(-2);
        string Ms(DateTimeOffset t) => t.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        // Written without a policy: they land in raw, the default.
        await WriteAsync(database, null,
            $"plant_intake,plant=PL1,device=WB1 net_kg=1000.5,load=\"TL-1\" {Ms(t1)}\n" +
            $"plant_intake,plant=PL1,device=WB1 net_kg=2000 {Ms(t1.AddMinutes(1))}\n" +
            $"plant_intake,plant=PL1,device=WB1 net_kg=500 {Ms(t2)}\n" +
            $"plant_intake,plant=PL2,device=WB9 net_kg=7 {Ms(t2)}");
        await retention.BackfillAsync(now.AddDays(-2), now, CancellationToken.None);
        // Only the daily aggregates hold a day 200 days back (its raw points and hours have aged out).
        await WriteAsync(database, "daily", $"plant_intake,plant=PL1,device=WB1 sum_net_kg=40000 {Ms(now.AddDays(-200))}");

        var reader = new InfluxSeriesReader(retention, Options.Create(options), TimeProvider.System);
        var pl1 = ("plant", "PL1");
        var hours = await reader.SumAsync("plant_intake", "net_kg", now.AddHours(-6), now, TimeSpan.FromHours(1), pl1, CancellationToken.None);
        Assert.Equal("raw", hours.Policy);
        Assert.Equal(3500.5, hours.Buckets.Sum(b => b.Sum), 6);

        var month = await reader.SumAsync("plant_intake", "net_kg", now.AddDays(-30), now, TimeSpan.FromDays(1), pl1, CancellationToken.None);
        Assert.Equal("hourly", month.Policy);
        Assert.Equal(3500.5, month.Buckets.Sum(b => b.Sum), 6);

        var year = await reader.SumAsync("plant_intake", "net_kg", now.AddDays(-365), now, TimeSpan.FromDays(1), pl1, CancellationToken.None);
        Assert.Equal("daily", year.Policy);
        Assert.Equal(43500.5, year.Buckets.Sum(b => b.Sum), 6);
        // A daily bucket is a China Standard Time day: it starts at 16:00 UTC.
        Assert.All(year.Buckets, b => Assert.Equal(16, b.Start.UtcDateTime.Hour));

        // The hourly aggregates keep sum, mean, min, max and count per series and hour.
        var hourly = await new InfluxQuery(database).ExecuteAsync($"SELECT sum_net_kg, count_net_kg, max_net_kg FROM \"hourly\".\"plant_intake\" WHERE plant = 'PL1' AND time >= {Ms(t1.AddHours(-1))}ms");
        var rows = hourly.GetProperty("results")[0].GetProperty("series")[0].GetProperty("values").EnumerateArray().ToList();
        Assert.Equal(3500.5, rows.Sum(r => r[1].GetDouble()), 6);
        Assert.Equal(3, rows.Sum(r => r[2].GetInt64()));
        Assert.Contains(rows, r => r[3].GetDouble() == 2000);
    }

    [Fact]
    public void The_policy_follows_the_range_asked()
    {
        var options = new InfluxRetentionOptions();
        var now = new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal("raw", InfluxSeriesReader.ChoosePolicy(now.AddHours(-12), now, now, options));
        Assert.Equal("hourly", InfluxSeriesReader.ChoosePolicy(now.AddDays(-7), now, now, options));
        // Older than the raw points, though short: the hourly aggregates.
        Assert.Equal("hourly", InfluxSeriesReader.ChoosePolicy(now.AddDays(-120), now.AddDays(-119), now, options));
        Assert.Equal("daily", InfluxSeriesReader.ChoosePolicy(now.AddDays(-365), now, now, options));
        Assert.Equal("daily", InfluxSeriesReader.ChoosePolicy(now.AddDays(-800), now.AddDays(-799), now, options));
    }
}
