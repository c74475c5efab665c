using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>
/// A small fleet with ids unique to one test: two counties, two cow pastures (three herds) and one plant, each
/// pasture and plant with its own gateway credential in the registry (gateway id = owner id).
/// </summary>
public sealed class TestFleet
{
    public TestFleet()
    {
        var p = "t" + Guid.NewGuid().ToString("N")[..7];
        Prefix = p;
        CountyA = p + "c1";
        CountyB = p + "c2";
        PastureA = p + "-P1";
        PastureB = p + "-P2";
        HerdA1 = PastureA + "-H1";
        HerdA2 = PastureA + "-H2";
        HerdB1 = PastureB + "-H1";
        Plant = p + "-PL1";
        MeterA = PastureA + "-MM1";
        TankA = PastureA + "-BT1";
        MeterB = PastureB + "-MM1";
        TankB = PastureB + "-BT1";
        Weighbridge = Plant + "-WB1";
    }

    public string Prefix { get; }
    public string CountyA { get; }
    public string CountyB { get; }
    public string PastureA { get; }
    public string PastureB { get; }
    public string HerdA1 { get; }
    public string HerdA2 { get; }
    public string HerdB1 { get; }
    public string Plant { get; }
    public string MeterA { get; }
    public string TankA { get; }
    public string MeterB { get; }
    public string TankB { get; }
    public string Weighbridge { get; }

    /// <summary>The gateway's secret, given to the platform when its credential is issued (24 characters at least).</summary>
    public string PasswordOf(string ownerId) => "gateway-secret-of-" + ownerId;

    public RegistryDocument ToDocument()
    {
        var document = new RegistryDocument();
        document.Counties.Add(new County { Id = CountyA, Name = "Test county A", City = "Hohhot" });
        document.Counties.Add(new County { Id = CountyB, Name = "Test county B", City = "Hohhot" });
        document.Pastures.Add(new Pasture { Id = PastureA, CountyId = CountyA, Name = "Pasture A", Species = Species.Cow, CapacityHead = 3000, MilkingsPerDay = 3 });
        document.Pastures.Add(new Pasture { Id = PastureB, CountyId = CountyB, Name = "Pasture B", Species = Species.Cow, CapacityHead = 1200, MilkingsPerDay = 2 });
        document.Herds.Add(new Herd { Id = HerdA1, PastureId = PastureA });
        document.Herds.Add(new Herd { Id = HerdA2, PastureId = PastureA });
        document.Herds.Add(new Herd { Id = HerdB1, PastureId = PastureB });
        document.Plants.Add(new Plant { Id = Plant, CountyId = CountyA, Name = "Test plant", DailyCapacityT = 500, Species = Species.Cow });
        document.Devices.Add(new Device { Id = MeterA, OwnerKind = OwnerKind.Pasture, OwnerId = PastureA, Kind = "milk_meter" });
        document.Devices.Add(new Device { Id = TankA, OwnerKind = OwnerKind.Pasture, OwnerId = PastureA, Kind = "bulk_tank" });
        document.Devices.Add(new Device { Id = MeterB, OwnerKind = OwnerKind.Pasture, OwnerId = PastureB, Kind = "milk_meter" });
        document.Devices.Add(new Device { Id = TankB, OwnerKind = OwnerKind.Pasture, OwnerId = PastureB, Kind = "bulk_tank" });
        document.Devices.Add(new Device { Id = Weighbridge, OwnerKind = OwnerKind.Plant, OwnerId = Plant, Kind = "weighbridge" });
        return document;
    }

    /// <summary>Registers the fleet with the platform and issues each pasture's and the plant's gateway credential.</summary>
    public async Task RegisterAsync(PlatformProcess platform)
    {
        var registry = new RegistryService.RegistryServiceClient(platform.Channel);
        await registry.UpsertRegistryAsync(ToDocument());
        foreach (var (owner, kind) in new[] { (PastureA, OwnerKind.Pasture), (PastureB, OwnerKind.Pasture), (Plant, OwnerKind.Plant) })
        {
            await IssueGatewayAsync(platform, owner, kind, owner, PasswordOf(owner));
        }
    }

    /// <summary>Issues a gateway credential as the operator, with the secret given.</summary>
    public static async Task IssueGatewayAsync(PlatformProcess platform, string gatewayId, OwnerKind ownerKind, string ownerId, string password) =>
        await new RegistryService.RegistryServiceClient(platform.Channel).IssueGatewayCredentialAsync(new IssueGatewayCredentialRequest
        {
            GatewayId = gatewayId,
            OwnerKind = ownerKind,
            OwnerId = ownerId,
            Password = password,
        });
}
