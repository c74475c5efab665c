using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Audit;

/// <summary>Audits, KPIs and alerts (section <c>Audit</c>). Every threshold the domain leaves unverified lives here.</summary>
public sealed class AuditOptions
{
    public const string Section = "Audit";

    public AlertOptions Alerts { get; set; } = new();

    /// <summary>Vaccination programmes accepted in <c>health</c> messages; empty means <see cref="DefaultProgrammes"/>.</summary>
    public List<HealthProgramme> Programmes { get; set; } = [];

    /// <summary>Trailing window of the manure utilisation alert and the KPI default window.</summary>
    [Range(1, 366)]
    public int KpiWindowDays { get; set; } = 30;

    public static IReadOnlyList<HealthProgramme> DefaultProgrammes { get; } =
    [
        // Protective titres are placeholders (domain.md: unverified); set the real ones in configuration.
        new() { Id = "fmd", Name = "Foot-and-mouth disease", ProtectiveTitre = 128 },
        new() { Id = "brucellosis", Name = "Brucellosis", ProtectiveTitre = 0 },
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

    /// <summary>A device that sent nothing for this long is silent.</summary>
    public TimeSpan DeviceSilentAfter { get; set; } = TimeSpan.FromMinutes(30);

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

        if (alerts.BulkTankMaxDuration <= TimeSpan.Zero || alerts.BulkTankMaxDuration > TimeSpan.FromDays(1))
        {
            problems.Add("Audit:Alerts:BulkTankMaxDuration must be between 0 and 1 day.");
        }

        if (alerts.DeviceSilentAfter < TimeSpan.FromSeconds(10) || alerts.WatchdogInterval < TimeSpan.FromSeconds(1)
            || alerts.SequenceGapGrace < TimeSpan.Zero)
        {
            problems.Add("Audit:Alerts: DeviceSilentAfter must be >= 10 s, WatchdogInterval >= 1 s, SequenceGapGrace >= 0.");
        }

        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var programme in options.Programmes)
        {
            if (string.IsNullOrWhiteSpace(programme.Id) || !ids.Add(programme.Id) || programme.ProtectiveTitre < 0)
            {
                problems.Add($"Audit:Programmes: '{programme.Id}' needs a unique id and a protective titre >= 0.");
            }
        }

        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
