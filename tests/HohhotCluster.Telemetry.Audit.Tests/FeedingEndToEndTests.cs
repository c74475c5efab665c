using System.Globalization;
using System.Text.Json;
using Grpc.Core;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.Audit.Tests;

/// <summary>
/// TMR feeding through the real host and its MQTT endpoint: a mixer's ration, load, deliveries and refusal and a feed
/// store's stock become the herd's and pasture's day (gRPC FeedingService), InfluxDB points and a loading alert; a
/// message naming another pasture's herd is quarantined as unknown_herd.
/// </summary>
public sealed class FeedingEndToEndTests(PlatformFixture platform) : IClassFixture<PlatformFixture>
{
    private static readonly DateOnly Yesterday = ThroughputProbe.ChinaDay(1);

    private static string Envelope(string deviceId, long seq, DateTimeOffset eventTime, object body)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(JsonSerializer.Serialize(body))!.AsObject();
        node["deviceId"] = deviceId;
        node["bootEpoch"] = Payloads.Epoch;
        node["seq"] = seq;
        node["eventTime"] = Payloads.Rfc3339(eventTime);
        return node.ToJsonString();
    }

    private static object Feed(string id) => new { scheme = "cn.hohhot.feed", id };

    [Fact]
    public async Task A_mixers_day_becomes_the_herds_feeding_points_and_a_loading_alert()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(platform.Platform);
        var mixer = fleet.PastureA + "-TMR1";
        var store = fleet.PastureA + "-FS1";
        var extra = new RegistryDocument();
        extra.Devices.Add(new Device { Id = mixer, OwnerKind = OwnerKind.Pasture, OwnerId = fleet.PastureA, Kind = "tmr_mixer" });
        extra.Devices.Add(new Device { Id = store, OwnerKind = OwnerKind.Pasture, OwnerId = fleet.PastureA, Kind = "feed_store" });
        await new RegistryService.RegistryServiceClient(platform.Platform.Channel).UpsertRegistryAsync(extra);
        await using var gateway = await Gateway.ConnectAsync(platform.Platform, fleet.PastureA, fleet.PasswordOf(fleet.PastureA));
        var tmr = Payloads.Topic("pasture", fleet.PastureA, mixer, "tmr");
        var at = ThroughputProbe.At(Yesterday, 5, 0);

        // Silage loaded 10 % over its recipe (the loading alert); 1,000 kg delivered to 25 cows, 40 kg refused (4 %).
        var load = Envelope(mixer, 2, at, new
        {
            @event = "load", loadId = fleet.Prefix + "-L1", herdId = fleet.HerdA1, rationId = "R1", rationVersion = 1,
            ingredients = new object[]
            {
                new { feedId = Feed("silage_corn"), recipeKg = 600, loadedKg = 660, dryMatterPercent = 33, origin = "local_farm" },
                new { feedId = Feed("concentrate"), recipeKg = 400, loadedKg = 400, dryMatterPercent = 88 },
            },
        });
        Assert.True(await gateway.PublishAsync(tmr, Envelope(mixer, 1, at.AddMinutes(-30), new
        {
            @event = "ration", herdIds = new[] { fleet.HerdA1 }, rationVersion = 1,
            ration = new { resourceType = "icarRationResource", id = "R1", feeds = new[] { new { feedId = Feed("silage_corn"), percentage = 60.0 }, new { feedId = Feed("concentrate"), percentage = 40.0 } } },
        })));
        Assert.True(await gateway.PublishAsync(tmr, load));
        Assert.True(await gateway.PublishAsync(tmr, load)); // a redelivery: counted once
        Assert.True(await gateway.PublishAsync(tmr, Envelope(mixer, 3, at.AddMinutes(30), new
        {
            @event = "delivery", herdId = fleet.HerdA1, pen = "PEN-1", loadId = fleet.Prefix + "-L1", headCount = 25,
            consumedRation = new { rationId = "R1", entitlement = new { unitCode = "KGM", value = 1000 } },
        })));
        Assert.True(await gateway.PublishAsync(tmr, Envelope(mixer, 4, at.AddHours(17), new { @event = "refusal", herdId = fleet.HerdA1, pen = "PEN-1", refusedKg = 40 })));
        Assert.True(await gateway.PublishAsync(Payloads.Topic("pasture", fleet.PastureA, store, "feed_stock"), Envelope(store, 1, at.AddHours(13), new
        {
            storageType = "silage_clamp", origin = "local_farm",
            storage = new { id = "CLAMP-1", feedId = "silage_corn", quantityAvailable = new { unitCode = "TNE", value = 120 } },
        })));
        // Another pasture's herd: refused (PUBACK 0x99) and quarantined, counted nowhere.
        Assert.False(await gateway.PublishAsync(tmr, Envelope(mixer, 5, at.AddHours(1), new
        {
            @event = "delivery", herdId = fleet.HerdB1, pen = "PEN-1", loadId = fleet.Prefix + "-L1", headCount = 5,
            consumedRation = new { rationId = "R1", entitlement = new { unitCode = "KGM", value = 100 } },
        })));

        var feeding = new FeedingService.FeedingServiceClient(platform.Platform.Channel);
        var date = Yesterday.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var day = await Eventually.WaitAsync(() => feeding.GetDailyFeedingAsync(new GetDailyFeedingRequest { PastureId = fleet.PastureA, LocalDate = date }).ResponseAsync,
            d => d.Pasture.Refusals > 0, TimeSpan.FromSeconds(30));
        var herd = Assert.Single(day.Herds);
        Assert.True(herd.HerdId == fleet.HerdA1, platform.Platform.LogTail());
        Assert.Equal((1, 1060.0, 1000.0, 25), (herd.Loads, herd.LoadedKg, herd.DeliveredKg, herd.CowsInMilk));
        var dmFraction = ((660 * 0.33) + (400 * 0.88)) / 1060;
        Assert.Equal(4.0, herd.RefusalsPercent, 6);
        Assert.Equal(960 * dmFraction, herd.IntakeDmKg, 6);
        Assert.Equal(100 - (60 / 1000.0 * 100), herd.LoadingAccuracyPercent, 6);

        var byHerd = await feeding.GetDailyFeedingAsync(new GetDailyFeedingRequest { HerdId = fleet.HerdA1, LocalDate = date });
        Assert.Equal((fleet.PastureA, fleet.HerdA1), (byHerd.PastureId, byHerd.Pasture.HerdId));
        var stocks = await feeding.ListFeedStocksAsync(new ListFeedStocksRequest { PastureId = fleet.PastureA, LocalDate = date });
        var clamp = Assert.Single(stocks.Stocks);
        Assert.Equal(("CLAMP-1", 120_000.0, "local_farm"), (clamp.StorageId, clamp.QuantityKg, clamp.Origin));
        var missing = await Assert.ThrowsAsync<RpcException>(() => feeding.GetDailyFeedingAsync(new GetDailyFeedingRequest { HerdId = fleet.Prefix + "-NOHERD" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);

        var points = await platform.Platform.Influx.CountAndSumAsync("tmr", "seq", $"\"pasture\" = '{fleet.PastureA}'");
        Assert.Equal(4, points.Count); // ration, load (once), delivery, refusal: not the quarantined delivery
        var ingredients = await platform.Platform.Influx.CountAndSumAsync("tmr_ingredient", "loaded_kg", $"\"pasture\" = '{fleet.PastureA}'");
        Assert.Equal((2, 1060.0), (ingredients.Count, ingredients.Sum));

        var alerts = await new AlertService.AlertServiceClient(platform.Platform.Channel).ListAlertsAsync(new ListAlertsRequest { OpenOnly = true });
        var loading = Assert.Single(alerts.Alerts, a => a.Kind == "feed_loading_deviation" && a.PastureId == fleet.PastureA);
        Assert.Contains("660 kg of silage_corn for 600 kg", loading.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(alerts.Alerts, a => a.PastureId == fleet.PastureA && a.Kind is "feed_refusals" or "feed_ration_mismatch" or "feed_stock_low");

        var quarantine = await QuarantineProbe.ReadAsync(platform.Platform, tmr);
        Assert.Equal([("unknown_herd", $"herdId '{fleet.HerdB1}' is not registered on pasture '{fleet.PastureA}'")], quarantine.Select(q => (q.Reason, q.Detail)));
    }
}
