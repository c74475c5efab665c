using System.Text.Json;
using Dapper;
using HohhotCluster.Telemetry.Audit.Alerts;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace HohhotCluster.Telemetry.Audit.Tests;

/// <summary>
/// A watchdog run by a test over a platform's delivered keys and device activity, raising into a database of its own
/// (so the platform's own watchdog, on the real clock, neither races nor clears what this one raises), on a clock
/// the test moves past the grace.
/// </summary>
internal sealed class PlatformWatchdog : IAsyncDisposable
{
    private readonly AuditDatabase _alertsDb = new();
    private NpgsqlDataSource _platform = null!;

    public FakeTimeProvider Clock { get; } = new(DateTimeOffset.UtcNow);

    public DeviceWatchdog Watchdog { get; private set; } = null!;

    public static async Task<PlatformWatchdog> StartAsync(PlatformProcess platform)
    {
        var watchdog = new PlatformWatchdog();
        await watchdog._alertsDb.InitializeAsync();
        watchdog._platform = NpgsqlDataSource.Create(platform.PostgresConnection);
        var alerts = watchdog._alertsDb.Alerts();
        var options = Options.Create(new AuditOptions());
        watchdog.Watchdog = new DeviceWatchdog(
            new DeviceSequenceStore(watchdog._platform, watchdog.Clock),
            new DeviceActivityStore(watchdog._platform, alerts, options, watchdog.Clock),
            alerts, options, watchdog.Clock, NullLogger<DeviceWatchdog>.Instance, PlatformKinds.Registry);
        return watchdog;
    }

    /// <summary>Checks now and again after the grace, so every hole open now has aged.</summary>
    public async Task CheckPastTheGraceAsync(TimeSpan? after = null)
    {
        await Watchdog.CheckOnceAsync(CancellationToken.None);
        Clock.Advance(after ?? new AlertOptions().SequenceGapGrace + TimeSpan.FromSeconds(1));
        await Watchdog.CheckOnceAsync(CancellationToken.None);
    }

    /// <summary>The open alerts of a kind: subject device id, message and the readings' texts.</summary>
    public async Task<IReadOnlyList<(string DeviceId, string Message, string[] Texts)>> OpenAsync(string kind)
    {
        await using var connection = await _alertsDb.DataSource.OpenConnectionAsync();
        var rows = await connection.QueryAsync<(string Subject, string Message, string Readings)>(
            "select subject, message, readings::text from alert where kind = @kind and cleared_at is null", new { kind });
        return rows.Select(r => (r.Subject["device:".Length..], r.Message,
            JsonDocument.Parse(r.Readings).RootElement.EnumerateArray()
                .Select(e => e.TryGetProperty("text", out var t) || e.TryGetProperty("Text", out t) ? t.GetString() ?? "" : "").ToArray())).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        await _platform.DisposeAsync();
        await _alertsDb.DisposeAsync();
    }
}

/// <summary>The sequence-gap check through the real host: a device's keys count once, over every kind and owner it sends.</summary>
public sealed class SequenceGapEndToEndTests(PlatformFixture platform) : IClassFixture<PlatformFixture>
{
    private static string Envelope(string deviceId, long seq, DateTimeOffset eventTime, object body)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(JsonSerializer.Serialize(body))!.AsObject();
        node["deviceId"] = deviceId;
        node["bootEpoch"] = Payloads.Epoch;
        node["seq"] = seq;
        node["eventTime"] = Payloads.Rfc3339(eventTime);
        return node.ToJsonString();
    }

    private async Task<(TestFleet Fleet, Gateway Gateway)> FleetAsync()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(platform.Platform);
        return (fleet, await Gateway.ConnectAsync(platform.Platform, fleet.PastureA, fleet.PasswordOf(fleet.PastureA)));
    }

    private async Task<IReadOnlyList<(string DeviceId, string Message, string[] Texts)>> GapsAfterTheGraceAsync(PlatformWatchdog watchdog)
    {
        await watchdog.CheckPastTheGraceAsync();
        return await watchdog.OpenAsync(AlertKinds.SequenceGap);
    }

    [Fact]
    public async Task A_tank_whose_levels_and_tanker_pickup_share_one_sequence_has_no_gap()
    {
        var (fleet, gateway) = await FleetAsync();
        await using var _ = gateway;
        var tank = fleet.TankA;
        var p = fleet.Prefix;
        var t0 = DateTimeOffset.UtcNow.AddHours(-3);
        var bulk = Payloads.Topic("pasture", fleet.PastureA, tank, "bulk_tank");
        Assert.True(await gateway.PublishAsync(bulk, Payloads.Level(tank, 1, t0, 2_000)));
        Assert.True(await gateway.PublishAsync(bulk, Envelope(tank, 2, t0.AddMinutes(10),
            new { tankId = "T1", @event = "collection", lotId = p + "-B1", collectedKg = 9_000.0, temperatureC = 3.6, tankerLoadId = p + "-TL" })));
        // Stored by the chain component, not the pasture grain: the pasture's applied keys never see seq 3.
        Assert.True(await gateway.PublishAsync(Payloads.Topic("pasture", fleet.PastureA, tank, "tanker_pickup"),
            Envelope(tank, 3, t0.AddMinutes(20), new { lotId = p + "-B1", tankerLoadId = p + "-TL", kg = 8_990.0, temperatureC = 3.8 })));
        Assert.True(await gateway.PublishAsync(bulk, Payloads.Level(tank, 4, t0.AddMinutes(30), 300)));
        await using var watchdog = await PlatformWatchdog.StartAsync(platform.Platform);

        Assert.DoesNotContain(await GapsAfterTheGraceAsync(watchdog), g => g.DeviceId == tank);
    }

    [Fact]
    public async Task A_milk_meter_whose_milkings_go_to_two_herds_has_no_gap()
    {
        var (fleet, gateway) = await FleetAsync();
        await using var _ = gateway;
        var meter = fleet.MeterA;
        var t0 = DateTimeOffset.UtcNow.AddHours(-2);
        var topic = Payloads.Topic("pasture", fleet.PastureA, meter, "milking");
        for (var seq = 1; seq <= 6; seq++)
        {
            // Odd keys to one herd's grain, even keys to the other's: each grain alone holds every other key.
            Assert.True(await gateway.PublishAsync(topic, Payloads.Milking(meter, seq, t0.AddMinutes(seq), seq % 2 == 1 ? fleet.HerdA1 : fleet.HerdA2, 12.5)));
        }

        await using var watchdog = await PlatformWatchdog.StartAsync(platform.Platform);

        Assert.DoesNotContain(await GapsAfterTheGraceAsync(watchdog), g => g.DeviceId == meter);
    }

    [Fact]
    public async Task A_dropped_message_raises_a_sequence_gap_after_the_grace_naming_it_and_clears_when_it_arrives()
    {
        var (fleet, gateway) = await FleetAsync();
        await using var _ = gateway;
        var tank = fleet.TankB;
        var t0 = DateTimeOffset.UtcNow.AddHours(-1);
        await using var pastureB = await Gateway.ConnectAsync(platform.Platform, fleet.PastureB, fleet.PasswordOf(fleet.PastureB));
        var bulk = Payloads.Topic("pasture", fleet.PastureB, tank, "bulk_tank");
        foreach (var seq in new[] { 1, 2, 4, 5 })
        {
            Assert.True(await pastureB.PublishAsync(bulk, Payloads.Level(tank, seq, t0.AddMinutes(seq * 5), 1_000 + seq)));
        }

        await using var watchdog = await PlatformWatchdog.StartAsync(platform.Platform);
        await watchdog.Watchdog.CheckOnceAsync(CancellationToken.None);
        Assert.DoesNotContain(await watchdog.OpenAsync(AlertKinds.SequenceGap), g => g.DeviceId == tank);   // within the grace

        var gap = Assert.Single(await GapsAfterTheGraceAsync(watchdog), g => g.DeviceId == tank);
        Assert.Equal([$"boot {Payloads.Epoch} seq 3-3"], gap.Texts);

        Assert.True(await pastureB.PublishAsync(bulk, Payloads.Level(tank, 3, t0.AddMinutes(15), 1_003)));   // late, not lost
        await watchdog.Watchdog.CheckOnceAsync(CancellationToken.None);
        Assert.DoesNotContain(await watchdog.OpenAsync(AlertKinds.SequenceGap), g => g.DeviceId == tank);
    }

    [Fact]
    public async Task A_quarantined_message_is_delivered_and_leaves_no_gap()
    {
        var (fleet, gateway) = await FleetAsync();
        await using var _ = gateway;
        var meter = fleet.MeterA;
        var t0 = DateTimeOffset.UtcNow.AddHours(-2);
        var topic = Payloads.Topic("pasture", fleet.PastureA, meter, "milking");
        Assert.True(await gateway.PublishAsync(topic, Payloads.Milking(meter, 1, t0, fleet.HerdA1, 12.5)));
        // A herd of another pasture: quarantined as unknown_herd, its key readable. The quarantine explains it.
        Assert.False(await gateway.PublishAsync(topic, Payloads.Milking(meter, 2, t0.AddMinutes(1), fleet.HerdB1, 12.5)));
        Assert.True(await gateway.PublishAsync(topic, Payloads.Milking(meter, 3, t0.AddMinutes(2), fleet.HerdA1, 12.5)));
        await using var watchdog = await PlatformWatchdog.StartAsync(platform.Platform);

        Assert.DoesNotContain(await GapsAfterTheGraceAsync(watchdog), g => g.DeviceId == meter);
    }
}
