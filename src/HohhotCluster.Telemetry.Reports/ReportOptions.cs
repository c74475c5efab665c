using System.ComponentModel.DataAnnotations;

namespace HohhotCluster.Telemetry.Reports;

/// <summary>Configuration section <c>Reports</c>: where reports are written and how often schedules are looked at.</summary>
public sealed class ReportOptions
{
    public const string Section = "Reports";

    /// <summary>Runs the schedules (rendering on request works without it).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The folder every run writes to (<c>{Folder}/{organisation}/{run}/</c>); empty: <c>reports</c> under the working directory.</summary>
    public string Folder { get; set; } = "";

    [Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A scheduled run still marked running this long after it started was left by a host that stopped: it is taken over.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan StaleRunAfter { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Missed periods caught up per schedule and pass (a host down for a month catches up over a few passes).</summary>
    [Range(1, 400)]
    public int MaxCatchUpPerPass { get; set; } = 40;

    public string ResolvedFolder => Folder.Length > 0 ? Folder : Path.Combine(Environment.CurrentDirectory, "reports");
}
