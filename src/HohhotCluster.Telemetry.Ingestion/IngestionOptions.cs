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
    /// Readings received but not yet taken into a batch; the endpoint's publish handlers wait beyond it (each
    /// connection has one message in flight, so this bounds memory whatever the number of gateways).
    /// </summary>
    [Range(1, 1_000_000)]
    public int QueueCapacity { get; set; } = 65_536;

    /// <summary>Readings one batch message may carry (docs/mqtt-contract.md, "The batch form").</summary>
    [Range(1, 10_000)]
    public int MaxBatchReadings { get; set; } = 500;

    /// <summary>
    /// Failures of a batch, not caused by a store being away, before it is split in halves to find the message that
    /// fails it; a single message failing this often is quarantined as <c>processing_failed</c>. A store outage is
    /// retried for as long as it lasts, acknowledging nothing.
    /// </summary>
    [Range(1, 100)]
    public int FailuresBeforeSplit { get; set; } = 2;
}
