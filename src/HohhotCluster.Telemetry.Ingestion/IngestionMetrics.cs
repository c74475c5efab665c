using System.Diagnostics.Metrics;
using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>What ingestion received, accepted, ignored as duplicate, quarantined (by reason) and completed (durable: the endpoint sends the PUBACK).</summary>
public sealed class IngestionMetrics
{
    public const string MeterName = "HohhotCluster.Telemetry.Ingestion";

    private readonly Counter<long> _received;
    private readonly Counter<long> _applied;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _quarantined;
    private readonly Counter<long> _acknowledged;
    private readonly Counter<long> _batchRetries;
    private readonly Counter<long> _batchSplits;
    private readonly Histogram<int> _batchSize;
    private readonly Histogram<double> _batchDuration;
    private readonly Meter _meter;

    public IngestionMetrics(IMeterFactory meterFactory)
    {
        var meter = _meter = meterFactory.Create(MeterName);
        _received = meter.CreateCounter<long>("hohhot.ingest.messages.received", "{message}");
        _applied = meter.CreateCounter<long>("hohhot.ingest.messages.applied", "{message}");
        _duplicates = meter.CreateCounter<long>("hohhot.ingest.messages.duplicate", "{message}");
        _quarantined = meter.CreateCounter<long>("hohhot.ingest.messages.quarantined", "{message}");
        _acknowledged = meter.CreateCounter<long>("hohhot.ingest.messages.acknowledged", "{message}");
        _batchRetries = meter.CreateCounter<long>("hohhot.ingest.batch.retries", "{batch}");
        _batchSplits = meter.CreateCounter<long>("hohhot.ingest.batch.splits", "{split}");
        _batchSize = meter.CreateHistogram<int>("hohhot.ingest.batch.size", "{message}", "Readings in one processed batch",
            advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [1, 2, 5, 10, 50, 100, 500, 1000, 2500, 5000] });
        // Every counter exists from the start at 0: a series born at its first increment shows no increase to a
        // rate() that sees that first sample, so a burst right after start would read as nothing received.
        _received.Add(0);
        _applied.Add(0);
        _duplicates.Add(0);
        // A labelled series too: Prometheus' rate() sees no increase in a series' first sample, so a reason first
        // met in a burst (40 malformed readings within one scrape) would read as no quarantine at all.
        foreach (var reason in QuarantineReasons.All)
        {
            _quarantined.Add(0, new KeyValuePair<string, object?>("reason", reason));
        }

        _acknowledged.Add(0);
        _batchDuration = meter.CreateHistogram<double>("hohhot.ingest.batch.duration", "s", "From a batch taken off the queue to its readings durable (retries of an outage included)");
    }

    public void RecordReceived() => _received.Add(1);

    public void RecordApplied(int count) => _applied.Add(count);

    public void RecordDuplicates(int count) => _duplicates.Add(count);

    public void RecordQuarantined(string reason) => _quarantined.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void RecordAcknowledged(int count) => _acknowledged.Add(count);

    public void RecordBatchRetry() => _batchRetries.Add(1);

    public void RecordBatchSplit() => _batchSplits.Add(1);

    /// <summary>A batch's readings are durable (or quarantined): its size and how long it took.</summary>
    public void RecordBatch(int readings, TimeSpan duration)
    {
        _batchSize.Record(readings);
        _batchDuration.Record(duration.TotalSeconds);
    }

    /// <summary>The pipeline's queue depth (readings waiting for a worker), read at each collection.</summary>
    public void ObserveQueueDepth(Func<int> depth) =>
        _meter.CreateObservableGauge("hohhot.ingest.queue.depth", depth, "{message}", "Readings queued for ingestion's workers");
}
