using System.Text.Json;
using System.Text.Json.Serialization;

namespace HohhotCluster.FirmwareSim.Fleet;

/// <summary>An editable fleet description (firmware-sim/profiles/*.json).</summary>
internal sealed class FleetProfile
{
    public string Name { get; set; } = "";
    public string Description { get; set; } = "";
    /// <summary>The plan year the profile stands for (0 = none): plants and pasture groups in production only later are refused.</summary>
    public int Year { get; set; }
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
        ["goat"] = ["fmd", "brucellosis", "ppr"], // PPR (小反刍兽疫) is compulsory for goats and sheep
    };
    /// <summary>Head the profile promises on Hohhot's own pastures (bases outside the city excluded).</summary>
    public ExpectedTotals Expected { get; set; } = new();
    /// <summary>Lactation of each species ("cow", "goat"): lactation length, yield scale of the breed, with sources.</summary>
    public Dictionary<string, LactationProfile> Lactation { get; set; } = new(StringComparer.OrdinalIgnoreCase);
    /// <summary>Days simulated before the start and not published, so the first published day is a steady-state day.</summary>
    public int WarmupDays { get; set; } = 1;
    /// <summary>The animals' life events: rates, the event types published (<see cref="AnimalLifeProfile"/>).</summary>
    public AnimalLifeProfile Animals { get; set; } = new();
    /// <summary>
    /// Message kinds a run of a whole day promises on the platform (hohhot-sim verify fails when one is absent);
    /// empty = every kind the fleet has devices for.
    /// </summary>
    public List<string> Promises { get; set; } = [];

    /// <summary>
    /// Share of pastures that feed oat hay and alfalfa grown in Hohhot (origin local_farm or hohhot): the plan's
    /// 本土自给率 targets are 20 % (2021) and 30 % (2023); the rest comes from elsewhere in Inner Mongolia or abroad.
    /// </summary>
    public double LocalForageShare { get; set; } = 0.25;
    /// <summary>Where the profile's figures come from: free text per figure, kept beside the data.</summary>
    public Dictionary<string, string> Sources { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The lactation of a species: the profile's, else the built-in defaults.</summary>
    public LactationProfile LactationOf(AnimalSpecies species) =>
        Lactation.GetValueOrDefault(species == AnimalSpecies.Cow ? "cow" : "goat")
        ?? (species == AnimalSpecies.Cow ? LactationProfile.DefaultCow : LactationProfile.DefaultGoat);

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
            Require(Year == 0 || group.InProductionFrom <= Year,
                $"{path}: group {group.County}/{group.Species} is in production from {group.InProductionFrom}, after the profile's year {Year}");
            Require(group.Count > 0 && group.Head >= group.Count * group.MinHead && group.Head <= group.Count * group.MaxHead,
                $"{path}: group {group.County}/{group.Species}: {group.Head} head cannot be split into {group.Count} pastures of {group.MinHead}-{group.MaxHead}");
        }
        foreach (var plant in Plants)
        {
            Require(counties.Contains(plant.County), $"{path}: plant {plant.Id} names unknown county {plant.County}");
            Require(Year == 0 || plant.InProductionFrom <= Year,
                $"{path}: plant {plant.Id} is in production from {plant.InProductionFrom}, after the profile's year {Year}");
        }
        Require(Plants.Count > 0, $"{path}: a profile needs at least one plant");
        foreach (var forced in Incidents.Forced)
        {
            Require(forced is "antibiotic" or "cooling_failure" or "aflatoxin" or "watered_load" or "lead" or "tanker_cooling_fault" or "withdrawal_milk", $"{path}: incidents.forced: unknown incident '{forced}'");
        }
        Require(Incidents.WateredShareMin is > 0 and < 0.2 && Incidents.WateredShareMax >= Incidents.WateredShareMin && Incidents.WateredShareMax < 0.2,
            $"{path}: incidents.wateredShareMin..wateredShareMax must lie in (0, 0.2)");
        Require(SupervisoryIntervalDays >= 1, $"{path}: supervisoryIntervalDays must be at least 1");
        foreach (var plant in Plants)
        {
            Require(plant.ProductionTimes.Count > 0, $"{path}: plant {plant.Id} needs productionTimes");
            Require(plant.DailyCapacityT > 0, $"{path}: plant {plant.Id} needs dailyCapacityT");
            foreach (var product in plant.Products)
            {
                Require(ProductCategories.NominalYield(product.Category) is not null,
                    $"{path}: plant {plant.Id}: product '{product.Name}' has unknown productCategory '{product.Category}' (one of {string.Join(", ", ProductCategories.All)})");
                Require(product.Code.Length > 0 && product.Name.Length > 0, $"{path}: plant {plant.Id}: a product needs code and name");
            }
        }
        foreach (var (species, lactation) in Lactation)
        {
            Require(species is "cow" or "goat", $"{path}: lactation: unknown species '{species}'");
            Require(lactation.YieldScale is > 0.5 and < 2.0, $"{path}: lactation.{species}.yieldScale must be in (0.5, 2)");
            Require(species == "cow" || (lactation.MinDays >= 150 && lactation.MaxDays >= lactation.MinDays && lactation.MaxDays <= 360),
                $"{path}: lactation.{species}: minDays..maxDays must lie in 150..360");
        }
        Require(WarmupDays is >= 0 and <= 7, $"{path}: warmupDays must be 0-7");
        Require(LocalForageShare is >= 0 and <= 1, $"{path}: localForageShare must be 0-1");
        foreach (var kind in Promises)
        {
            Require(kind is "milking" or "bulk_tank" or "plant_intake" or "tanker_pickup" or "silo_transfer" or "production" or "quality" or "manure" or "health" or "tmr" or "feed_stock" or "tanker_log",
                $"{path}: promises: unknown kind '{kind}'");
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
    /// <summary>Where the group's count and head come from.</summary>
    public string Source { get; set; } = "";
    /// <summary>First year the group's pastures give milk (0 = before the plan).</summary>
    public int InProductionFrom { get; set; }
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
    /// <summary>Tanker loggers the plant's tankers carry (<c>tanker_log</c>), one per tanker; a load takes the next in turn.</summary>
    public int TankerLoggers { get; set; } = 4;
    /// <summary>Local times ("HH:mm") at which the silos filled since the previous one go to the lines.</summary>
    public List<string> ProductionTimes { get; set; } = ["13:00", "23:00"];
    /// <summary>
    /// What the plant's lines make, taken in turn lot by lot; each product's yield is its category's nominal yield
    /// (<see cref="ProductCategories"/>). Empty: UHT and pasteurised milk for cow milk, pasteurised goat milk.
    /// </summary>
    public List<ProductProfile> Products { get; set; } = [];
    /// <summary>Where the plant's capacity and products come from.</summary>
    public string Source { get; set; } = "";
    /// <summary>First year the plant is in production (0 = before the plan).</summary>
    public int InProductionFrom { get; set; }

    /// <summary>What a batch of <paramref name="milk"/> becomes here: goat milk at a cow-milk plant goes to its goat line.</summary>
    public IReadOnlyList<ProductProfile> ProductsFor(AnimalSpecies milk) =>
        milk == AnimalSpecies.Goat && Species == AnimalSpecies.Cow ? s_goatLine
        : Products.Count > 0 ? Products
        : Species == AnimalSpecies.Goat ? s_goatLine
        : s_cowLines;

    private static readonly ProductProfile[] s_goatLine =
        [new ProductProfile { Code = "GOAT", Name = "Pasteurised goat milk 200 mL", Category = ProductCategories.Pasteurised, Line = "G1" }];

    private static readonly ProductProfile[] s_cowLines =
        [new ProductProfile { Code = "UHT", Name = "UHT whole milk 250 mL", Category = ProductCategories.Sterilised, Line = "L1" },
         new ProductProfile { Code = "PAS", Name = "Pasteurised whole milk 950 mL", Category = ProductCategories.Pasteurised, Line = "L2" }];
}

internal sealed class ProductProfile
{
    /// <summary>Short code in the product lot id (PL-...-{code}-yyyyMMdd-nn).</summary>
    public string Code { get; set; } = "";
    public string Name { get; set; } = "";
    /// <summary>One of <see cref="ProductCategories.All"/>; published as <c>productCategory</c>.</summary>
    public string Category { get; set; } = "";
    public string Line { get; set; } = "L1";
}

/// <summary>
/// The product categories of the shared vocabulary (the <c>productCategory</c> member of <c>production</c>) with the
/// standard each falls under and the nominal yield the simulator uses, kg product per kg milk used.
/// </summary>
internal static class ProductCategories
{
    public const string Pasteurised = "pasteurised_milk";   // GB 19645
    public const string Sterilised = "sterilised_milk";     // GB 25190, UHT included
    public const string Modified = "modified_milk";         // GB 25191
    public const string Fermented = "fermented_milk";       // GB 19302
    public const string Powder = "milk_powder";             // GB 19644
    public const string Cheese = "cheese";                  // GB 5420
    public const string Cream = "cream";                    // GB 19646

    public static readonly string[] All = [Pasteurised, Sterilised, Modified, Fermented, Powder, Cheese, Cream];

    /// <summary>Nominal yield (shared vocabulary of issue 13): liquid 0.985, fermented 1.0, powder 0.125, cheese 0.10, cream 0.12.</summary>
    public static double? NominalYield(string category) => category switch
    {
        Pasteurised or Sterilised or Modified => 0.985,
        Fermented => 1.0,
        Powder => 0.125,
        Cheese => 0.10,
        Cream => 0.12,
        _ => null,
    };
}

/// <summary>
/// A species' lactation: cows keep their calving interval less a 50-70 day dry period; goats kid once a year
/// (seasonal breeders) and milk <see cref="MinDays"/>..<see cref="MaxDays"/> days. <see cref="YieldScale"/> scales the
/// species' Wood curve to the breed kept (1 = the published curve).
/// </summary>
internal sealed class LactationProfile
{
    public static readonly LactationProfile DefaultCow = new() { MinDays = 0, MaxDays = 0, YieldScale = 1.0 };
    public static readonly LactationProfile DefaultGoat = new() { MinDays = 240, MaxDays = 290, YieldScale = 1.0 };

    public int MinDays { get; set; }
    public int MaxDays { get; set; }
    public double YieldScale { get; set; } = 1.0;
    public string Source { get; set; } = "";
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
    /// <summary>
    /// Water per kg of milk in a watered load, drawn uniformly: from 1 % (below what the freezing-point limit of
    /// -0.500 °C can see) up to 10 % (a crude fraud the acceptance test catches).
    /// </summary>
    public double WateredShareMin { get; set; } = 0.01;
    public double WateredShareMax { get; set; } = 0.10;
    /// <summary>
    /// A tanker load with one compartment that reads warm on the road (8 °C, warming 1.5 °C an hour to at most
    /// 9.8 °C: a compartment not cooled before loading, or a failing probe). Forced: <c>tanker_cooling_fault</c> on the
    /// day's longest route. A rate and a profile the simulator chose (unverified).
    /// </summary>
    public double TankerCoolingFaultPerLoad { get; set; } = 0.005;
    /// <summary>
    /// Any of antibiotic, cooling_failure, aflatoxin, watered_load, lead (a bulk-tank lot with lead above GB 2762's
    /// limit: only the regulator's supervisory sample measures metals, so its milk is accepted and made into product
    /// lots before the result comes: the incident a recall follows).
    /// </summary>
    public List<string> Forced { get; set; } = [];
}

/// <summary>What the profile promises of the plan's figures (0 = no promise); tests hold the fleet to them within 5 %.</summary>
internal sealed class ExpectedTotals
{
    public int Cows { get; set; }
    public int Goats { get; set; }
    /// <summary>Milk a day from Hohhot's own cow pastures, t.</summary>
    public double CowMilkT { get; set; }
    /// <summary>Milk a day from Hohhot's own goat pastures, t.</summary>
    public double GoatMilkT { get; set; }
    /// <summary>Milk a day received by the plants (Hohhot's pastures and the bases), t; registered cow and goat plant capacity must cover it.</summary>
    public double ProcessingT { get; set; }
    /// <summary>Registered goat-milk plant capacity, t/day.</summary>
    public double GoatProcessingCapacityT { get; set; }
}
