using System.Globalization;

namespace HohhotCluster.FirmwareSim.Fleet;

internal enum OwnerType : byte
{
    Pasture,
    Plant,
    /// <summary>A regulator's testing laboratory: publishes supervisory samples.</summary>
    Lab,
}

/// <summary>One MQTT connection: a pasture's, a plant's or a regulator's lab's gateway, username = owner id.</summary>
internal sealed record Gateway(int Index, OwnerType OwnerType, string OwnerId)
{
    public string TopicOwnerKind => OwnerType switch
    {
        OwnerType.Pasture => "pasture",
        OwnerType.Lab => "lab",
        _ => "plant",
    };
    public string ClientId => "gw-" + OwnerId;
}

internal static class DeviceKinds
{
    public const string MilkMeter = "milk_meter";
    public const string BulkTank = "bulk_tank";
    public const string Weighbridge = "weighbridge";
    /// <summary>A pasture's or plant's quality lab (<c>quality</c>).</summary>
    public const string QualityLab = "quality_lab";
    /// <summary>A pasture's manure account (<c>manure</c>): scales at the lagoon, spreader and digester.</summary>
    public const string ManureMeter = "manure_meter";
    /// <summary>A pasture's herd-health records (<c>health</c>): vaccinations, census, antibody tests.</summary>
    public const string HealthRecords = "health_records";
    /// <summary>A plant's silo controller (<c>silo_transfer</c>).</summary>
    public const string SiloController = "silo_controller";
    /// <summary>A regulator's lab analyser (<c>quality</c>, supervisory samples only).</summary>
    public const string LabAnalyser = "lab_analyser";
    /// <summary>A plant's production execution system (<c>production</c>).</summary>
    public const string ProductionLine = "production_system";
    /// <summary>A pasture's TMR mixer wagon's weighing computer (<c>tmr</c>): rations, loads, deliveries, refusals.</summary>
    public const string TmrMixer = "tmr_mixer";
    /// <summary>A pasture's herd-management system (<c>animal_event</c>): births, calvings, treatments, breeding.</summary>
    public const string HerdManagement = "herd_management";
    /// <summary>A pasture's feed-store survey (<c>feed_stock</c>): clamps, hay barns, concentrate bins.</summary>
    public const string FeedStore = "feed_store";
    /// <summary>A plant's tanker logger (<c>tanker_log</c>): compartment temperatures and GPS between pickup and intake.</summary>
    public const string TankerLogger = "tanker_logger";
}

internal sealed record Device(int Index, string Id, string Kind, Gateway Gateway, string? HerdId, string? TankId)
{
    /// <summary>"hohhot/v1/{ownerKind}/{ownerId}/{deviceId}/" : the kind is appended per message.</summary>
    public string TopicPrefix { get; } = $"hohhot/v1/{Gateway.TopicOwnerKind}/{Gateway.OwnerId}/{Id}/";
}

internal sealed class County(CountyProfile profile)
{
    public CountyProfile Profile { get; } = profile;
    public string Id => Profile.Id;
    public bool IsInHohhot => string.Equals(Profile.City, "Hohhot", StringComparison.OrdinalIgnoreCase);
    /// <summary>The last ear-tag serial given in the county (calves and bought heifers take the next).</summary>
    public int LastSerial { get; set; }
}

internal sealed class Herd(string id, string name, int firstAnimal, int animalCount)
{
    public string Id { get; } = id;
    public string Name { get; } = name;
    public int FirstAnimal { get; } = firstAnimal;
    public int AnimalCount { get; } = animalCount;
    /// <summary>Milk meters of the parlour serving this herd.</summary>
    public List<Device> MilkMeters { get; } = [];
}

/// <summary>Lactation state of one animal; advanced one day at a time by the simulation.</summary>
internal struct AnimalState
{
    public int Serial;
    public int Parity;
    /// <summary>Negative for youngstock: days until first calving.</summary>
    public int DaysSinceCalving;
    public int LactationLength;
    public int CalvingInterval;
    public float YieldFactor;
    public float SccMedianThousand;
    public float FatPercent;
    public float ProteinPercent;
    public int WithdrawalDaysLeft;
    /// <summary>Day of birth as a day index of the run (0 = the first day generated; negative = before it).</summary>
    public int BornDayIndex;
    /// <summary>The herd of the pasture it is in (index into <see cref="Pasture.Herds"/>); herd moves change it.</summary>
    public short HerdIndex;
    /// <summary>This cycle's breeding plan (<see cref="Animals.AnimalLife"/>): the days since calving of the conceiving service.</summary>
    public int ConceptionDsc;
    /// <summary>Services this cycle, the conceiving one last (21 days apart).</summary>
    public byte Services;
    public bool ConceivingSexed;
    /// <summary>0: the conceiving service is an insemination; 1: a domestic embryo transferred; 2: an imported one.</summary>
    public byte Embryo;
    /// <summary>Days since calving of an abortion this cycle, or int.MinValue.</summary>
    public int AbortionDsc;
    /// <summary>The first milking of the day goes to the tank despite the withdrawal (the forced withdrawal_milk incident).</summary>
    public bool ForceToTank;

    public readonly int DaysInMilk => DaysSinceCalving >= 1 && DaysSinceCalving <= LactationLength ? DaysSinceCalving : 0;
}

/// <summary>A calf or kid born in the run: in stock until it is sold or dies; never milked.</summary>
internal sealed class Calf
{
    public required int Serial { get; init; }
    public required bool Female { get; init; }
    public required int BornDayIndex { get; init; }
    public required short HerdIndex { get; init; }
    /// <summary>Day index of its sale (male calves), int.MaxValue when kept.</summary>
    public required int SaleDayIndex { get; init; }
}

internal sealed class Pasture
{
    public required int Index { get; init; }
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required County County { get; init; }
    public required AnimalSpecies Species { get; init; }
    public required int MilkingsPerDay { get; init; }
    public required Gateway Gateway { get; init; }
    public required AnimalState[] Animals { get; init; }
    public required Plant Plant { get; set; }
    /// <summary>The species' lactation under this profile (length, breed yield scale).</summary>
    public LactationProfile Lactation { get; init; } = LactationProfile.DefaultCow;
    public List<Herd> Herds { get; } = [];
    public List<Device> Tanks { get; } = [];
    public Device Lab { get; set; } = null!;
    public Device Manure { get; set; } = null!;
    public Device Health { get; set; } = null!;
    public Device Mixer { get; set; } = null!;
    public Device FeedStore { get; set; } = null!;
    /// <summary>Share of produced manure put to approved uses; 0 = drawn per pasture (0.90-0.97).</summary>
    public double ManureUtilisation { get; set; }
    public double TankCapacityKg { get; set; }
    /// <summary>Minutes after a sweep time at which this pasture's tanker stops by (its place on the route).</summary>
    public int RouteOffsetMinutes { get; set; }

    public string SpeciesDigit => Species == AnimalSpecies.Cow ? "2" : "3";
    /// <summary>Calves and kids born in the run and still on the pasture.</summary>
    public List<Calf> Calves { get; } = [];
    /// <summary>The farm's herd-management system (<c>animal_event</c>).</summary>
    public Device HerdManagement { get; set; } = null!;
    /// <summary>Animals alive on the pasture: the adult and youngstock places (always filled) and the calves born in the run.</summary>
    public int Stock => Animals.Length + Calves.Count;

    public string TagOf(int serial) => SpeciesDigit + County.Id + serial.ToString("D8", CultureInfo.InvariantCulture);

    public string EarTag(int animalIndex) =>
        SpeciesDigit + County.Id + Animals[animalIndex].Serial.ToString("D8", CultureInfo.InvariantCulture);
}

internal sealed class Plant
{
    public required int Index { get; init; }
    public required PlantProfile Profile { get; init; }
    public required County County { get; init; }
    public required Gateway Gateway { get; init; }
    public List<Device> Weighbridges { get; } = [];
    public Device Lab { get; set; } = null!;
    public Device SiloController { get; set; } = null!;
    public Device ProductionLine { get; set; } = null!;
    /// <summary>The loggers of the plant's tankers (<c>tanker_log</c>).</summary>
    public List<Device> TankerLoggers { get; } = [];
    public string Id => Profile.Id;
}

/// <summary>The regulator's testing laboratory that takes the supervisory samples (never the audited pasture's own lab).</summary>
internal sealed class RegulatorLab
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public required County County { get; init; }
    public required Gateway Gateway { get; init; }
    public required Device Analyser { get; init; }
}

internal sealed class FleetModel
{
    public RegulatorLab Lab { get; set; } = null!;
    public required FleetProfile Profile { get; init; }
    public required long Seed { get; init; }
    public List<County> Counties { get; } = [];
    public List<Pasture> Pastures { get; } = [];
    public List<Plant> Plants { get; } = [];
    public List<Gateway> Gateways { get; } = [];
    public List<Device> Devices { get; } = [];

    public FleetTotals Totals()
    {
        var totals = new FleetTotals();
        foreach (var pasture in Pastures)
        {
            var hohhot = pasture.County.IsInHohhot;
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
                if (hohhot) { totals.HohhotCows += pasture.Animals.Length; totals.HohhotCowPastures++; }
                else { totals.BaseCows += pasture.Animals.Length; totals.BasePastures++; }
                totals.AdultCows += adults;
            }
            else
            {
                if (hohhot) { totals.HohhotGoats += pasture.Animals.Length; totals.HohhotGoatPastures++; }
                else { totals.BaseGoats += pasture.Animals.Length; totals.BasePastures++; }
                totals.AdultGoats += adults;
            }
        }
        foreach (var plant in Plants)
        {
            if (plant.Profile.Species == AnimalSpecies.Goat) { totals.GoatPlantCapacityT += plant.Profile.DailyCapacityT; }
            else { totals.CowPlantCapacityT += plant.Profile.DailyCapacityT; }
        }
        totals.Devices = Devices.Count;
        totals.Gateways = Gateways.Count;
        return totals;
    }
}

internal sealed class FleetTotals
{
    public int HohhotCows { get; set; }
    public int HohhotGoats { get; set; }
    public int BaseCows { get; set; }
    public int BaseGoats { get; set; }
    public int AdultCows { get; set; }
    public int AdultGoats { get; set; }
    public int HohhotCowPastures { get; set; }
    public int HohhotGoatPastures { get; set; }
    public int BasePastures { get; set; }
    public double CowPlantCapacityT { get; set; }
    public double GoatPlantCapacityT { get; set; }
    public int Devices { get; set; }
    public int Gateways { get; set; }
}
