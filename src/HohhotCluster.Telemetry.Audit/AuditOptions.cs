using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Audit;

/// <summary>Audits, KPIs and alerts (section <c>Audit</c>). Every threshold the domain leaves unverified lives here.</summary>
public sealed class AuditOptions
{
    public const string Section = "Audit";

    public AlertOptions Alerts { get; set; } = new();

    /// <summary>The breeding KPIs' definitions (goat breeding stock).</summary>
    public Kpi.BreedingOptions Breeding { get; set; } = new();

    /// <summary>Vaccination programmes accepted in <c>health</c> messages; empty means <see cref="DefaultProgrammes"/>.</summary>
    public List<HealthProgramme> Programmes { get; set; } = [];

    /// <summary>Trailing window of the manure utilisation alert and the KPI default window.</summary>
    [Range(1, 366)]
    public int KpiWindowDays { get; set; } = 30;

    /// <summary>What a pasture must report, and how often, to count as a smart demonstration pasture.</summary>
    public SmartPastureOptions SmartPasture { get; set; } = new();

    /// <summary>TMR feeding: the feed catalogue (with prices where known) and the feeding alerts' thresholds.</summary>
    public Feeding.FeedingOptions Feeding { get; set; } = new();

    public static IReadOnlyList<HealthProgramme> DefaultProgrammes { get; } =
    [
        // Protective titres are placeholders (domain.md: unverified); set the real ones in configuration.
        // Protection periods: FMD, MARA's compulsory immunisation programme boosts scale farms every 4-6 months, so
        // 120 days (the short end: an estimate that does not flatter); PPR, a single dose of the Nigeria 75/1 live
        // vaccine protected goats for at least 3 years (Zahur et al. 2014, doi:10.4236/jbm.2014.26005), the programme
        // boosts animals past their protection period; brucellosis 365 days is unverified (the A19, S2 and M5 vaccines'
        // labels differ): set the label's period in configuration.
        new() { Id = "fmd", Name = "Foot-and-mouth disease", ProtectiveTitre = 128, ProtectionDays = 120, Species = ["cow", "goat"] },
        new() { Id = "brucellosis", Name = "Brucellosis", ProtectiveTitre = 0, ProtectionDays = 365, Species = ["cow", "goat"] },
        new() { Id = "ppr", Name = "Peste des petits ruminants (小反刍兽疫)", ProtectiveTitre = 0, ProtectionDays = 1095, Species = ["goat"] },
    ];

    public IReadOnlyList<HealthProgramme> EffectiveProgrammes => Programmes.Count > 0 ? Programmes : DefaultProgrammes;
}

public sealed class HealthProgramme
{
    [Required]
    public string Id { get; set; } = "";

    public string Name { get; set; } = "";

    /// <summary>Reciprocal dilution at or above which a titre is protective; 0 when the programme has no titre test.</summary>
    [Range(0, 1_000_000)]
    public int ProtectiveTitre { get; set; }

    /// <summary>Days a vaccination protects: an animal vaccinated within this many days before a day is immune on it.</summary>
    [Range(1, 3660)]
    public int ProtectionDays { get; set; } = 180;

    /// <summary>
    /// The species the programme vaccinates (a cow pasture is not in a goats-only programme's stock); empty: every
    /// species (empty by default because configuration binding appends to a list rather than replacing it).
    /// </summary>
    public List<string> Species { get; set; } = [];

    public bool Applies(string species) => Species.Count == 0 || Species.Contains(species, StringComparer.Ordinal);
}

/// <summary>
/// The plan's smart demonstration pasture (智慧化示范牧场: TMR, milk quality testing and manure use, all on line):
/// streams a pasture must report over the KPI window, each on at least a share of the window's days or at a cadence.
/// </summary>
public sealed class SmartPastureOptions
{
    /// <summary>Share of the window's days with at least one bulk-tank collection (tank milk leaves every day).</summary>
    [Range(0.0, 1.0)]
    public double MinCollectionDayShare { get; set; } = 0.9;

    /// <summary>Share of the window's days with milkings recorded by the parlour's meters (2-3 milkings a day).</summary>
    [Range(0.0, 1.0)]
    public double MinMilkingDayShare { get; set; } = 0.9;

    /// <summary>Share of the window's days with at least one TMR mixer load (a TMR pasture mixes every day).</summary>
    [Range(0.0, 1.0)]
    public double MinTmrDayShare { get; set; } = 0.9;

    /// <summary>A quality sample of the pasture's milk at least once in every this many days of the window.</summary>
    [Range(1, 366)]
    public int QualityEveryDays { get; set; } = 7;

    /// <summary>A manure record at least once in every this many days of the window.</summary>
    [Range(1, 366)]
    public int ManureEveryDays { get; set; } = 7;
}

public sealed class AlertOptions
{
    /// <summary>Bulk-tank milk must be held at or below this (°C)...</summary>
    [Range(-5, 20)]
    public double BulkTankMaxC { get; set; } = 4;

    /// <summary>...and may be above it for at most this long before the alert is raised.</summary>
    public TimeSpan BulkTankMaxDuration { get; set; } = TimeSpan.FromHours(2);

    /// <summary>Tanker milk above this on arrival is a warning (°C).</summary>
    [Range(-5, 30)]
    public double TankerWarnC { get; set; } = 7;

    /// <summary>Tanker milk above this on arrival is rejected (°C).</summary>
    [Range(-5, 30)]
    public double TankerRejectC { get; set; } = 10;

    /// <summary>
    /// A tanker load whose warmest compartment spent longer than this above the road limit in transit
    /// (<c>Traceability:TankerLog:AboveC</c>, 7 °C) raises <c>tanker_transit_temperature</c> (platform's judgement).
    /// </summary>
    public TimeSpan TankerTransitMaxAboveLimit { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>A load's route (first pickup to intake) shorter than this raises <c>tanker_route_time</c>: load ids mixed up, or a clock off.</summary>
    public TimeSpan TankerRouteMin { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>A load's route longer than this raises <c>tanker_route_time</c> (platform's judgement: Hohhot's pastures are a few hours' drive from the plants at most).</summary>
    public TimeSpan TankerRouteMax { get; set; } = TimeSpan.FromHours(6);

    /// <summary>Weight of the newest milking in a cow's conductivity baseline (EWMA).</summary>
    [Range(0.01, 1)]
    public double MastitisEwmaAlpha { get; set; } = 0.2;

    /// <summary>A milking this fraction above the cow's own baseline is suspicious (0.15 = 15 %).</summary>
    [Range(0.01, 5)]
    public double MastitisRiseFraction { get; set; } = 0.15;

    /// <summary>Milkings that build a cow's baseline before she can be judged.</summary>
    [Range(1, 100)]
    public int MastitisWarmupMilkings { get; set; } = 5;

    /// <summary>Consecutive suspicious milkings that raise the alert.</summary>
    [Range(1, 10)]
    public int MastitisConsecutiveMilkings { get; set; } = 2;

    /// <summary>A device whose kinds are not known (none recorded within 8 days) is silent after this long; see <see cref="Alerts.DeviceCadence"/>.</summary>
    public TimeSpan DeviceSilentAfter { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// A kind's reporting cadence overriding the one its definition declares (<see cref="Kinds.ITelemetryKind.Cadence"/>), by kind name,
    /// e.g. <c>"manure": "36:00:00"</c>; <c>"00:00:00"</c> makes the kind event-driven (it never makes a device silent).
    /// </summary>
    public Dictionary<string, TimeSpan> SilentAfterByKind { get; set; } = new(StringComparer.Ordinal);

    /// <summary>How often the watchdog looks for silent devices and sequence gaps.</summary>
    public TimeSpan WatchdogInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A hole in a device's sequence must stay open this long before it is an alert (late messages fill holes).</summary>
    public TimeSpan SequenceGapGrace { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>A pasture's manure utilisation below this (%) over the trailing window raises an alert.</summary>
    [Range(0, 100)]
    public double ManureMinUtilisationPercent { get; set; } = 90;
}

/// <summary>Rules across members that data annotations cannot say; fails start-up with a message naming the setting.</summary>
public sealed class AuditOptionsValidator : IValidateOptions<AuditOptions>
{
    public ValidateOptionsResult Validate(string? name, AuditOptions options)
    {
        var problems = new List<string>();
        var alerts = options.Alerts;
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(alerts, new ValidationContext(alerts), results, validateAllProperties: true))
        {
            problems.AddRange(results.Select(r => "Audit:Alerts: " + r.ErrorMessage));
        }

        if (alerts.TankerWarnC >= alerts.TankerRejectC)
        {
            problems.Add("Audit:Alerts:TankerWarnC must be below TankerRejectC.");
        }

        if (alerts.TankerTransitMaxAboveLimit <= TimeSpan.Zero || alerts.TankerTransitMaxAboveLimit > TimeSpan.FromDays(1))
        {
            problems.Add("Audit:Alerts:TankerTransitMaxAboveLimit must be between 0 and 1 day.");
        }

        if (alerts.TankerRouteMin < TimeSpan.Zero || alerts.TankerRouteMin >= alerts.TankerRouteMax || alerts.TankerRouteMax > TimeSpan.FromDays(2))
        {
            problems.Add("Audit:Alerts: TankerRouteMin must be >= 0 and below TankerRouteMax, which must be at most 2 days.");
        }

        if (alerts.BulkTankMaxDuration <= TimeSpan.Zero || alerts.BulkTankMaxDuration > TimeSpan.FromDays(1))
        {
            problems.Add("Audit:Alerts:BulkTankMaxDuration must be between 0 and 1 day.");
        }

        if (alerts.DeviceSilentAfter < TimeSpan.FromSeconds(10) || alerts.WatchdogInterval < TimeSpan.FromSeconds(1)
            || alerts.SequenceGapGrace < TimeSpan.Zero)
        {
            problems.Add("Audit:Alerts: DeviceSilentAfter must be >= 10 s, WatchdogInterval >= 1 s, SequenceGapGrace >= 0.");
        }

        foreach (var (kind, silentAfter) in alerts.SilentAfterByKind)
        {
            if (silentAfter != TimeSpan.Zero && (silentAfter < TimeSpan.FromSeconds(10) || silentAfter > TimeSpan.FromDays(8)))
            {
                problems.Add($"Audit:Alerts:SilentAfterByKind:{kind} must be 00:00:00 (event-driven) or between 10 s and 8 days (the window of a device's kinds).");
            }
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var programme in options.Programmes)
        {
            if (string.IsNullOrWhiteSpace(programme.Id) || !ids.Add(programme.Id) || programme.ProtectiveTitre < 0)
            {
                problems.Add($"Audit:Programmes: '{programme.Id}' needs a unique id and a protective titre >= 0.");
            }

            if (programme.ProtectionDays is < 1 or > 3660)
            {
                problems.Add($"Audit:Programmes: '{programme.Id}' needs ProtectionDays between 1 and 3660.");
            }

            if (programme.Species.Any(s => s is not ("cow" or "goat")))
            {
                problems.Add($"Audit:Programmes: '{programme.Id}' Species may name only cow and goat.");
            }
        }

        var smart = options.SmartPasture;
        results.Clear();
        if (!Validator.TryValidateObject(smart, new ValidationContext(smart), results, validateAllProperties: true))
        {
            problems.AddRange(results.Select(r => "Audit:SmartPasture: " + r.ErrorMessage));
        }

        var feeding = options.Feeding;
        results.Clear();
        if (!Validator.TryValidateObject(feeding, new ValidationContext(feeding), results, validateAllProperties: true))
        {
            problems.AddRange(results.Select(r => "Audit:Feeding: " + r.ErrorMessage));
        }

        if (feeding.RefusalsMinPercent >= feeding.RefusalsMaxPercent)
        {
            problems.Add("Audit:Feeding:RefusalsMinPercent must be below RefusalsMaxPercent.");
        }

        var feedIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var feed in feeding.Feeds)
        {
            results.Clear();
            if (!Validator.TryValidateObject(feed, new ValidationContext(feed), results, validateAllProperties: true) || !feedIds.Add(feed.Id))
            {
                problems.Add($"Audit:Feeding:Feeds: '{feed.Id}' needs a unique id of 1-32 characters a-z, 0-9 or _ and a price >= 0.");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
