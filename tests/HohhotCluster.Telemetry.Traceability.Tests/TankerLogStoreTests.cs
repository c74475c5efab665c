using System.Globalization;
using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Traceability.Tanker;

namespace HohhotCluster.Telemetry.Traceability.Tests;

/// <summary>The tanker logger's readings stored against a real PostgreSQL and joined to the chain's loads by id.</summary>
public sealed class TankerLogStoreTests(ChainDatabase db) : IClassFixture<ChainDatabase>
{
    private static string Prefix() => "t" + Guid.NewGuid().ToString("N")[..8];

    internal static string Log(string load, double c1, double c2, double lat, double lon = 111.70) =>
        $$"""
        { "tankerLoadId": {{JsonSerializer.Serialize(load)}}, "tankerPlate": "蒙A12345",
          "compartments": [ { "compartment": 1, "temperatureC": {{N(c1)}} }, { "compartment": 2, "temperatureC": {{N(c2)}} } ],
          "latitude": {{N(lat)}}, "longitude": {{N(lon)}}, "speedKmh": 55 }
        """;

    private static string N(double value) => value.ToString(CultureInfo.InvariantCulture);

    private async Task<ApplyOutcome> StoreAsync(string plant, DateTimeOffset at, string json, ReadingKey? key = null)
    {
        using var document = JsonDocument.Parse(json);
        Assert.True(TankerLogPayload.TryParse(document.RootElement, out var record, out var rejection), rejection.Detail);
        return (await db.TankerLogs.ApplyAsync([(key ?? db.NextKey(plant + "-TL"), at, plant, record)], default))[0];
    }

    [Fact]
    public async Task A_redelivered_reading_is_a_duplicate_and_stored_once()
    {
        var c = new HandBuiltChain(Prefix());
        var key = db.NextKey(c.Plant + "-TL");
        var at = HandBuiltChain.Day.AddHours(2);

        Assert.Equal(ApplyOutcome.Applied, await StoreAsync(c.Plant, at, Log(c.T1, 4.0, 4.1, 40.80), key));
        Assert.Equal(ApplyOutcome.Duplicate, await StoreAsync(c.Plant, at, Log(c.T1, 4.0, 4.1, 40.80), key));

        var roads = await db.TankerLogs.RoadsAsync([c.T1], default);
        Assert.Single(roads[c.T1].Readings);
    }

    [Fact]
    public async Task Readings_that_arrive_before_the_pickup_are_joined_to_the_load_when_the_chain_has_it()
    {
        var c = new HandBuiltChain(Prefix());
        // The logger's readings of T1's road (pickups at +1 h, intake at +3 h) arrive first, before the chain knows T1.
        for (var minute = 0; minute <= 120; minute += 30)
        {
            await StoreAsync(c.Plant, HandBuiltChain.Day.AddHours(1).AddMinutes(minute), Log(c.T1, minute == 60 ? 8.5 : 4.0, 3.5, 40.80 + minute / 3000.0));
        }

        var before = (await db.TankerLogs.RoadsAsync([c.T1], default))[c.T1];
        Assert.Null(before.PickedUpAt);
        Assert.Equal(5, before.Readings.Count);

        await c.BuildAsync(db);
        var road = (await db.TankerLogs.RoadsAsync([c.T1, c.T2, "no-such-load"], default))[c.T1];

        Assert.Equal(HandBuiltChain.Day.AddHours(1), road.PickedUpAt);
        Assert.Equal(HandBuiltChain.Day.AddHours(3), road.ReceivedAt);
        Assert.Equal(c.Plant, road.ReceivedByPlantId);
        Assert.Equal(TimeSpan.FromHours(2), road.RouteTime);
        Assert.Equal(5, road.Readings.Count);
        var c1 = road.Compartments.Single(x => x.Compartment == 1);
        Assert.Equal((4.0, 8.5, 4.0), (c1.MinC, c1.MaxC, c1.LastC));
        // One warm reading, 30 minutes before the next: counted for the 15 minutes a reading stands for.
        Assert.Equal(TimeSpan.FromMinutes(15), c1.AboveLimit);
        Assert.Equal(TimeSpan.Zero, road.Compartments.Single(x => x.Compartment == 2).AboveLimit);
        // 0.04° of latitude over the five fixes: 4.45 km.
        Assert.Equal(4.448, road.DistanceKm!.Value, 2);
    }

    [Fact]
    public async Task A_load_without_readings_has_a_road_with_its_route_time_only()
    {
        var c = new HandBuiltChain(Prefix());
        await c.BuildAsync(db);

        var roads = await db.TankerLogs.RoadsAsync([c.T2, "never-heard-of"], default);

        Assert.False(roads.ContainsKey("never-heard-of"));
        var road = roads[c.T2];
        Assert.Empty(road.Readings);
        Assert.Empty(road.Compartments);
        Assert.Equal(TimeSpan.FromHours(2), road.RouteTime);
    }

    [Fact]
    public async Task The_plant_that_weighed_a_load_in_is_known_only_once_its_receipt_is_stored()
    {
        var c = new HandBuiltChain(Prefix());
        Assert.Null(await db.TankerLogs.ReceivedByAsync(c.T1, default));

        await c.BuildAsync(db);

        Assert.Equal(c.Plant, await db.TankerLogs.ReceivedByAsync(c.T1, default));
    }
}
