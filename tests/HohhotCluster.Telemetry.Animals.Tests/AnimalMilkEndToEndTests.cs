using System.Globalization;
using System.Text.Json;
using Grpc.Core;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.Animals.Tests;

/// <summary>
/// Per-animal milk through the real host: milkings published to the platform's MQTT endpoint keep their animal once
/// per key (a resend in the batch form counts nothing twice), colostrum and milk kept apart are reported apart from
/// saleable milk in throughput, an ear tag the registry does not have is counted and reported apart (never lost), and
/// the animal's days, lactation curve and the herd's kg per cow in milk are read back over gRPC.
/// </summary>
public sealed class AnimalMilkEndToEndTests(PlatformFixture platform) : IClassFixture<PlatformFixture>
{
    private static string Milking(string meter, long seq, DateTimeOffset at, string herd, string tag, double kg, params string[] remarks) =>
        JsonSerializer.Serialize(new
        {
            deviceId = meter,
            bootEpoch = Payloads.Epoch,
            seq,
            eventTime = Payloads.Rfc3339(at),
            herdId = herd,
            visit = new
            {
                resourceType = "icarMilkingVisitEventResource",
                animal = new { scheme = "cn.moa.eartag", id = tag },
                milkingStartingDateTime = at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                milkingMilkWeight = new { unitCode = "KGM", value = kg },
                milkingRemarks = remarks,
            },
        });

    private static string Event(string device, long seq, DateTimeOffset at, object body)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(JsonSerializer.Serialize(body))!.AsObject();
        node["deviceId"] = device;
        node["bootEpoch"] = Payloads.Epoch;
        node["seq"] = seq;
        node["eventTime"] = Payloads.Rfc3339(at);
        return node.ToJsonString();
    }

    [Fact]
    public async Task Milkings_published_over_mqtt_keep_their_animal_once_and_unfit_milk_is_reported_apart()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(platform.Platform);
        var pasture = fleet.Prefix + "-PM";
        var herd = pasture + "-H1";
        var (fms, meter) = (pasture + "-FMS1", pasture + "-MM1");
        var extra = new RegistryDocument();
        extra.Counties.Add(new County { Id = "150121", Name = "Tumed Left Banner", City = "Hohhot" });
        extra.Pastures.Add(new Pasture { Id = pasture, CountyId = "150121", Name = "Pasture M", Species = Species.Cow, CapacityHead = 500, MilkingsPerDay = 3 });
        extra.Herds.Add(new Herd { Id = herd, PastureId = pasture });
        extra.Devices.Add(new Device { Id = fms, OwnerKind = OwnerKind.Pasture, OwnerId = pasture, Kind = "farm_system" });
        extra.Devices.Add(new Device { Id = meter, OwnerKind = OwnerKind.Pasture, OwnerId = pasture, Kind = "milk_meter" });
        await new RegistryService.RegistryServiceClient(platform.Platform.Channel).UpsertRegistryAsync(extra);
        await TestFleet.IssueGatewayAsync(platform.Platform, pasture, OwnerKind.Pasture, pasture, fleet.PasswordOf(pasture));

        var serial = Random.Shared.Next(10_000_000, 99_999_000);
        string Tag(int n) => "2150121" + (serial + n).ToString("D8", CultureInfo.InvariantCulture);
        var import = new ImportAnimalsRequest { PastureId = pasture, ImportId = fleet.Prefix + "-stock" };
        import.Animals.Add(new AnimalImport { EarTag = Tag(1), Specie = "Cattle", Gender = "Female", BirthDate = "2021-03-01", Parity = 2, LactationStatus = "Lactating", HerdId = herd });
        import.Animals.Add(new AnimalImport { EarTag = Tag(2), Specie = "Cattle", Gender = "Female", BirthDate = "2021-03-01", Parity = 1, LactationStatus = "Dry", HerdId = herd });
        await new AnimalService.AnimalServiceClient(platform.Platform.Channel).ImportAnimalsAsync(import);

        await using var gateway = await Gateway.ConnectAsync(platform.Platform, pasture, fleet.PasswordOf(pasture));
        var at = DateTimeOffset.UtcNow.AddSeconds(1);
        // Cow 2 calves now: its milk is colostrum for days in milk 0-7.
        Assert.True(await gateway.PublishAsync(Payloads.Topic("pasture", pasture, fms, "animal_event"), Event(fms, 1, at, AnimalBodies.Calving(Tag(2)))));

        var milkings = new[]
        {
            Milking(meter, 1, at.AddSeconds(1 * 10), herd, Tag(1), 14.5),
            Milking(meter, 2, at.AddSeconds(2 * 10), herd, Tag(2), 6.0),                       // colostrum into the tank
            Milking(meter, 3, at.AddSeconds(3 * 10), herd, Tag(2), 5.0, "MilkedSeparately"),   // colostrum kept out
            Milking(meter, 4, at.AddSeconds(4 * 10), herd, Tag(9), 11.0),                      // not in the registry
        };
        Assert.True(await gateway.PublishAsync(Payloads.BatchTopic("pasture", pasture), Payloads.Batch("milking", milkings)));
        // The gateway did not see the PUBACK and sends the batch again with one more milking: nothing counted twice.
        Assert.True(await gateway.PublishAsync(Payloads.BatchTopic("pasture", pasture),
            Payloads.Batch("milking", [.. milkings, Milking(meter, 5, at.AddSeconds(5 * 10), herd, Tag(1), 3.5, "MilkingIncomplete")])));
        // A remark that is not ICAR's is refused with the member's path.
        Assert.False(await gateway.PublishAsync(Payloads.Topic("pasture", pasture, meter, "milking"), Milking(meter, 6, at.AddSeconds(6 * 10), herd, Tag(1), 3, "Colostrum")));
        var refused = Assert.Single(await QuarantineProbe.ReadAsync(platform.Platform, $"hohhot/v1/pasture/{pasture}/{meter}/"));
        Assert.True(refused.Reason == "invalid_field" && refused.Detail.StartsWith("visit.milkingRemarks[0]", StringComparison.Ordinal), refused.Reason + ": " + refused.Detail);

        var milk = new AnimalMilkService.AnimalMilkServiceClient(platform.Platform.Channel);
        var day = ChinaDays.Of(at);
        var cow = Assert.Single((await milk.GetAnimalMilkAsync(new GetAnimalMilkRequest { EarTag = Tag(1), FromDate = day, ToDate = day })).Days);
        Assert.Equal((18.0, 2, 18.0), (cow.Kg, cow.Milkings, cow.SaleableKg));
        var fresh = Assert.Single((await milk.GetAnimalMilkAsync(new GetAnimalMilkRequest { EarTag = Tag(2), FromDate = day, ToDate = day })).Days);
        Assert.Equal((11.0, 11.0, 0.0), (fresh.Kg, fresh.ColostrumKg, fresh.SaleableKg));
        var curve = await milk.GetLactationCurveAsync(new GetLactationCurveRequest { EarTag = Tag(2) });
        Assert.Equal((2, day, 11.0), (curve.Parity, curve.CalvingDate, curve.TotalKg));
        Assert.Equal([0], curve.Points.Select(p => p.DaysInMilk));
        // The unknown tag's milk is nobody's to read by tag, but it is in the herd's and the pasture's milk.
        var unknown = await Assert.ThrowsAsync<RpcException>(() => milk.GetAnimalMilkAsync(new GetAnimalMilkRequest { EarTag = Tag(9) }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);
        var herdDay = Assert.Single((await milk.GetHerdMilkAsync(new GetHerdMilkRequest { HerdId = herd, FromDate = day, ToDate = day })).Days);
        Assert.Equal((40.0, 3, 2, 20.0), (herdDay.Kg, herdDay.AnimalsMilked, herdDay.AnimalsInMilk, herdDay.KgPerAnimalInMilk));

        var throughput = await new ThroughputService.ThroughputServiceClient(platform.Platform.Channel).GetDailyThroughputAsync(
            new GetDailyThroughputRequest { LocalDate = day, Scope = new Scope { Kind = ScopeKind.Pasture, Id = pasture } });
        Assert.Equal(0.040, throughput.MilkedT, 9);
        Assert.Equal((0.011, 0.0, 0.011), (Math.Round(throughput.ColostrumT, 9), throughput.WithdrawalT, Math.Round(throughput.UnregisteredT, 9)));
        Assert.Equal(0.029, throughput.SaleableT, 9);

        // The colostrum that reached the tank raised the alert, naming the animal and the pasture.
        var alerts = await new AlertService.AlertServiceClient(platform.Platform.Channel).ListAlertsAsync(new ListAlertsRequest { OpenOnly = true });
        var unfit = Assert.Single(alerts.Alerts, a => a.Kind == "unfit_milk_in_tank" && a.PastureId == pasture);
        Assert.Equal(("animal:" + Tag(2), "critical"), (unfit.Subject, unfit.Severity));
    }
}

internal static class ChinaDays
{
    public static string Of(DateTimeOffset at) => at.ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
}
