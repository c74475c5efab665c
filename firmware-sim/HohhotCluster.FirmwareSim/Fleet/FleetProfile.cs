using System.Text.Json;
using System.Text.Json.Serialization;

namespace HohhotCluster.FirmwareSim.Fleet;

/// <summary>An editable fleet description (firmware-sim/profiles/*.json).</summary>
internal sealed class FleetProfile
{
    public string Name { get; set; } = "";
    public string Description { get; set; } = "";
    public double MilkDensityKgPerL { get; set; } = 1.030;
    public double TankerCapacityKg { get; set; } = 30000;
    /// <summary>Local (UTC+8) times of the tanker sweeps, "HH:mm".</summary>
    public List<string> CollectionTimes { get; set; } = ["07:30", "19:30"];
    public List<CountyProfile> Counties { get; set; } = [];
    public List<PastureProfile> Pastures { get; set; } = [];
    public List<PastureGroupProfile> PastureGroups { get; set; } = [];
    public List<PlantProfile> Plants { get; set; } = [];
    /// <summary>Days between supervisory samples at a pasture (spread over pastures by their index).</summary>
    public int SupervisoryIntervalDays { get; set; } = 14;
    /// <summary>Rates of the seeded quality incidents; see <see cref="IncidentProfile"/>.</summary>
    public IncidentProfile Incidents { get; set; } = new();
    /// <summary>Vaccination programmes per species (the platform's Audit:Programmes must know them).</summary>
    public Dictionary<string, List<string>> Vaccinations { get; set; } = new(StringComparer.OrdinalIgnoreCase)
    {
        ["cow"] = ["fmd"],
        ["goat"] = ["fmd", "brucellosis"],
    };
    /// <summary>Head the profile promises on Hohhot's own pastures (bases outside the city excluded).</summary>
    public ExpectedTotals Expected { get; set; } = new();

    private static readonly JsonSerializerOptions s_options = new()
    {
        PropertyNameCaseInsensitive = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    public static FleetProfile Load(string nameOrPath)
    {
        var path = ResolvePath(nameOrPath);
        var profile = JsonSerializer.Deserialize<FleetProfile>(File.ReadAllText(path), s_options)
            ?? throw new InvalidDataException($"profile {path} is empty");
        profile.Validate(path);
        return profile;
    }

    /// <summary>A name ("demo") is looked up in ./profiles, firmware-sim/profiles and next to the binary.</summary>
    public static string ResolvePath(string nameOrPath)
    {
        if (File.Exists(nameOrPath))
        {
            return nameOrPath;
        }
        var fileName = nameOrPath.EndsWith(".json", StringComparison.Ordinal) ? nameOrPath : nameOrPath + ".json";
        string[] candidates =
        [
            Path.Combine("profiles", fileName),
            Path.Combine("firmware-sim", "profiles", fileName),
            Path.Combine(AppContext.BaseDirectory, "profiles", fileName),
        ];
        foreach (var candidate in candidates)
        {
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new FileNotFoundException($"profile '{nameOrPath}' not found (looked in {string.Join(", ", candidates)})");
    }

    private void Validate(string path)
    {
        var counties = new HashSet<string>(StringComparer.Ordinal);
        foreach (var county in Counties)
        {
            if (county.Id.Length != 6 || !county.Id.All(char.IsAsciiDigit))
            {
                throw new InvalidDataException($"{path}: county id '{county.Id}' is not a 6-digit code");
            }
            counties.Add(county.Id);
        }
        foreach (var pasture in Pastures)
        {
            Require(counties.Contains(pasture.County), $"{path}: pasture {pasture.Id} names unknown county {pasture.County}");
            Require(pasture.Head > 0, $"{path}: pasture {pasture.Id} has no head");
        }
        foreach (var group in PastureGroups)
        {
            Require(counties.Contains(group.County), $"{path}: pasture group names unknown county {group.County}");
            Require(group.Count > 0 && group.Head >= group.Count * group.MinHead && group.Head <= group.Count * group.MaxHead,
                $"{path}: group {group.County}/{group.Species}: {group.Head} head cannot be split into {group.Count} pastures of {group.MinHead}-{group.MaxHead}");
        }
        foreach (var plant in Plants)
        {
            Require(counties.Contains(plant.County), $"{path}: plant {plant.Id} names unknown county {plant.County}");
        }
        Require(Plants.Count > 0, $"{path}: a profile needs at least one plant");
        foreach (var forced in Incidents.Forced)
        {
            Require(forced is "antibiotic" or "cooling_failure" or "aflatoxin" or "watered_load", $"{path}: incidents.forced: unknown incident '{forced}'");
        }
        Require(SupervisoryIntervalDays >= 1, $"{path}: supervisoryIntervalDays must be at least 1");
        foreach (var plant in Plants)
        {
            Require(plant.ProductYield is >= 0.5 and <= 1.0, $"{path}: plant {plant.Id}: productYield must be in [0.5, 1]");
            Require(plant.ProductionTimes.Count > 0, $"{path}: plant {plant.Id} needs productionTimes");
        }
        Require(TankerCapacityKg is > 0 and <= 60000, $"{path}: tankerCapacityKg must be in (0, 60000]");
    }

    private static void Require(bool condition, string message)
    {
        if (!condition)
        {
            throw new InvalidDataException(message);
        }
    }
}

internal enum AnimalSpecies
{
    Cow,
    Goat,
}

internal sealed class CountyProfile
{
    public string Id { get; set; } = "";
    public string Name { get; set; } = "";
    public string NameZh { get; set; } = "";
    public string City { get; set; } = "Hohhot";
    /// <summary>Road time from the county to the plants, minutes.</summary>
    public int TravelMinutes { get; set; } = 75;
}

internal sealed class PastureProfile
{
    public string Id { get; set; } = "";
    public string County { get; set; } = "";
    public string Name { get; set; } = "";
    public AnimalSpecies Species { get; set; }
    public int Head { get; set; }
    /// <summary>2 or 3; 0 lets the generator choose by size.</summary>
    public int MilkingsPerDay { get; set; }
    /// <summary>Heifers and calves: counted in stock, never milked.</summary>
    public double YoungstockShare { get; set; }
    /// <summary>Plant that receives this pasture's milk; empty = assigned by capacity.</summary>
    public string Plant { get; set; } = "";
    /// <summary>Share of manure put to approved uses (applied + treated) / produced; 0 = drawn in 0.90-0.97.</summary>
    public double ManureUtilisation { get; set; }
}

internal sealed class PastureGroupProfile
{
    public string County { get; set; } = "";
    public AnimalSpecies Species { get; set; }
    public int Count { get; set; }
    public int Head { get; set; }
    public int MinHead { get; set; } = 1000;
    public int MaxHead { get; set; } = 10000;
    public int MilkingsPerDay { get; set; }
    public double YoungstockShare { get; set; }
    public string NamePrefix { get; set; } = "";
}

internal sealed class PlantProfile
{
    public string Id { get; set; } = "";
    public string County { get; set; } = "";
    public string Name { get; set; } = "";
    public AnimalSpecies Species { get; set; }
    public double DailyCapacityT { get; set; }
    public int Weighbridges { get; set; } = 1;
    public int Silos { get; set; } = 4;
    /// <summary>Local times ("HH:mm") at which the silos filled since the previous one go to the lines.</summary>
    public List<string> ProductionTimes { get; set; } = ["13:00", "23:00"];
    /// <summary>Output kg per kg of milk used (liquid milk about 0.99; the platform flags beyond 2 %).</summary>
    public double ProductYield { get; set; } = 0.99;
}

/// <summary>
/// Seeded quality incidents. Rates are per bulk-tank lot (antibiotic), per pasture-day (cooling failure; aflatoxin
/// M1 from November to February) and per tanker load (watered). <see cref="Forced"/> names incidents that happen
/// once on the first simulated day (the demo's, so a short run shows every failure).
/// </summary>
internal sealed class IncidentProfile
{
    public double AntibioticPerLot { get; set; } = 0.001;
    public double CoolingFailurePerPastureDay { get; set; } = 0.002;
    public double WinterAflatoxinPerPastureDay { get; set; } = 0.003;
    public double WateredPerLoad { get; set; } = 0.001;
    /// <summary>Any of antibiotic, cooling_failure, aflatoxin, watered_load.</summary>
    public List<string> Forced { get; set; } = [];
}

internal sealed class ExpectedTotals
{
    public int Cows { get; set; }
    public int Goats { get; set; }
}
