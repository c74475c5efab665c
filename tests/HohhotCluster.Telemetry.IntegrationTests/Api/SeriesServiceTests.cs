using System.Globalization;
using Grpc.Core;
using HohhotCluster.Telemetry.Client;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;
using HohhotCluster.Telemetry.TimeSeries;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.IntegrationTests.Api;

/// <summary>
/// A platform whose raw points are kept 3 hours and hourly aggregates 6 hours (so a range a few hours old is already
/// "older than the raw retention"), with milkings, bulk-tank levels and intakes of the last two hours published
/// through its MQTT endpoint, and a pasture operator's viewer who holds pasture A only.
/// </summary>
public sealed class SeriesPlatform : IAsyncLifetime
{
    public static readonly InfluxRetentionOptions Retention = new() { Raw = TimeSpan.FromHours(3), Hourly = TimeSpan.FromHours(6) };

    public PlatformProcess Platform { get; private set; } = null!;
    public TestFleet Fleet { get; } = new();
    public PlatformConnection PastureViewer { get; private set; } = null!;

    /// <summary>When the readings were published (their event times are before it).</summary>
    public DateTimeOffset Now { get; private set; }

    public List<(DateTimeOffset At, double Kg)> Milkings { get; } = [];
    public List<(DateTimeOffset At, double Kg)> Intakes { get; } = [];
    public List<(DateTimeOffset At, double Litres, double Celsius)> Levels { get; } = [];

    public async Task InitializeAsync()
    {
        Platform = await PlatformProcess.StartAsync(settings: new Dictionary<string, string>
        {
            ["Influx__Retention__Raw"] = "03:00:00",
            ["Influx__Retention__Hourly"] = "06:00:00",
        });
        await Fleet.RegisterAsync(Platform);
        var identity = new IdentityService.IdentityServiceClient(Platform.Channel);
        var farm = new CreateOrganisationRequest { Id = Fleet.Prefix + "-farm", Kind = OrganisationKind.PastureOperator, Name = "Series farm" };
        farm.PastureIds.Add(Fleet.PastureA);
        await identity.CreateOrganisationAsync(farm);
        var viewer = await identity.CreateAccountAsync(new CreateAccountRequest
        {
            OrganisationId = farm.Id, Id = Fleet.Prefix + "-viewer", Kind = AccountKind.User, Role = AccountRole.Viewer,
        });
        PastureViewer = Platform.ConnectAs(new PlatformCredential.Password(Fleet.Prefix + "-viewer", viewer.Secret));

        // Points go to the raw policy only once it is the database's default: wait for the platform's set-up.
        await Eventually.WaitAsync(async () => (await Platform.Influx.ExecuteAsync($"SHOW RETENTION POLICIES ON \"{Platform.InfluxDatabase}\"")).ToString(),
            text => text.Contains("\"raw\",\"3h0m0s\"", StringComparison.Ordinal) && text.Contains("\"raw\",\"3h0m0s\",\"1h0m0s\",1,true", StringComparison.Ordinal));

        Now = DateTimeOffset.UtcNow;
        var start = new DateTimeOffset(Now.Ticks - Now.Ticks % TimeSpan.TicksPerMinute, TimeSpan.Zero).AddMinutes(-125);
        await using (var pasture = await Gateway.ConnectAsync(Platform, Fleet.PastureA, Fleet.PasswordOf(Fleet.PastureA)))
        {
            for (var i = 0; i < 12; i++)
            {
                var at = start.AddMinutes(i * 10 + (i % 3));
                var kg = 10.25 + i * 1.5;
                Assert.True(await pasture.PublishAsync(Payloads.Topic("pasture", Fleet.PastureA, Fleet.MeterA, "milking"),
                    Payloads.Milking(Fleet.MeterA, i + 1, at, Fleet.HerdA1, kg)));
                Milkings.Add((at, kg));
            }

            // Uneven levels: three in the first half hour, one an hour later, so a mean of hourly means would differ.
            foreach (var (minutes, litres, celsius) in new[] { (1, 1000.0, 3.0), (7, 1500.0, 3.5), (13, 2000.0, 4.0), (71, 2600.0, 6.0), (100, 3000.0, 4.4) })
            {
                var at = start.AddMinutes(minutes);
                var payload = System.Text.Json.Nodes.JsonNode.Parse(Payloads.Level(Fleet.TankA, Levels.Count + 1, at, litres))!;
                payload["temperatureC"] = celsius;
                Assert.True(await pasture.PublishAsync(Payloads.Topic("pasture", Fleet.PastureA, Fleet.TankA, "bulk_tank"), payload.ToJsonString()));
                Levels.Add((at, litres, celsius));
            }
        }

        await using (var plant = await Gateway.ConnectAsync(Platform, Fleet.Plant, Fleet.PasswordOf(Fleet.Plant)))
        {
            for (var i = 0; i < 4; i++)
            {
                var at = start.AddMinutes(5 + i * 30);
                var kg = 8_000 + i * 125.5;
                Assert.True(await plant.PublishAsync(Payloads.Topic("plant", Fleet.Plant, Fleet.Weighbridge, "plant_intake"),
                    Payloads.Intake(Fleet.Weighbridge, i + 1, at, "TL-series-" + i, kg)));
                Intakes.Add((at, kg));
            }
        }
    }

    /// <summary>The aggregates of the published points, computed by InfluxDB itself with the platform's own statements.</summary>
    public async Task BackfillAsync()
    {
        var retention = new InfluxRetention(Options.Create(new InfluxOptions { Url = Platform.InfluxUrl, Database = Platform.InfluxDatabase }),
            Options.Create(Retention), NullLogger<InfluxRetention>.Instance);
        await retention.BackfillAsync(Now.AddHours(-5), Now.AddHours(1), CancellationToken.None);
    }

    public async Task DisposeAsync() => await Platform.DisposeAsync();
}

/// <summary>SeriesService against the real InfluxDB: the policy each range is read from, the values, the refusals.</summary>
public sealed class SeriesServiceTests(SeriesPlatform fixture) : IClassFixture<SeriesPlatform>
{
    private SeriesService.SeriesServiceClient Operator => new(fixture.Platform.Channel);

    private static string Rfc3339(DateTimeOffset t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture);

    private static DateTimeOffset Start(SeriesPoint p) => DateTimeOffset.Parse(p.Start, CultureInfo.InvariantCulture);

    private static DateTimeOffset Floor(DateTimeOffset t, TimeSpan size, TimeSpan offset) =>
        new(t.UtcTicks - ((t.UtcTicks - offset.Ticks) % size.Ticks + size.Ticks) % size.Ticks, TimeSpan.Zero);

    [Fact]
    public async Task A_recent_short_range_reads_the_raw_points_and_answers_the_written_values()
    {
        var f = fixture;
        var reply = await Operator.GetSeriesAsync(new GetSeriesRequest
        {
            Metric = SeriesMetric.MilkYieldKg, HerdId = f.Fleet.HerdA1, From = Rfc3339(f.Milkings[0].At.AddMinutes(-1)), To = Rfc3339(f.Now), IntervalSeconds = 60,
        });
        Assert.Equal("raw", reply.Policy);
        Assert.Contains("raw points", reply.PolicyReason, StringComparison.Ordinal);
        Assert.Equal(SeriesAggregation.Sum, reply.Aggregation);
        Assert.Equal("kg", reply.Unit);
        Assert.Equal(f.Milkings.Select(m => (m.At, m.Kg)), reply.Points.Select(p => (Start(p), p.Value)));
        Assert.All(reply.Points, p => Assert.Equal(1, p.Count));

        var intake = await Operator.GetSeriesAsync(new GetSeriesRequest
        {
            Metric = SeriesMetric.PlantIntakeKg, PlantId = f.Fleet.Plant, From = Rfc3339(f.Now.AddHours(-2.5)), IntervalSeconds = 1800,
        });
        Assert.Equal("raw", intake.Policy);
        Assert.Equal(f.Intakes.Sum(i => i.Kg), intake.Points.Sum(p => p.Value), 6);
        Assert.Equal(f.Intakes.Count, intake.Points.Sum(p => p.Count));

        var temperature = await Operator.GetSeriesAsync(new GetSeriesRequest
        {
            Metric = SeriesMetric.BulkTankTemperatureC, PastureId = f.Fleet.PastureA, From = Rfc3339(f.Now.AddHours(-2.5)), IntervalSeconds = 60,
        });
        Assert.Equal(SeriesAggregation.Mean, temperature.Aggregation);
        Assert.Equal(f.Levels.Select(l => l.Celsius), temperature.Points.Select(p => p.Value));
    }

    [Fact]
    public async Task A_range_older_than_the_raw_retention_reads_the_hourly_and_then_the_daily_aggregates_with_the_raw_sums()
    {
        var f = fixture;
        await f.BackfillAsync();

        // Four hours back starts before the raw points' 3 h: the hourly aggregates, summed per hour as the raw points were.
        var hourly = await Operator.GetSeriesAsync(new GetSeriesRequest
        {
            Metric = SeriesMetric.MilkYieldKg, PastureId = f.Fleet.PastureA, From = Rfc3339(f.Now.AddHours(-4)), To = Rfc3339(f.Now), IntervalSeconds = 3600,
        });
        Assert.Equal("hourly", hourly.Policy);
        Assert.Contains("starts before the raw points' retention (3 h)", hourly.PolicyReason, StringComparison.Ordinal);
        var byHour = f.Milkings.GroupBy(m => Floor(m.At, TimeSpan.FromHours(1), TimeSpan.Zero)).OrderBy(g => g.Key)
            .Select(g => (g.Key, Math.Round(g.Sum(m => m.Kg), 6), (long)g.Count())).ToList();
        Assert.Equal(byHour, hourly.Points.Select(p => (Start(p), Math.Round(p.Value, 6), p.Count)).ToList());

        // A mean over two hours from the hourly aggregates is the readings' mean (stored sums over stored counts).
        var temperature = await Operator.GetSeriesAsync(new GetSeriesRequest
        {
            Metric = SeriesMetric.BulkTankTemperatureC, PastureId = f.Fleet.PastureA, TankId = "T1", From = Rfc3339(f.Now.AddHours(-4)), IntervalSeconds = 7200,
        });
        Assert.Equal("hourly", temperature.Policy);
        var byTwoHours = f.Levels.GroupBy(l => Floor(l.At, TimeSpan.FromHours(2), TimeSpan.Zero)).OrderBy(g => g.Key)
            .Select(g => (g.Key, Math.Round(g.Average(l => l.Celsius), 6))).ToList();
        Assert.Equal(byTwoHours, temperature.Points.Select(p => (Start(p), Math.Round(p.Value, 6))).ToList());

        // Two days back starts before the hourly aggregates' 6 h: the daily ones, by China Standard Time day.
        var daily = await Operator.GetSeriesAsync(new GetSeriesRequest
        {
            Metric = SeriesMetric.PlantIntakeKg, PlantId = f.Fleet.Plant, From = Rfc3339(f.Now.AddDays(-2)), IntervalSeconds = 86400,
        });
        Assert.Equal("daily", daily.Policy);
        Assert.Contains("starts before the hourly aggregates' retention (6 h)", daily.PolicyReason, StringComparison.Ordinal);
        var byDay = f.Intakes.GroupBy(i => Floor(i.At, TimeSpan.FromDays(1), TimeSpan.FromHours(-8))).OrderBy(g => g.Key)
            .Select(g => (g.Key, Math.Round(g.Sum(i => i.Kg), 6))).ToList();
        Assert.Equal(byDay, daily.Points.Select(p => (Start(p), Math.Round(p.Value, 6))).ToList());
        Assert.All(daily.Points, p => Assert.Equal(16, Start(p).UtcDateTime.Hour));
    }

    [Fact]
    public async Task A_range_too_long_for_its_interval_is_refused_naming_the_interval()
    {
        var f = fixture;
        var tooMany = await Assert.ThrowsAsync<RpcException>(() => Operator.GetSeriesAsync(new GetSeriesRequest
        {
            Metric = SeriesMetric.MilkYieldKg, PastureId = f.Fleet.PastureA, From = Rfc3339(f.Now.AddHours(-2)), To = Rfc3339(f.Now), IntervalSeconds = 1,
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, tooMany.StatusCode);
        Assert.Contains("7200 intervals of interval_seconds 1, more than 5000; ask interval_seconds 2 or more", tooMany.Status.Detail, StringComparison.Ordinal);

        // Four hours back are read from the hourly aggregates (raw points are kept 3 h here): a minute is too fine.
        var tooFine = await Assert.ThrowsAsync<RpcException>(() => Operator.GetSeriesAsync(new GetSeriesRequest
        {
            Metric = SeriesMetric.MilkYieldKg, PastureId = f.Fleet.PastureA, From = Rfc3339(f.Now.AddHours(-4)), IntervalSeconds = 60,
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, tooFine.StatusCode);
        Assert.Contains("interval_seconds 60 does not fit the hourly policy", tooFine.Status.Detail, StringComparison.Ordinal);
        Assert.Contains("a whole multiple of 3600 s", tooFine.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_request_that_does_not_name_its_scope_right_is_refused_naming_the_field()
    {
        var f = fixture;
        async Task<RpcException> Refused(GetSeriesRequest request) =>
            await Assert.ThrowsAsync<RpcException>(() => Operator.GetSeriesAsync(request).ResponseAsync);
        var from = Rfc3339(f.Now.AddHours(-1));
        var cases = new (GetSeriesRequest Request, string Detail)[]
        {
            (new() { PastureId = f.Fleet.PastureA, From = from, IntervalSeconds = 60 }, "metric is required"),
            (new() { Metric = SeriesMetric.MilkYieldKg, PastureId = f.Fleet.PastureA, IntervalSeconds = 60 }, "from is required"),
            (new() { Metric = SeriesMetric.MilkYieldKg, PastureId = f.Fleet.PastureA, From = "yesterday", IntervalSeconds = 60 }, "from must be RFC 3339"),
            (new() { Metric = SeriesMetric.MilkYieldKg, PastureId = f.Fleet.PastureA, From = from }, "interval_seconds is required"),
            (new() { Metric = SeriesMetric.MilkYieldKg, PastureId = f.Fleet.PastureA, PlantId = f.Fleet.Plant, From = from, IntervalSeconds = 60 }, "plant_id does not apply"),
            (new() { Metric = SeriesMetric.PlantIntakeKg, From = from, IntervalSeconds = 60 }, "plant_id is required"),
            (new() { Metric = SeriesMetric.BulkTankTemperatureC, PastureId = f.Fleet.PastureA, From = from, IntervalSeconds = 60, Aggregation = SeriesAggregation.Sum }, "SUM is not meaningful"),
        };
        foreach (var (request, detail) in cases)
        {
            var refused = await Refused(request);
            Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
            Assert.Contains(detail, refused.Status.Detail, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_caller_is_answered_only_for_the_pastures_and_plants_it_sees()
    {
        var f = fixture;
        var viewer = new SeriesService.SeriesServiceClient(f.PastureViewer.Channel);
        var from = Rfc3339(f.Now.AddHours(-2.5));
        var own = await viewer.GetSeriesAsync(new GetSeriesRequest { Metric = SeriesMetric.MilkYieldKg, PastureId = f.Fleet.PastureA, From = from, IntervalSeconds = 3600 });
        Assert.Equal(f.Milkings.Sum(m => m.Kg), own.Points.Sum(p => p.Value), 6);

        foreach (var request in new[]
        {
            new GetSeriesRequest { Metric = SeriesMetric.MilkYieldKg, PastureId = f.Fleet.PastureB, From = from, IntervalSeconds = 3600 },
            new GetSeriesRequest { Metric = SeriesMetric.MilkYieldKg, HerdId = f.Fleet.HerdB1, From = from, IntervalSeconds = 3600 },
            new GetSeriesRequest { Metric = SeriesMetric.PlantIntakeKg, PlantId = f.Fleet.Plant, From = from, IntervalSeconds = 3600 },
            new GetSeriesRequest { Metric = SeriesMetric.BulkTankVolumeL, PastureId = "no-such-pasture", From = from, IntervalSeconds = 3600 },
        })
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => viewer.GetSeriesAsync(request).ResponseAsync);
            Assert.Equal(StatusCode.NotFound, refused.StatusCode);
            Assert.Contains("is registered that you may see", refused.Status.Detail, StringComparison.Ordinal);
        }
    }
    [Fact]
    public async Task The_series_command_prints_the_policy_its_reason_and_the_buckets()
    {
        var f = fixture;
        var token = await f.Platform.OperatorTokenAsync();
        var (exitCode, output) = await CommandLine.RunAsync("src/HohhotCluster.Telemetry.Cli", "hohhot",
            "series", "--metric", "plant-intake", "--plant", f.Fleet.Plant, "--from", Rfc3339(f.Now.AddHours(-2.5)), "--interval", "30m",
            "--api", f.Platform.ApiUrl, "--token", token);
        Assert.True(exitCode == 0, output);
        Assert.Contains("read from the raw policy: raw points: the range starts within their retention (3 h)", output, StringComparison.Ordinal);
        foreach (var (_, kg) in f.Intakes)
        {
            Assert.Contains(kg.ToString("0.###", CultureInfo.InvariantCulture), output, StringComparison.Ordinal);
        }

        var (refused, text) = await CommandLine.RunAsync("src/HohhotCluster.Telemetry.Cli", "hohhot",
            "series", "--metric", "plant-intake", "--plant", f.Fleet.Plant, "--from", Rfc3339(f.Now.AddHours(-2)), "--to", Rfc3339(f.Now), "--interval", "1",
            "--api", f.Platform.ApiUrl, "--token", token);
        Assert.Equal(2, refused);
        Assert.Contains("InvalidArgument: The range from", text, StringComparison.Ordinal);
    }
}
