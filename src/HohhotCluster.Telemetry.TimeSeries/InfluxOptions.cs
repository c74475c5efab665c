using System.ComponentModel.DataAnnotations;

namespace HohhotCluster.Telemetry.TimeSeries;

public sealed class InfluxOptions
{
    public const string Section = "Influx";

    [Required(ErrorMessage = "Influx:Url is required (e.g. http://127.0.0.1:18086).")]
    [Url]
    public string Url { get; set; } = "";

    [Required]
    public string Database { get; set; } = "hohhot";

    /// <summary>Points per HTTP write; InfluxDB 1.x is fastest at a few thousand.</summary>
    [Range(1, 100_000)]
    public int MaxBatchPoints { get; set; } = 5000;

    /// <summary>How long a partly filled batch may wait before it is written.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:01:00")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Chunks (one per ingested batch) that may wait for the writer; producers wait beyond it (back-pressure).</summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 1024;

    [Range(typeof(TimeSpan), "00:00:00.010", "00:05:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(5);

    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(15);
}
