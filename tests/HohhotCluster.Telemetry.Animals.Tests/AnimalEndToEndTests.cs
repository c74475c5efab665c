using System.Text.Json;
using Grpc.Core;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.Animals.Tests;

/// <summary>
/// The animal registry through the real host: a pasture's stock imported over gRPC, the farm system's animal events
/// published to the platform's MQTT endpoint (one by one and in the batch form), the animal and its history read back
/// over gRPC; events the rules refuse are answered 0x99 and quarantined with their reason, changing nothing.
/// </summary>
public sealed class AnimalEndToEndTests(PlatformFixture platform) : IClassFixture<PlatformFixture>
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

    [Fact]
    public async Task A_pastures_animals_are_imported_and_kept_current_by_the_farms_events_and_bad_events_are_quarantined()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(platform.Platform);
        // A pasture in a real county (the calf's ear tag carries its code), with the farm's herd-management system.
        var pasture = fleet.Prefix + "-P3";
        var herd1 = pasture + "-H1";
        var herd2 = pasture + "-H2";
        var fms = pasture + "-FMS1";
        var extra = new RegistryDocument();
        extra.Counties.Add(new County { Id = "150121", Name = "Tumed Left Banner", City = "Hohhot" });
        extra.Pastures.Add(new Pasture { Id = pasture, CountyId = "150121", Name = "Pasture 3", Species = Species.Cow, CapacityHead = 500, MilkingsPerDay = 3 });
        extra.Herds.Add(new Herd { Id = herd1, PastureId = pasture });
        extra.Herds.Add(new Herd { Id = herd2, PastureId = pasture });
        extra.Devices.Add(new Device { Id = fms, OwnerKind = OwnerKind.Pasture, OwnerId = pasture, Kind = "farm_system" });
        var registry = new RegistryService.RegistryServiceClient(platform.Platform.Channel);
        await registry.UpsertRegistryAsync(extra);
        await TestFleet.IssueGatewayAsync(platform.Platform, pasture, OwnerKind.Pasture, pasture, fleet.PasswordOf(pasture));
        var animals = new AnimalService.AnimalServiceClient(platform.Platform.Channel);

        // The stock on the day the pasture joins: a cow in milk (parity 2) and a heifer.
        var serial = Random.Shared.Next(10_000_000, 99_999_000);
        string Tag(int n) => "2150121" + (serial + n).ToString("D8", System.Globalization.CultureInfo.InvariantCulture);
        var import = new ImportAnimalsRequest { PastureId = pasture, ImportId = fleet.Prefix + "-stock" };
        import.Animals.Add(new AnimalImport { EarTag = Tag(1), Specie = "Cattle", Gender = "Female", BirthDate = "2021-03-01", Breed = "HOL", Parity = 2, LactationStatus = "Lactating", HerdId = herd1 });
        import.Animals.Add(new AnimalImport { EarTag = Tag(2), Specie = "Cattle", Gender = "Female", BirthDate = "2024-09-10", Breed = "HOL", HerdId = herd2 });
        Assert.Equal(2, (await animals.ImportAnimalsAsync(import)).Registered);
        Assert.Equal(2, (await animals.ImportAnimalsAsync(import)).Unchanged);
        var bad = new ImportAnimalsRequest { PastureId = pasture, ImportId = fleet.Prefix + "-bad" };
        bad.Animals.Add(new AnimalImport { EarTag = "2150121", Specie = "Cattle", Gender = "Female", HerdId = herd1 });
        var invalid = await Assert.ThrowsAsync<RpcException>(() => animals.ImportAnimalsAsync(bad).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, invalid.StatusCode);
        Assert.StartsWith("animals[0].ear_tag", invalid.Status.Detail);

        await using var gateway = await Gateway.ConnectAsync(platform.Platform, pasture, fleet.PasswordOf(pasture));
        var topic = Payloads.Topic("pasture", pasture, fms, "animal_event");
        // After the import: the import is the stock as of its call, and an event older than an animal's registration is
        // animal_event_out_of_order.
        var at = DateTimeOffset.UtcNow.AddSeconds(1);
        // The cow calves (a calf is born and tagged), the heifer moves herd, the cow is dried off... in the batch form.
        var batch = Payloads.Batch("animal_event", [
            Envelope(fms, 1, at, AnimalBodies.Calving(Tag(1))),
            Envelope(fms, 2, at.AddSeconds(5), AnimalBodies.Birth(Tag(3), herd2)),
            Envelope(fms, 3, at.AddSeconds(10), AnimalBodies.HerdMove(Tag(2), herd1)),
        ]);
        Assert.True(await gateway.PublishAsync(Payloads.BatchTopic("pasture", pasture), batch));
        var departure = Envelope(fms, 4, at.AddSeconds(20), AnimalBodies.Departure(Tag(2), "Sale"));
        Assert.True(await gateway.PublishAsync(topic, departure));
        Assert.True(await gateway.PublishAsync(topic, departure)); // a redelivery: once in the history

        // Refused by the rules: answered 0x99, quarantined with the reason, nothing changed.
        Assert.False(await gateway.PublishAsync(topic, Envelope(fms, 5, at.AddSeconds(30), AnimalBodies.Departure(Tag(2)))));
        Assert.False(await gateway.PublishAsync(topic, Envelope(fms, 6, at.AddSeconds(30), AnimalBodies.DryOff(Tag(9)))));
        Assert.False(await gateway.PublishAsync(topic, Envelope(fms, 7, at.AddSeconds(30), AnimalBodies.Birth("2150123" + Tag(4)[7..], herd1))));
        Assert.False(await gateway.PublishAsync(topic, Envelope(fms, 8, at.AddSeconds(30), AnimalBodies.Arrival("3150121" + Tag(5)[7..], herd1, AnimalBodies.Detail(specie: "Goat")))));
        Assert.False(await gateway.PublishAsync(topic, Envelope(fms, 9, at.AddSeconds(30), AnimalBodies.HerdMove(Tag(1), fleet.HerdA1))));
        Assert.False(await gateway.PublishAsync(topic, Envelope(fms, 10, at.AddSeconds(30), AnimalBodies.DryOff(Tag(3)))));

        var cow = await animals.GetAnimalAsync(new GetAnimalRequest { EarTag = Tag(1) });
        Assert.Equal((3, "Fresh", Protos.V1.AnimalStatus.Alive, herd1), (cow.Animal.Parity, cow.Animal.LactationStatus, cow.Animal.Status, cow.Animal.HerdId));
        Assert.Equal(["registration", "calving"], cow.History.Select(h => h.Event));
        var heifer = await animals.GetAnimalAsync(new GetAnimalRequest { EarTag = Tag(2) });
        Assert.Equal(Protos.V1.AnimalStatus.OffFarm, heifer.Animal.Status);
        Assert.Equal(["registration", "herd_move", "departure"], heifer.History.Select(h => h.Event));
        Assert.Equal("Sale", heifer.History[^1].Reason);
        var calf = await animals.GetAnimalAsync(new GetAnimalRequest { EarTag = Tag(3) });
        Assert.Equal((0, herd2, "Female"), (calf.Animal.Parity, calf.Animal.HerdId, calf.Animal.Sex));

        var quarantined = await QuarantineProbe.ReadAsync(platform.Platform, $"hohhot/v1/pasture/{pasture}/");
        Assert.Equal(
            ["animal_departed", "unknown_animal", "tag_county_mismatch", "species_mismatch", "unknown_herd", "animal_not_lactating"],
            quarantined.Select(q => q.Reason));

        var herd = await animals.ListAnimalsAsync(new ListAnimalsRequest { PastureId = pasture });
        Assert.Equal([Tag(1), Tag(3)], herd.Animals.Select(a => a.EarTag));
        var withGone = await animals.ListAnimalsAsync(new ListAnimalsRequest { PastureId = pasture, IncludeGone = true, PageSize = 2 });
        Assert.Equal([Tag(1), Tag(2)], withGone.Animals.Select(a => a.EarTag));
        Assert.NotEmpty(withGone.NextPageToken);

        // Another pasture's animal is not found, as an unknown one; a pasture the caller does not own cannot import.
        var missing = await Assert.ThrowsAsync<RpcException>(() => animals.GetAnimalAsync(new GetAnimalRequest { EarTag = Tag(9) }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, missing.StatusCode);
    }
}
