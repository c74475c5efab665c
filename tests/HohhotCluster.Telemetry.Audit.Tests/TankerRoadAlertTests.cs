using System.Globalization;
using System.Text.Json;
using HohhotCluster.Telemetry.Audit.Alerts;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.Traceability;
using HohhotCluster.Telemetry.Traceability.Tanker;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Audit.Tests;

/// <summary>
/// The road alerts against a real PostgreSQL: the chain (pickup, intake) written by the chain's own store, the readings
/// by the tanker_log kind, the rule fed as the pipeline feeds its observers.
/// </summary>
public sealed class TankerRoadAlertTests(AuditDatabase db) : IClassFixture<AuditDatabase>
{
    private static readonly DateTimeOffset PickedUp = new(2026, 11, 29, 6, 0, 0, TimeSpan.FromHours(8));
    private static readonly IOptions<TraceabilityOptions> Trace = Options.Create(new TraceabilityOptions());
    private long _seq;

    private TankerLogStore Roads => new(db.DataSource, Trace);

    private TankerRoadAlerts Rule(AlertOptions? alerts = null) =>
        new(Roads, db.Alerts(), Options.Create(new AuditOptions { Alerts = alerts ?? new AlertOptions() }), db.Clock);

    private static string Id(string what) => what + "-" + Guid.NewGuid().ToString("N")[..8];

    private static DeviceContext Logger(string plant) => new() { DeviceId = plant + "-TL1", OwnerKind = "plant", OwnerId = plant, CountyId = "150105" };

    private async Task PickupAsync(string pasture, string load, DateTimeOffset at)
    {
        var write = new ChainWrite();
        var lot = new LotNode { Kind = LotKinds.BulkTank, LotId = Id("BTL"), PastureId = pasture };
        write.Lots.Add(lot);
        write.Lots.Add(new LotNode { Kind = LotKinds.TankerLoad, LotId = load });
        write.Edges.Add(new EdgeWrite(lot.Ref, new LotRef(LotKinds.TankerLoad, load), 12_000, at, 3.8));
        await new ChainStore(db.DataSource).ApplyAsync([write], default);
    }

    /// <summary>A reading every 5 minutes for <paramref name="minutes"/>, compartment 2 at <paramref name="compartment2C"/>.</summary>
    private async Task<List<Accepted<TankerLogRecord>>> DriveAsync(string plant, string load, int minutes, Func<int, double> compartment2C)
    {
        var kind = new TankerLogKind(Roads);
        var accepted = new List<Accepted<TankerLogRecord>>();
        for (var minute = 0; minute <= minutes; minute += 5)
        {
            var json = $$"""
                { "tankerLoadId": "{{load}}", "tankerPlate": "蒙A12345",
                  "compartments": [ { "compartment": 1, "temperatureC": 3.9 }, { "compartment": 2, "temperatureC": {{compartment2C(minute).ToString(CultureInfo.InvariantCulture)}} } ],
                  "latitude": {{(40.80 + minute / 1000.0).ToString(CultureInfo.InvariantCulture)}}, "longitude": 111.70 }
                """;
            using var document = JsonDocument.Parse(json);
            var key = new ReadingKey(plant + "-TL1", 1, Interlocked.Increment(ref _seq));
            Assert.True(kind.TryParse(document.RootElement, key, PickedUp.AddMinutes(minute), out var record, out var rejection), rejection.Detail);
            accepted.Add(new Accepted<TankerLogRecord>(key, PickedUp.AddMinutes(minute), Logger(plant), "t", record));
        }

        await kind.ApplyAsync(accepted, default);
        return accepted;
    }

    private async Task<IReadOnlyList<AlertRow>> AlertsOfAsync(string kind, string load) =>
        await db.Alerts().QueryAsync(new AlertFilter { Kind = kind, Subject = "tanker_load:" + load }, default);

    [Fact]
    public async Task A_load_above_7_C_for_longer_than_allowed_in_transit_raises_and_a_cold_one_does_not()
    {
        var plant = Id("PL");
        var (hot, cold) = (Id("TL-HOT"), Id("TL-COLD"));
        await PickupAsync("P1", hot, PickedUp);
        await PickupAsync("P1", cold, PickedUp);
        // Hot: compartment 2's cooling fails after 30 minutes; it warms by 0.1 °C a minute (7.0 at minute 60) up to 9.5 °C.
        var hotReadings = await DriveAsync(plant, hot, 120, m => m < 30 ? 4.0 : Math.Min(9.5, 4.0 + (m - 30) / 10.0));
        var coldReadings = await DriveAsync(plant, cold, 120, _ => 4.1);

        var rule = Rule();
        await rule.OnAcceptedAsync(hotReadings, default);
        await rule.OnAcceptedAsync(coldReadings, default);

        var alert = Assert.Single(await AlertsOfAsync(AlertKinds.TankerTransitTemperature, hot));
        Assert.Equal("warning", alert.Severity);
        Assert.Equal(plant, alert.PlantId);
        Assert.Equal("150105", alert.CountyId);
        // Above 7.0 from minute 65 (7.5 °C) to minute 120, the last reading standing until nothing (no intake yet): 55 min.
        Assert.Contains("compartment 2 spent 55 min above 7.0 °C in transit (limit 30 min), warmest 9.5 °C", alert.Message, StringComparison.Ordinal);
        Assert.Equal(PickedUp.AddMinutes(65).UtcDateTime, alert.Since);
        Assert.All(alert.ParseReadings(), r => Assert.True(r.Value > 7.0));
        Assert.Empty(await AlertsOfAsync(AlertKinds.TankerTransitTemperature, cold));
    }

    [Fact]
    public async Task A_warm_spell_no_longer_than_the_allowed_time_raises_nothing()
    {
        var plant = Id("PL");
        var load = Id("TL");
        await PickupAsync("P1", load, PickedUp);
        // 7.5 °C at minutes 60, 65, ..., 85 and cold again at 90: exactly 30 minutes above, not more.
        var readings = await DriveAsync(plant, load, 120, m => m is >= 60 and < 90 ? 7.5 : 4.0);

        await Rule().OnAcceptedAsync(readings, default);

        Assert.Empty(await AlertsOfAsync(AlertKinds.TankerTransitTemperature, load));
    }

    [Fact]
    public async Task Redelivered_readings_raise_the_alert_once()
    {
        var plant = Id("PL");
        var load = Id("TL");
        await PickupAsync("P1", load, PickedUp);
        var readings = await DriveAsync(plant, load, 90, _ => 11.0);
        var rule = Rule();

        await rule.OnAcceptedAsync(readings, default);
        await rule.OnAcceptedAsync(readings, default);

        var alert = Assert.Single(await AlertsOfAsync(AlertKinds.TankerTransitTemperature, load));
        Assert.Equal("critical", alert.Severity); // warmer than the 10 °C rejection limit
    }

    [Fact]
    public async Task A_route_longer_than_the_band_raises_at_the_intake_and_a_usual_one_does_not()
    {
        var plant = Id("PL");
        var (slow, usual) = (Id("TL-SLOW"), Id("TL-OK"));
        await PickupAsync("P1", slow, PickedUp);
        await PickupAsync("P1", usual, PickedUp);

        // The intakes are observed before the chain observer wrote their receipts: the rule ends the route at the intake itself.
        var weighbridge = new DeviceContext { DeviceId = plant + "-WB1", OwnerKind = "plant", OwnerId = plant, CountyId = "150105" };
        await Rule().OnAcceptedAsync(
        [
            new Accepted<PlantIntakeDraft>(new("WB", 1, 1), PickedUp.AddHours(7), weighbridge, "t", new PlantIntakeDraft(slow, 12_000, 4.0, "蒙A1", "S1")),
            new Accepted<PlantIntakeDraft>(new("WB", 1, 2), PickedUp.AddHours(2), weighbridge, "t", new PlantIntakeDraft(usual, 12_000, 4.0, null, "S1")),
        ], default);

        var alert = Assert.Single(await AlertsOfAsync(AlertKinds.TankerRouteTime, slow));
        Assert.Contains($"Tanker load {slow} (tanker 蒙A1) took 420 min from its first pickup to the intake: longer than the 10-360 min band", alert.Message, StringComparison.Ordinal);
        Assert.Equal(plant, alert.PlantId);
        Assert.Empty(await AlertsOfAsync(AlertKinds.TankerRouteTime, usual));
    }

    [Fact]
    public void A_route_shorter_than_the_band_is_out_of_band_too()
    {
        var road = TankerRoad.Summarise("TL-1", [], PickedUp, PickedUp.AddMinutes(4), "PL-1", new TraceabilityOptions().TankerLog.Limits);

        var drafts = TankerRoadAlerts.Judge(road, new TankerRoadAlerts.LoadContext("PL-1", "150105", null), new AlertOptions());

        var draft = Assert.Single(drafts);
        Assert.Equal(AlertKinds.TankerRouteTime, draft.Kind);
        Assert.Contains("took 4 min from its first pickup to the intake at plant PL-1: shorter than", draft.Message, StringComparison.Ordinal);
    }
}
