using HohhotCluster.Telemetry.Protos.V1;
using ProtoCounty = HohhotCluster.Telemetry.Protos.V1.County;
using ProtoDevice = HohhotCluster.Telemetry.Protos.V1.Device;
using ProtoHerd = HohhotCluster.Telemetry.Protos.V1.Herd;
using ProtoPasture = HohhotCluster.Telemetry.Protos.V1.Pasture;
using ProtoPlant = HohhotCluster.Telemetry.Protos.V1.Plant;

namespace HohhotCluster.FirmwareSim.Fleet;

/// <summary>The fleet as the platform's registry sees it (RegistryService.UpsertRegistry).</summary>
internal static class RegistryDocumentBuilder
{
    public static RegistryDocument Build(FleetModel fleet)
    {
        var document = new RegistryDocument();
        foreach (var county in fleet.Counties)
        {
            document.Counties.Add(new ProtoCounty { Id = county.Id, Name = county.Profile.Name, NameZh = county.Profile.NameZh, City = county.Profile.City });
        }
        foreach (var pasture in fleet.Pastures)
        {
            document.Pastures.Add(new ProtoPasture
            {
                Id = pasture.Id,
                CountyId = pasture.County.Id,
                Name = pasture.Name,
                Species = ToProto(pasture.Species),
                CapacityHead = pasture.Animals.Length,
                MilkingsPerDay = pasture.MilkingsPerDay,
            });
            foreach (var herd in pasture.Herds)
            {
                document.Herds.Add(new ProtoHerd { Id = herd.Id, PastureId = pasture.Id, Name = herd.Name });
            }
        }
        foreach (var plant in fleet.Plants)
        {
            document.Plants.Add(new ProtoPlant
            {
                Id = plant.Id,
                CountyId = plant.County.Id,
                Name = plant.Profile.Name,
                DailyCapacityT = plant.Profile.DailyCapacityT,
                Species = ToProto(plant.Profile.Species),
            });
        }
        document.Labs.Add(new Lab { Id = fleet.Lab.Id, CountyId = fleet.Lab.County.Id, Name = fleet.Lab.Name });
        foreach (var device in fleet.Devices)
        {
            document.Devices.Add(new ProtoDevice
            {
                Id = device.Id,
                OwnerKind = OwnerKindOf(device.Gateway),
                OwnerId = device.Gateway.OwnerId,
                Kind = device.Kind,
                HerdId = device.HerdId ?? "",
            });
        }
        return document;
    }

    public static OwnerKind OwnerKindOf(Gateway gateway) => gateway.OwnerType switch
    {
        OwnerType.Pasture => OwnerKind.Pasture,
        OwnerType.Lab => OwnerKind.Lab,
        _ => OwnerKind.Plant,
    };

    private static Species ToProto(AnimalSpecies species) => species == AnimalSpecies.Cow ? Species.Cow : Species.Goat;
}
