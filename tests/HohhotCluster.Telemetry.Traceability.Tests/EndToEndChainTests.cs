using System.Globalization;
using System.Text.Json;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.Traceability.Tests;

// Inside the namespace, so the API's types win over the traceability library's of the same name.

/// <summary>Through the real host and Mosquitto: collections, pickups, intakes, silo transfers and production published over MQTT become a traceable chain.</summary>
public sealed class EndToEndChainTests(PlatformFixture fixture) : IClassFixture<PlatformFixture>
{
    [Fact]
    public async Task Telemetry_published_over_MQTT_becomes_a_chain_traceable_back_and_forward_over_gRPC()
    {
        var platform = fixture.Platform;
        var fleet = new TestFleet();
        await fleet.RegisterAsync(platform);
        var p = fleet.Prefix;
        var t0 = DateTimeOffset.UtcNow.AddHours(-3);
        await using (var pasture = await Gateway.ConnectAsync(platform, fleet.PastureA, fleet.PasswordOf(fleet.PastureA)))
        {
            var bulk = Payloads.Topic("pasture", fleet.PastureA, fleet.TankA, "bulk_tank");
            Assert.True(await pasture.PublishAsync(bulk, Envelope(fleet.TankA, 1, t0, new { tankId = "T1", @event = "collection", lotId = p + "-B1", collectedKg = 10_000.0, temperatureC = 3.6, tankerLoadId = p + "-TL" })));
            Assert.True(await pasture.PublishAsync(bulk, Envelope(fleet.TankA, 2, t0.AddMinutes(20), new { tankId = "T2", @event = "collection", lotId = p + "-B2", collectedKg = 8_000.0, temperatureC = 3.9, tankerLoadId = p + "-TL" })));
            Assert.True(await pasture.PublishAsync(Payloads.Topic("pasture", fleet.PastureA, fleet.TankA, "tanker_pickup"),
                Envelope(fleet.TankA, 3, t0.AddMinutes(30), new { lotId = p + "-B2", tankerLoadId = p + "-TL", kg = 7_990.0, temperatureC = 4.0, tankerPlate = "蒙A12345", driver = "Wang Wei", permit = "NM-0042" })));
        }

        await using (var plant = await Gateway.ConnectAsync(platform, fleet.Plant, fleet.PasswordOf(fleet.Plant)))
        {
            var wb = fleet.Weighbridge;
            Assert.True(await plant.PublishAsync(Payloads.Topic("plant", fleet.Plant, wb, "plant_intake"), Payloads.Intake(wb, 1, t0.AddHours(1), p + "-TL", 17_990)));
            Assert.True(await plant.PublishAsync(Payloads.Topic("plant", fleet.Plant, wb, "silo_transfer"),
                Envelope(wb, 2, t0.AddHours(1.5), new { siloBatchId = p + "-S1", siloId = "S1", receipts = new[] { new { tankerLoadId = p + "-TL", kg = 17_990.0 } } })));
            Assert.True(await plant.PublishAsync(Payloads.Topic("plant", fleet.Plant, wb, "production"),
                Envelope(wb, 3, t0.AddHours(2), new { productLotId = p + "-X1", product = "Pasteurised milk 1 L", line = "L1", outputKg = 17_990.0, silos = new[] { new { siloBatchId = p + "-S1", kg = 17_990.0 } } })));
        }

        var client = new TraceabilityService.TraceabilityServiceClient(platform.Channel);
        var back = await Eventually.WaitAsync(async () =>
        {
            try
            {
                return await client.TraceBackAsync(new TraceBackRequest { ProductLotId = p + "-X1" });
            }
            catch (Grpc.Core.RpcException e) when (e.StatusCode == Grpc.Core.StatusCode.NotFound)
            {
                return new TraceBackReply();
            }
        }, r => r.Edges.Count == 5 && r.Lots.Any(l => l.Ref.Id == p + "-TL" && l.Ref.Kind == LotKind.Receipt && l.Kg > 0));

        Assert.Equal(
            [$"BulkTank:{p}-B1>TankerLoad:{p}-TL 10000", $"BulkTank:{p}-B2>TankerLoad:{p}-TL 7990", $"Receipt:{p}-TL>SiloBatch:{p}-S1 17990",
             $"SiloBatch:{p}-S1>Product:{p}-X1 17990", $"TankerLoad:{p}-TL>Receipt:{p}-TL 17990"],
            back.Edges.Select(e => $"{e.From.Kind}:{e.From.Id}>{e.To.Kind}:{e.To.Id} {e.Kg.ToString("0", CultureInfo.InvariantCulture)}").Order(StringComparer.Ordinal));
        Assert.Equal(fleet.PastureA, back.Lots.Single(l => l.Ref.Id == p + "-B1").PastureId);
        Assert.True(back.Lots.Single(l => l.Ref.Kind == LotKind.Receipt).Accepted);
        // Issue 17: the answer says whether the platform knows the animals; without an animal source: not known, and no
        // lot carries animals (never zeros). With one, the note is empty and only bulk-tank lots carry them.
        Assert.NotEqual(AnimalsKnowledge.Unspecified, back.Animals);
        if (back.Animals == AnimalsKnowledge.NotKnown)
        {
            Assert.Contains("not known", back.AnimalsNote, StringComparison.Ordinal);
            Assert.All(back.Lots, l => Assert.Null(l.Animals));
        }
        else
        {
            Assert.Empty(back.AnimalsNote);
            Assert.All(back.Lots.Where(l => l.Animals is not null), l => Assert.Equal(LotKind.BulkTank, l.Ref.Kind));
        }

        var forward = await client.TraceForwardAsync(new TraceForwardRequest { BulkTankLotId = p + "-B1" });
        var product = forward.Reached.Single(r => r.Lot.Ref.Kind == LotKind.Product);
        Assert.Equal(10_000, product.SourceKg, 3);
        Assert.Equal(10_000 / 17_990.0, product.Share, 6);

        var invalid = await Assert.ThrowsAsync<Grpc.Core.RpcException>(async () => await client.ImportEpcisAsync(new ImportEpcisRequest
        {
            DocumentJson = """{"type": "EPCISDocument"}""",
        }));
        Assert.Equal(Grpc.Core.StatusCode.InvalidArgument, invalid.StatusCode);
        Assert.NotEmpty(invalid.Trailers.GetAll("epcis-problem"));
    }

    private static string Envelope(string deviceId, long seq, DateTimeOffset eventTime, object body)
    {
        var node = JsonSerializer.SerializeToNode(body)!.AsObject();
        node["deviceId"] = deviceId;
        node["bootEpoch"] = Payloads.Epoch + 7;
        node["seq"] = seq;
        node["eventTime"] = Payloads.Rfc3339(eventTime);
        return node.ToJsonString();
    }

    [Fact]
    public async Task A_collection_naming_another_pastures_bulk_tank_lot_is_quarantined_and_counted_nowhere()
    {
        var platform = fixture.Platform;
        var fleet = new TestFleet();
        await fleet.RegisterAsync(platform);
        var lot = fleet.Prefix + "-LOT";
        var t0 = DateTimeOffset.UtcNow.AddHours(-1);
        var day = HohhotCluster.Telemetry.Contracts.ChinaTime.LocalDate(t0);
        await using (var a = await Gateway.ConnectAsync(platform, fleet.PastureA, fleet.PasswordOf(fleet.PastureA)))
        {
            Assert.True(await a.PublishAsync(Payloads.Topic("pasture", fleet.PastureA, fleet.TankA, "bulk_tank"), Payloads.Collection(fleet.TankA, 1, t0, lot, 1_000)));
        }

        await ThroughputProbe.WaitForCountsAsync(platform, day, ScopeKind.Pasture, fleet.PastureA, 0, 1, 0);
        await Eventually.WaitAsync(() => new TraceabilityService.TraceabilityServiceClient(platform.Channel)
            .TraceForwardAsync(new TraceForwardRequest { BulkTankLotId = lot }).ResponseAsync, r => r.Sources.Count == 1);

        // Pasture B names A's lot in a collection of its own: refused, and its next reading still goes in.
        await using (var gatewayB = await Gateway.ConnectAsync(platform, fleet.PastureB, fleet.PasswordOf(fleet.PastureB)))
        {
            var refused = await gatewayB.PublishForResultAsync(Payloads.Topic("pasture", fleet.PastureB, fleet.TankB, "bulk_tank"), Payloads.Collection(fleet.TankB, 1, t0.AddMinutes(5), lot, 5));
            Assert.Equal(MQTTnet.MqttClientPublishReasonCode.PayloadFormatInvalid, refused.ReasonCode);
            Assert.True(await gatewayB.PublishAsync(Payloads.Topic("pasture", fleet.PastureB, fleet.TankB, "bulk_tank"), Payloads.Collection(fleet.TankB, 2, t0.AddMinutes(6), lot + "-B", 700)));
        }

        var quarantined = await Eventually.WaitAsync(() => QuarantineProbe.ReadAsync(platform, $"hohhot/v1/pasture/{fleet.PastureB}/"), rows => rows.Count >= 1);
        Assert.Equal(("invalid_field", true), (quarantined.Single().Reason, quarantined.Single().Detail.Contains("another pasture", StringComparison.Ordinal)));
        var b = await ThroughputProbe.WaitForCountsAsync(platform, day, ScopeKind.Pasture, fleet.PastureB, 0, 1, 0);
        Assert.Equal(0.7, b.ProducedT, 9);
        var forward = await new TraceabilityService.TraceabilityServiceClient(platform.Channel).TraceForwardAsync(new TraceForwardRequest { BulkTankLotId = lot });
        Assert.Equal((fleet.PastureA, 1_000.0), (forward.Sources.Single().PastureId, forward.Sources.Single().Kg));
        Assert.Equal(1.0, (await ThroughputProbe.GetAsync(platform, day, ScopeKind.Pasture, fleet.PastureA)).ProducedT, 9);
    }
}
