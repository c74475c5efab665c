using System.ComponentModel.DataAnnotations;

namespace HohhotCluster.Telemetry.Ingestion;

public sealed class IngestionOptions
{
    public const string Section = "Ingestion";

    /// <summary>Largest payload accepted; the broker's own cap should be the same.</summary>
    [Range(256, 16 * 1024 * 1024)]
    public int MaxPayloadBytes { get; set; } = 64 * 1024;

    /// <summary>How far in the future an event time may be before it is quarantined as <c>clock_skew</c>.</summary>
    public TimeSpan MaxClockSkew { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How old an event time may be before it is quarantined as <c>too_late</c>.</summary>
    public TimeSpan MaxLateness { get; set; } = TimeSpan.FromDays(7);

    /// <summary>
    /// Messages processed together: one grain write and one InfluxDB chunk per grain per batch. 5,000 took 15 % less
    /// host and PostgreSQL CPU per message than 2,000 in the benchmark (BENCHMARKS.md), as each herd's state is
    /// written once for more of its readings.
    /// </summary>
    [Range(1, 100_000)]
    public int MaxBatchMessages { get; set; } = 5000;

    /// <summary>Batches in flight at once (parsed, applied, written) before acknowledgement.</summary>
    [Range(1, 64)]
    public int ConcurrentBatches { get; set; } = 4;

    /// <summary>
    /// Messages received but not yet taken into a batch; the MQTT receive handler waits beyond it. At least the MQTT
    /// receive maximum, so the handler never has to wait: the broker sends no more than that unacknowledged, and a
    /// client that stops reading its socket leaves Mosquitto 2.0.11 dripping a message per acknowledgement.
    /// </summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 65_536;

    /// <summary>
    /// A device's sustained message rate; beyond it (and its burst) messages are quarantined as <c>rate_limited</c>.
    /// The busiest real device (a parlour meter milking 500 cows an hour) sends well under 1 a second; 0 turns the limit off.
    /// </summary>
    [Range(0, 1_000_000)]
    public double DeviceMessagesPerSecond { get; set; } = 50;

    /// <summary>Messages a device may send at once before its rate applies (a gateway flushing its spool after an outage).</summary>
    [Range(1, 10_000_000)]
    public int DeviceBurst { get; set; } = 20_000;
}
