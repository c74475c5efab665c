using System.Globalization;
using System.Text.Json;
using Grpc.Core;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.Animals.Tests;

/// <summary>
/// Health and breeding per animal through the real host: a pasture's cows imported over gRPC, the farm system's
/// vaccinations, inseminations and pregnancy checks published to the platform's MQTT endpoint, the immunisation record
/// and the unprotected animals read back over gRPC, and the stock, immunisation and breeding KPIs from them; events
/// the rules refuse are answered 0x99 and quarantined with their reason.
/// </summary>
public sealed class AnimalCareEndToEndTests(PlatformFixture platform) : IClassFixture<PlatformFixture>
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
    public async Task Vaccinations_and_services_published_over_MQTT_become_audit_records_and_the_pastures_KPIs()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(platform.Platform);
        var pasture = fleet.Prefix + "-P4";
        var herd = pasture + "-H1";
        var fms = pasture + "-FMS1";
        var extra = new RegistryDocument();
        extra.Counties.Add(new County { Id = "150121", Name = "Tumed Left Banner", City = "Hohhot" });
        extra.Pastures.Add(new Pasture { Id = pasture, CountyId = "150121", Name = "Pasture 4", Species = Species.Cow, CapacityHead = 500, MilkingsPerDay = 3 });
        extra.Herds.Add(new Herd { Id = herd, PastureId = pasture });
        extra.Devices.Add(new Device { Id = fms, OwnerKind = OwnerKind.Pasture, OwnerId = pasture, Kind = "farm_system" });
        await new RegistryService.RegistryServiceClient(platform.Platform.Channel).UpsertRegistryAsync(extra);
        await TestFleet.IssueGatewayAsync(platform.Platform, pasture, OwnerKind.Pasture, pasture, fleet.PasswordOf(pasture));

        var serial = Random.Shared.Next(10_000_000, 99_999_000);
        string Tag(int n) => "2150121" + (serial + n).ToString("D8", CultureInfo.InvariantCulture);
        var import = new ImportAnimalsRequest { PastureId = pasture, ImportId = fleet.Prefix + "-stock" };
        import.Animals.Add(new AnimalImport { EarTag = Tag(1), Specie = "Cattle", Gender = "Female", BirthDate = "2021-03-01", Breed = "HOL", Parity = 2, LactationStatus = "Lactating", HerdId = herd });
        import.Animals.Add(new AnimalImport { EarTag = Tag(2), Specie = "Cattle", Gender = "Female", BirthDate = "2022-03-01", Breed = "HOL", Parity = 1, LactationStatus = "Lactating", HerdId = herd });
        import.Animals.Add(new AnimalImport { EarTag = Tag(3), Specie = "Cattle", Gender = "Male", BirthDate = "2022-05-01", Breed = "HOL", HerdId = herd });
        Assert.Equal(3, (await new AnimalService.AnimalServiceClient(platform.Platform.Channel).ImportAnimalsAsync(import)).Registered);

        await using var gateway = await Gateway.ConnectAsync(platform.Platform, pasture, fleet.PasswordOf(pasture));
        var topic = Payloads.Topic("pasture", pasture, fms, "animal_event");
        var at = DateTimeOffset.UtcNow.AddSeconds(1);
        Assert.True(await gateway.PublishAsync(Payloads.BatchTopic("pasture", pasture), Payloads.Batch("animal_event", [
            Envelope(fms, 1, at, AnimalCareBodies.Vaccination(Tag(1), "fmd")),
            Envelope(fms, 2, at.AddSeconds(1), AnimalCareBodies.Insemination(Tag(1), sexed: true)),
            Envelope(fms, 3, at.AddSeconds(2), AnimalCareBodies.EmbryoTransfer(Tag(2), "imported")),
            Envelope(fms, 4, at.AddSeconds(3), AnimalCareBodies.PregnancyCheck(Tag(1), "Pregnant")),
        ])));
        var test = Envelope(fms, 5, at.AddSeconds(4), AnimalCareBodies.AntibodyTest(Tag(2), protective: false));
        Assert.True(await gateway.PublishAsync(topic, test));
        Assert.True(await gateway.PublishAsync(topic, test)); // a redelivery: recorded once

        // Refused: PPR is for goats; a bull is not inseminated; an embryo must say where it came from.
        Assert.False(await gateway.PublishAsync(topic, Envelope(fms, 6, at.AddSeconds(5), AnimalCareBodies.Vaccination(Tag(2), "ppr"))));
        Assert.False(await gateway.PublishAsync(topic, Envelope(fms, 7, at.AddSeconds(5), AnimalCareBodies.Insemination(Tag(3), sexed: false))));
        Assert.False(await gateway.PublishAsync(topic, Envelope(fms, 8, at.AddSeconds(5), AnimalCareBodies.EmbryoTransfer(Tag(2), null))));
        var quarantined = await QuarantineProbe.ReadAsync(platform.Platform, $"hohhot/v1/pasture/{pasture}/");
        Assert.Equal(["species_mismatch", "animal_not_female", "missing_field"], quarantined.Select(q => q.Reason));

        var health = new AnimalHealthService.AnimalHealthServiceClient(platform.Platform.Channel);
        var cow = await health.ListImmunisationsAsync(new ListImmunisationsRequest { EarTag = Tag(1) });
        var vaccination = Assert.Single(cow.Immunisations);
        Assert.Equal(("vaccination", "fmd", "FMD O/A bivalent inactivated", $"{fms}/{Payloads.Epoch}/1"),
            (vaccination.Event, vaccination.Programme, vaccination.MedicineName, vaccination.Source));
        var today = ChinaTime.LocalDate(at);
        Assert.Equal(["fmd", "brucellosis"], cow.Immunity.Select(i => i.Programme));   // PPR is not a cow's programme
        var fmd = cow.Immunity[0];
        Assert.Equal((true, "vaccination", today.AddDays(119).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)), (fmd.Valid, fmd.Basis, fmd.ValidUntil));
        Assert.False(cow.Immunity[1].Valid);
        var tested = await health.ListImmunisationsAsync(new ListImmunisationsRequest { EarTag = Tag(2), Programme = "fmd" });
        Assert.False(Assert.Single(tested.Immunisations).Protective);

        var date = today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var unprotected = await health.ListWithoutValidImmunityAsync(new ListWithoutValidImmunityRequest { PastureId = pasture, Programme = "fmd", LocalDate = date, PageSize = 1 });
        Assert.Equal([Tag(2)], unprotected.Animals.Select(a => a.EarTag));
        var rest = await health.ListWithoutValidImmunityAsync(new ListWithoutValidImmunityRequest
        {
            PastureId = pasture, Programme = "fmd", LocalDate = date, PageToken = unprotected.NextPageToken,
        });
        Assert.Equal([Tag(3)], rest.Animals.Select(a => a.EarTag));
        Assert.Empty(rest.NextPageToken);
        var ppr = await Assert.ThrowsAsync<RpcException>(() => health.ListWithoutValidImmunityAsync(new ListWithoutValidImmunityRequest { PastureId = pasture, Programme = "ppr" }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, ppr.StatusCode);

        var kpis = (await new KpiService.KpiServiceClient(platform.Platform.Channel).GetKpisAsync(new GetKpisRequest { PastureId = pasture, LocalDate = date }))
            .Kpis.ToDictionary(k => k.Key + (k.Programme.Length == 0 ? "" : "/" + k.Programme));
        Assert.Equal((3.0, false), (kpis["herd.dairy_cows"].Actual, kpis["herd.dairy_cows"].Estimate));
        Assert.Equal((100.0 / 3, false), (kpis["health.group_immunisation_density/fmd"].Actual, kpis["health.group_immunisation_density/fmd"].Estimate));
        Assert.Equal(1, kpis["breeding.sexed_semen_doses"].Actual);
        Assert.Equal(1, kpis["breeding.imported_embryos"].Actual);
        Assert.Equal(100, kpis["breeding.conception_rate"].Actual);
    }
}
