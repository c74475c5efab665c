using System.Globalization;

namespace HohhotCluster.FirmwareSim.Fleet;

/// <summary>Builds the fleet of a profile, deterministically for a seed.</summary>
internal static class FleetGenerator
{
    private const int HerdMaxHead = 1000;
    private const int CowsPerMeterPerSession = 40;
    private const int GoatsPerMeterPerSession = 60;
    /// <summary>Cows: lactation about 305-350 days of a 370-420 day calving interval.</summary>
    private const double CowLactatingShareOfAdults = 0.84;

    public static FleetModel Generate(FleetProfile profile, long seed)
    {
        var fleet = new FleetModel { Profile = profile, Seed = seed };
        var countyById = new Dictionary<string, County>(StringComparer.Ordinal);
        foreach (var countyProfile in profile.Counties)
        {
            var county = new County(countyProfile);
            fleet.Counties.Add(county);
            countyById[county.Id] = county;
        }

        foreach (var plantProfile in profile.Plants)
        {
            var gateway = AddGateway(fleet, OwnerType.Plant, plantProfile.Id);
            var plant = new Plant { Index = fleet.Plants.Count, Profile = plantProfile, County = countyById[plantProfile.County], Gateway = gateway };
            for (var n = 1; n <= Math.Max(1, plantProfile.Weighbridges); n++)
            {
                plant.Weighbridges.Add(AddDevice(fleet, $"{plant.Id}-WB{n}", DeviceKinds.Weighbridge, gateway, null, null));
            }
            plant.Lab = AddDevice(fleet, $"{plant.Id}-LAB1", DeviceKinds.QualityLab, gateway, null, null);
            plant.SiloController = AddDevice(fleet, $"{plant.Id}-SC1", DeviceKinds.SiloController, gateway, null, null);
            plant.ProductionLine = AddDevice(fleet, $"{plant.Id}-MES1", DeviceKinds.ProductionLine, gateway, null, null);
            fleet.Plants.Add(plant);
        }

        var serialByCounty = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var county in fleet.Counties)
        {
            serialByCounty[county.Id] = SerialBase(seed);
        }
        var pastureNumberByCounty = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var explicitPasture in profile.Pastures)
        {
            pastureNumberByCounty[explicitPasture.County] = pastureNumberByCounty.GetValueOrDefault(explicitPasture.County) + 1;
            AddPasture(fleet, explicitPasture, countyById[explicitPasture.County], serialByCounty);
        }

        var groupIndex = 0;
        foreach (var group in profile.PastureGroups)
        {
            var sizes = SplitHead(group, seed, groupIndex++);
            foreach (var head in sizes)
            {
                var number = pastureNumberByCounty.GetValueOrDefault(group.County) + 1;
                pastureNumberByCounty[group.County] = number;
                var county = countyById[group.County];
                var id = "P" + group.County + number.ToString("D3", CultureInfo.InvariantCulture);
                var prefix = group.NamePrefix.Length > 0 ? group.NamePrefix : county.Profile.Name;
                AddPasture(fleet, new PastureProfile
                {
                    Id = id,
                    County = group.County,
                    Name = $"{prefix} {(group.Species == AnimalSpecies.Cow ? "Dairy" : "Goat")} Pasture {number}",
                    Species = group.Species,
                    Head = head,
                    MilkingsPerDay = group.MilkingsPerDay,
                    YoungstockShare = group.YoungstockShare,
                }, county, serialByCounty);
            }
        }

        AssignPlants(fleet);

        // The city's supervisory lab (market supervision), added last so the farms' devices keep their indices.
        var labCounty = fleet.Counties.Find(c => c.IsInHohhot) ?? fleet.Counties[0];
        var labGateway = AddGateway(fleet, OwnerType.Lab, "LAB-" + labCounty.Id);
        fleet.Lab = new RegulatorLab
        {
            Id = labGateway.OwnerId,
            Name = "Hohhot food inspection centre (supervisory)",
            County = labCounty,
            Gateway = labGateway,
            Analyser = AddDevice(fleet, labGateway.OwnerId + "-A1", DeviceKinds.LabAnalyser, labGateway, null, null),
        };
        foreach (var county in fleet.Counties)
        {
            county.LastSerial = serialByCounty[county.Id];
        }
        // The plants' tanker loggers, added after everything else for the same reason.
        foreach (var plant in fleet.Plants)
        {
            for (var n = 1; n <= Math.Max(0, plant.Profile.TankerLoggers); n++)
            {
                plant.TankerLoggers.Add(AddDevice(fleet, $"{plant.Id}-TL{n}", DeviceKinds.TankerLogger, plant.Gateway, null, null));
            }
        }
        // The pastures' herd-management systems (animal events), after the loggers for the same reason.
        foreach (var pasture in fleet.Pastures)
        {
            pasture.HerdManagement = AddDevice(fleet, $"{pasture.Id}-FMS1", DeviceKinds.HerdManagement, pasture.Gateway, null, null);
        }
        return fleet;
    }

    /// <summary>
    /// Where a seed's ear-tag serials start: a block of a million per seed (seed mod 97), so two seeds' animals on one
    /// platform never share a tag.
    /// </summary>
    public static int SerialBase(long seed) => (int)(((seed % 97) + 97) % 97) * 1_000_000;

    /// <summary>Expected kg a pasture puts in its tanks per day (sizing of tanks and plant assignment).</summary>
    public static double ExpectedDailyKg(Pasture pasture)
    {
        var adults = 0;
        foreach (ref readonly var animal in pasture.Animals.AsSpan())
        {
            if (animal.Parity > 0)
            {
                adults++;
            }
        }
        if (pasture.Species == AnimalSpecies.Cow)
        {
            return adults * CowLactatingShareOfAdults * 33.0 * pasture.Lactation.YieldScale;
        }
        // Goats kid once a year: the share in milk is the mean lactation over 365 days, at the curve's mean yield.
        var lactation = pasture.Lactation;
        var meanDays = (lactation.MinDays + lactation.MaxDays) / 2;
        var meanYield = WoodLactation.SaanenGoat.TotalYieldKg(meanDays) / meanDays;
        return adults * (meanDays / 365.0) * meanYield * lactation.YieldScale;
    }

    private static Gateway AddGateway(FleetModel fleet, OwnerType ownerType, string ownerId)
    {
        var gateway = new Gateway(fleet.Gateways.Count, ownerType, ownerId);
        fleet.Gateways.Add(gateway);
        return gateway;
    }

    private static Device AddDevice(FleetModel fleet, string id, string kind, Gateway gateway, string? herdId, string? tankId)
    {
        var device = new Device(fleet.Devices.Count, id, kind, gateway, herdId, tankId);
        fleet.Devices.Add(device);
        return device;
    }

    private static void AddPasture(FleetModel fleet, PastureProfile profile, County county, Dictionary<string, int> serialByCounty)
    {
        var pastureIndex = fleet.Pastures.Count;
        var animals = new AnimalState[profile.Head];
        var lactation = fleet.Profile.LactationOf(profile.Species);
        var serial = serialByCounty.GetValueOrDefault(county.Id);
        for (var i = 0; i < animals.Length; i++)
        {
            var youngstock = Math.Floor((i + 1) * profile.YoungstockShare) > Math.Floor(i * profile.YoungstockShare);
            animals[i] = NewAnimal(fleet.Seed, pastureIndex, i, ++serial, profile.Species, youngstock, lactation, fleet.Profile.Animals);
        }
        serialByCounty[county.Id] = serial;

        var milkings = profile.MilkingsPerDay is 2 or 3
            ? profile.MilkingsPerDay
            : profile.Species == AnimalSpecies.Cow && profile.Head >= 1500 ? 3 : 2;
        var gateway = AddGateway(fleet, OwnerType.Pasture, profile.Id);
        var pasture = new Pasture
        {
            Index = pastureIndex,
            Id = profile.Id,
            Name = profile.Name.Length > 0 ? profile.Name : profile.Id,
            County = county,
            Species = profile.Species,
            MilkingsPerDay = milkings,
            Gateway = gateway,
            Animals = animals,
            Plant = null!,
            Lactation = lactation,
        };

        var perMeter = profile.Species == AnimalSpecies.Cow ? CowsPerMeterPerSession : GoatsPerMeterPerSession;
        var herdCount = Math.Max(1, (animals.Length + HerdMaxHead - 1) / HerdMaxHead);
        var meterNumber = 0;
        for (var h = 0; h < herdCount; h++)
        {
            var first = (int)((long)animals.Length * h / herdCount);
            var end = (int)((long)animals.Length * (h + 1) / herdCount);
            var herd = new Herd($"{profile.Id}-H{h + 1}", $"Herd {h + 1}", first, end - first);
            var adults = 0;
            for (var i = first; i < end; i++)
            {
                adults += animals[i].Parity > 0 ? 1 : 0;
                animals[i].HerdIndex = (short)h;
            }
            var meters = Math.Max(1, (int)Math.Ceiling(adults * 0.9 / perMeter));
            for (var m = 0; m < meters; m++)
            {
                var id = $"{profile.Id}-MM{(++meterNumber).ToString("D2", CultureInfo.InvariantCulture)}";
                herd.MilkMeters.Add(AddDevice(fleet, id, DeviceKinds.MilkMeter, gateway, herd.Id, null));
            }
            pasture.Herds.Add(herd);
        }

        var dailyKg = ExpectedDailyKg(pasture);
        var sweeps = Math.Max(1, fleet.Profile.CollectionTimes.Count);
        pasture.TankCapacityKg = Math.Clamp(Math.Ceiling(dailyKg * 0.75 / 1000) * 1000, 2000, fleet.Profile.TankerCapacityKg);
        var tankCount = Math.Max(2, (int)Math.Ceiling(dailyKg / sweeps / pasture.TankCapacityKg) + 1);
        for (var t = 1; t <= tankCount; t++)
        {
            pasture.Tanks.Add(AddDevice(fleet, $"{profile.Id}-BT{t}", DeviceKinds.BulkTank, gateway, null, "T" + t.ToString(CultureInfo.InvariantCulture)));
        }
        pasture.Lab = AddDevice(fleet, $"{profile.Id}-LAB1", DeviceKinds.QualityLab, gateway, null, null);
        pasture.Manure = AddDevice(fleet, $"{profile.Id}-MN1", DeviceKinds.ManureMeter, gateway, null, null);
        pasture.Health = AddDevice(fleet, $"{profile.Id}-VET1", DeviceKinds.HealthRecords, gateway, null, null);
        pasture.Mixer = AddDevice(fleet, $"{profile.Id}-TMR1", DeviceKinds.TmrMixer, gateway, null, null);
        pasture.FeedStore = AddDevice(fleet, $"{profile.Id}-FS1", DeviceKinds.FeedStore, gateway, null, null);
        pasture.ManureUtilisation = profile.ManureUtilisation;

        var explicitPlant = profile.Plant.Length > 0 ? fleet.Plants.Find(p => p.Id == profile.Plant) : null;
        if (profile.Plant.Length > 0 && explicitPlant is null)
        {
            throw new InvalidDataException($"pasture {profile.Id} names unknown plant {profile.Plant}");
        }
        pasture.Plant = explicitPlant!;
        fleet.Pastures.Add(pasture);
    }

    private static AnimalState NewAnimal(long seed, int pastureIndex, int animalIndex, int serial, AnimalSpecies species, bool youngstock, LactationProfile lactation,
        AnimalLifeProfile lifeProfile)
    {
        var rng = new DeterministicRandom(seed, 1, pastureIndex, animalIndex);
        var cow = species == AnimalSpecies.Cow;
        var calvingInterval = cow ? rng.NextInt(370, 421) : 365;
        var lactationLength = cow ? calvingInterval - rng.NextInt(50, 71) : rng.NextInt(lactation.MinDays, lactation.MaxDays + 1);
        var roll = rng.NextDouble();
        var parity = youngstock ? 0 : roll < 0.35 ? 1 : roll < 0.65 ? 2 : rng.NextInt(3, 7);
        var animal = new AnimalState
        {
            Serial = serial,
            Parity = parity,
            DaysSinceCalving = youngstock ? -rng.NextInt(1, 700) : rng.NextInt(1, calvingInterval + 1),
            CalvingInterval = calvingInterval,
            LactationLength = lactationLength,
            YieldFactor = (float)Math.Clamp(rng.LogNormal(1.0, 0.12), 0.6, 1.6),
            SccMedianThousand = (float)rng.LogNormal(cow ? 110 : 500, cow ? 0.6 : 0.5),
            FatPercent = (float)Math.Clamp(rng.Normal(cow ? 3.85 : 3.6, 0.3), 2.9, 5.2),
            ProteinPercent = (float)Math.Clamp(rng.Normal(cow ? 3.25 : 3.1, 0.15), 2.7, 3.9),
        };
        Animals.AnimalLife.Begin(ref animal, seed, pastureIndex, animalIndex, species, lifeProfile);
        return animal;
    }

    /// <summary>
    /// Splits a group's head into pastures within [min, max] that sum exactly: start even, then
    /// move random amounts between random pairs without crossing the bounds.
    /// </summary>
    private static int[] SplitHead(PastureGroupProfile group, long seed, int groupIndex)
    {
        var sizes = new int[group.Count];
        for (var i = 0; i < sizes.Length; i++)
        {
            sizes[i] = (group.Head / group.Count) + (i < group.Head % group.Count ? 1 : 0);
        }
        var rng = new DeterministicRandom(seed, 2, groupIndex);
        for (var step = 0; step < group.Count * 6; step++)
        {
            var from = rng.NextInt(0, sizes.Length);
            var to = rng.NextInt(0, sizes.Length);
            var room = Math.Min(sizes[from] - group.MinHead, group.MaxHead - sizes[to]);
            if (from == to || room <= 0)
            {
                continue;
            }
            var amount = (int)(room * rng.Uniform(0, 0.6));
            sizes[from] -= amount;
            sizes[to] += amount;
        }
        return sizes;
    }

    private static void AssignPlants(FleetModel fleet)
    {
        var assignedKg = new double[fleet.Plants.Count];
        var routeStops = new int[fleet.Plants.Count];
        foreach (var pasture in fleet.Pastures)
        {
            var dailyKg = ExpectedDailyKg(pasture);
            if (pasture.Plant is null)
            {
                var speciesMatch = fleet.Plants.Exists(p => p.Profile.Species == pasture.Species);
                Plant? best = null;
                var bestLoad = double.MaxValue;
                foreach (var plant in fleet.Plants)
                {
                    if (speciesMatch && plant.Profile.Species != pasture.Species)
                    {
                        continue;
                    }
                    var load = (assignedKg[plant.Index] + dailyKg) / Math.Max(1, plant.Profile.DailyCapacityT * 1000);
                    if (load < bestLoad)
                    {
                        bestLoad = load;
                        best = plant;
                    }
                }
                pasture.Plant = best!;
            }
            assignedKg[pasture.Plant.Index] += dailyKg;
            pasture.RouteOffsetMinutes = routeStops[pasture.Plant.Index]++ % 6 * 15;
        }
    }
}
