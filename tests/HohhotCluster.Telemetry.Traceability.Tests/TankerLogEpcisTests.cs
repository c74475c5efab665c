using System.Text.Json;
using HohhotCluster.Telemetry.Traceability.Tanker;

namespace HohhotCluster.Telemetry.Traceability.Tests;

/// <summary>The road of a load exported as EPCIS 2.0 sensor data on its receiving event, valid against the official schema.</summary>
public sealed class TankerLogEpcisTests(ChainDatabase db) : IClassFixture<ChainDatabase>
{
    private static readonly CallerScope Operator = CallerScope.Everything;

    private async Task StoreRoadAsync(HandBuiltChain c, string load, int readings)
    {
        for (var i = 0; i < readings; i++)
        {
            using var document = JsonDocument.Parse(TankerLogStoreTests.Log(load, 4.0 + i, 3.5, 40.80 + i / 100.0));
            Assert.True(TankerLogPayload.TryParse(document.RootElement, out var record, out var rejection), rejection.Detail);
            await db.TankerLogs.ApplyAsync([(db.NextKey(c.Plant + "-TL"), HandBuiltChain.Day.AddHours(1).AddMinutes(30 * i), c.Plant, record)], default);
        }
    }

    private static JsonElement Receiving(JsonDocument document, string load) =>
        document.RootElement.GetProperty("epcisBody").GetProperty("eventList").EnumerateArray().Single(e =>
            e.TryGetProperty("bizStep", out var step) && step.GetString() == "receiving"
            && e.GetProperty("bizTransactionList")[0].GetProperty("bizTransaction").GetString()!.EndsWith("/" + load, StringComparison.Ordinal));

    [Fact]
    public async Task Export_carries_the_road_readings_as_sensor_data_of_the_receiving_event_and_validates()
    {
        var c = new HandBuiltChain("k" + Guid.NewGuid().ToString("N")[..8]);
        await c.BuildAsync(db);
        await StoreRoadAsync(c, c.T1, 3);

        var (json, _) = await db.Exporter.ExportLotAsync(Operator, new LotRef(LotKinds.Product, c.X1), default);

        var results = EpcisTests.Validate(json);
        Assert.True(results.IsValid, json);
        using var document = JsonDocument.Parse(json);
        var elements = Receiving(document, c.T1).GetProperty("sensorElementList").EnumerateArray().ToList();
        // The arrival temperature first (what an importer reads as the load's), then one element per road reading.
        Assert.Equal(4, elements.Count);
        Assert.False(elements[0].GetProperty("sensorMetadata").TryGetProperty("deviceID", out _));
        Assert.Equal(4.0, elements[0].GetProperty("sensorReport")[0].GetProperty("value").GetDouble());
        var road = elements[1..];
        Assert.All(road, e => Assert.Equal($"https://id.hohhot-dairy.example/device/{c.Plant}-TL", e.GetProperty("sensorMetadata").GetProperty("deviceID").GetString()));
        Assert.Equal([4.0, 5.0, 6.0], road.Select(e => e.GetProperty("sensorReport").EnumerateArray()
            .Single(r => r.GetProperty("type").GetString() == "Temperature" && r.GetProperty("hohhot:compartment").GetInt32() == 1).GetProperty("value").GetDouble()));
        var first = road[0].GetProperty("sensorReport").EnumerateArray().ToList();
        Assert.Contains(first, r => r.GetProperty("type").GetString() == "Angle" && r.GetProperty("component").GetString() == "latitude"
            && r.GetProperty("uom").GetString() == "DD" && r.GetProperty("value").GetDouble() == 40.80);
        Assert.Contains(first, r => r.GetProperty("type").GetString() == "Angle" && r.GetProperty("component").GetString() == "longitude");
        Assert.Contains(first, r => r.GetProperty("type").GetString() == "Speed" && r.GetProperty("uom").GetString() == "KMH");
        // The other load has no logger: its receiving event keeps the arrival temperature alone.
        Assert.Single(Receiving(document, c.T2).GetProperty("sensorElementList").EnumerateArray());
    }

    [Fact]
    public async Task An_export_with_road_data_imports_back_with_the_arrival_temperature_and_as_duplicates_the_second_time()
    {
        var c = new HandBuiltChain("m" + Guid.NewGuid().ToString("N")[..8]);
        await c.BuildAsync(db);
        await StoreRoadAsync(c, c.T1, 2);
        var (json, events) = await db.Exporter.ExportLotAsync(Operator, new LotRef(LotKinds.Product, c.X1), default);
        var (again, _) = await db.Exporter.ExportLotAsync(Operator, new LotRef(LotKinds.Product, c.X1), default);

        var first = await db.Importer.ImportAsync(Operator, json, default);
        var second = await db.Importer.ImportAsync(Operator, again, default);
        var trace = await db.Queries.TraceBackAsync(Operator, new LotRef(LotKinds.Product, c.X1), default);

        Assert.Equal((events, 0), (first.Imported, first.Duplicates));
        // Same content, same CBV 2.0 hash ids: the road readings are part of the event's identity and are stable.
        Assert.Equal((0, events), (second.Imported, second.Duplicates));
        Assert.Equal(4.0, trace.Graph.Lots.Values.Single(l => l.Kind == LotKinds.Receipt && l.LotId == c.T1).TemperatureC);
    }
}
