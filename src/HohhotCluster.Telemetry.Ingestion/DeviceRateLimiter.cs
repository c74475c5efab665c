using System.Collections.Concurrent;
using HohhotCluster.Telemetry.Contracts;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>The rate limiter's verdict on one keyed message.</summary>
public enum RateDecision
{
    Admitted,
    Refused,

    /// <summary>A redelivery of a message refused before whose quarantine row is written: it only needs acknowledging.</summary>
    RefusedBefore,
}

/// <summary>
/// A token bucket per device: a device may send <see cref="IngestionOptions.DeviceMessagesPerSecond"/> messages a
/// second on average and bursts of <see cref="IngestionOptions.DeviceBurst"/>. A flooding device cannot take the
/// grains and InfluxDB away from the others; what it sends beyond its share is quarantined as <c>rate_limited</c>
/// (raw bytes kept, so it can be replayed) and counted.
/// </summary>
public sealed class DeviceRateLimiter(TimeProvider clock, IngestionOptions options)
{
    /// <summary>Decisions remembered per throttled device, for redeliveries after a reconnect.</summary>
    public const int RememberedDecisions = 16_384;

    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    /// <summary>
    /// Decides a keyed message once: a redelivery (same device, boot epoch and seq, e.g. after a reconnect) gets the
    /// first decision again, so a message already stored is not quarantined on its second delivery and a refused one
    /// is not quarantined twice. Decisions are remembered only for devices that have been refused (a flood), the last
    /// <see cref="RememberedDecisions"/> each; they are lost with the process, as is the bucket.
    /// </summary>
    public RateDecision Decide(ReadingKey key)
    {
        if (options.DeviceMessagesPerSecond <= 0)
        {
            return RateDecision.Admitted;
        }

        var now = clock.GetTimestamp();
        var bucket = _buckets.GetOrAdd(key.DeviceId, static (_, state) => new Bucket(state.Burst, state.Now), (Burst: (double)options.DeviceBurst, Now: now));
        lock (bucket)
        {
            if (bucket.Decisions is { } known && known.TryGetValue((key.BootEpoch, key.Sequence), out var before))
            {
                // Refused but its row not yet written (the first delivery is still retrying): refuse again.
                return before;
            }

            var elapsed = clock.GetElapsedTime(bucket.Stamp, now).TotalSeconds;
            bucket.Stamp = now;
            bucket.Tokens = Math.Min(options.DeviceBurst, bucket.Tokens + (elapsed * options.DeviceMessagesPerSecond));
            var admitted = bucket.Tokens >= 1;
            if (admitted)
            {
                bucket.Tokens -= 1;
            }

            if (!admitted || bucket.Decisions is not null)
            {
                bucket.Remember((key.BootEpoch, key.Sequence), admitted ? RateDecision.Admitted : RateDecision.Refused);
            }

            return admitted ? RateDecision.Admitted : RateDecision.Refused;
        }
    }

    /// <summary>The refused message's quarantine row is written: a redelivery of it is only acknowledged.</summary>
    public void Quarantined(ReadingKey key)
    {
        if (_buckets.TryGetValue(key.DeviceId, out var bucket))
        {
            lock (bucket)
            {
                if (bucket.Decisions is { } known && known.ContainsKey((key.BootEpoch, key.Sequence)))
                {
                    known[(key.BootEpoch, key.Sequence)] = RateDecision.RefusedBefore;
                }
            }
        }
    }

    private sealed class Bucket(double tokens, long stamp)
    {
        public double Tokens { get; set; } = tokens;
        public long Stamp { get; set; } = stamp;
        public Dictionary<(long Epoch, long Seq), RateDecision>? Decisions { get; private set; }
        private readonly Queue<(long Epoch, long Seq)> _order = new();

        public void Remember((long Epoch, long Seq) key, RateDecision decision)
        {
            Decisions ??= [];
            if (Decisions.TryAdd(key, decision))
            {
                _order.Enqueue(key);
                if (_order.Count > RememberedDecisions)
                {
                    Decisions.Remove(_order.Dequeue());
                }
            }
        }
    }
}
