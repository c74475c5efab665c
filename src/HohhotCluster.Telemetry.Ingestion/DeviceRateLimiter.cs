using System.Collections.Concurrent;
using HohhotCluster.Telemetry.Contracts;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// A token bucket per device: a device may send <see cref="IngestionOptions.DeviceMessagesPerSecond"/> messages a
/// second on average and bursts of <see cref="IngestionOptions.DeviceBurst"/>. A flooding device cannot take the
/// grains and InfluxDB away from the others; what it sends beyond its share is quarantined as <c>rate_limited</c>
/// (raw bytes kept, so it can be replayed) and counted.
/// </summary>
public sealed class DeviceRateLimiter(TimeProvider clock, IngestionOptions options)
{
    /// <summary>Ranges of decided sequence numbers remembered per device, boot epoch and verdict.</summary>
    public const int RememberedRanges = 16_384;

    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    /// <summary>
    /// Decides a keyed message once: a redelivery (same device, boot epoch and seq, e.g. after a reconnect) gets the
    /// first decision again, so a message admitted and stored is not quarantined on its second delivery, and a
    /// refused one is refused again (the quarantine keeps it once). Decisions are kept as ranges of sequence numbers
    /// (one range for a device that was never refused), for the last two boot epochs of each device, at most
    /// <see cref="RememberedRanges"/> ranges of each verdict; they are lost with the process, as is the bucket.
    /// </summary>
    public bool Admits(ReadingKey key)
    {
        if (options.DeviceMessagesPerSecond <= 0)
        {
            return true;
        }

        var now = clock.GetTimestamp();
        var bucket = _buckets.GetOrAdd(key.DeviceId, static (_, state) => new Bucket(state.Burst, state.Now), (Burst: (double)options.DeviceBurst, Now: now));
        lock (bucket)
        {
            // Admitted first: beyond its capacity a set closes its oldest hole, which only ever makes a number look
            // admitted that was never decided, never one refused that was stored.
            var decided = bucket.Decisions(key.BootEpoch);
            if (decided.Admitted.Contains(key.Sequence))
            {
                return true;
            }

            if (decided.Refused.Contains(key.Sequence))
            {
                return false;
            }

            var elapsed = clock.GetElapsedTime(bucket.Stamp, now).TotalSeconds;
            bucket.Stamp = now;
            bucket.Tokens = Math.Min(options.DeviceBurst, bucket.Tokens + (elapsed * options.DeviceMessagesPerSecond));
            var admitted = bucket.Tokens >= 1;
            if (admitted)
            {
                bucket.Tokens -= 1;
                decided.Admitted.Add(key.Sequence, RememberedRanges);
            }
            else
            {
                decided.Refused.Add(key.Sequence, RememberedRanges);
            }

            return admitted;
        }
    }

    private sealed class Bucket(double tokens, long stamp)
    {
        private EpochDecisions _latest = new(long.MinValue);
        private EpochDecisions? _previous;

        public double Tokens { get; set; } = tokens;
        public long Stamp { get; set; } = stamp;

        /// <summary>The decisions of a boot epoch: the latest two are kept, an older one starts empty.</summary>
        public EpochDecisions Decisions(long epoch)
        {
            if (epoch == _latest.Epoch)
            {
                return _latest;
            }

            if (epoch == _previous?.Epoch)
            {
                return _previous;
            }

            var fresh = new EpochDecisions(epoch);
            if (epoch > _latest.Epoch)
            {
                (_previous, _latest) = (_latest, fresh);
            }

            return fresh;
        }
    }

    private sealed class EpochDecisions(long epoch)
    {
        public long Epoch { get; } = epoch;
        public SequenceRangeSet Admitted { get; } = new();
        public SequenceRangeSet Refused { get; } = new();
    }
}
