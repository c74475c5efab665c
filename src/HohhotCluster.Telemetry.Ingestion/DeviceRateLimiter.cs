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
    /// (one range for a device that was never refused), for the last two boot epochs of each device, the latest
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
            var decided = bucket.Decisions(key.BootEpoch);
            if (decided.Refused.Contains(key.Sequence))
            {
                return false;
            }

            if (decided.Admitted.Contains(key.Sequence))
            {
                return true;
            }

            var elapsed = clock.GetElapsedTime(bucket.Stamp, now).TotalSeconds;
            bucket.Stamp = now;
            bucket.Tokens = Math.Min(options.DeviceBurst, bucket.Tokens + (elapsed * options.DeviceMessagesPerSecond));
            var admitted = bucket.Tokens >= 1;
            if (admitted)
            {
                bucket.Tokens -= 1;
                decided.Admitted.Add(key.Sequence);
            }
            else
            {
                decided.Refused.Add(key.Sequence);
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
        public SequenceRanges Admitted { get; } = new(RememberedRanges);
        public SequenceRanges Refused { get; } = new(RememberedRanges);
    }
}

/// <summary>
/// A set of sequence numbers as sorted, disjoint ranges: a device's in-order sequence is one range. Beyond
/// <c>maxRanges</c> the lowest ranges are forgotten, a quarter at a time.
/// </summary>
public sealed class SequenceRanges(int maxRanges)
{
    private readonly List<(long First, long Last)> _ranges = [];

    public int RangeCount => _ranges.Count;

    public bool Contains(long seq)
    {
        var i = LastStartingAtOrBefore(seq);
        return i >= 0 && _ranges[i].Last >= seq;
    }

    public void Add(long seq)
    {
        var count = _ranges.Count;
        if (count > 0 && _ranges[count - 1].Last < seq)
        {
            // The usual case: the next message of an in-order sequence.
            if (_ranges[count - 1].Last == seq - 1)
            {
                _ranges[count - 1] = (_ranges[count - 1].First, seq);
            }
            else
            {
                _ranges.Add((seq, seq));
                Trim();
            }

            return;
        }

        var i = LastStartingAtOrBefore(seq);
        if (i >= 0 && _ranges[i].Last >= seq)
        {
            return;
        }

        var joinsLeft = i >= 0 && _ranges[i].Last == seq - 1;
        var joinsRight = i + 1 < count && _ranges[i + 1].First == seq + 1;
        if (joinsLeft && joinsRight)
        {
            _ranges[i] = (_ranges[i].First, _ranges[i + 1].Last);
            _ranges.RemoveAt(i + 1);
        }
        else if (joinsLeft)
        {
            _ranges[i] = (_ranges[i].First, seq);
        }
        else if (joinsRight)
        {
            _ranges[i + 1] = (seq, _ranges[i + 1].Last);
        }
        else
        {
            _ranges.Insert(i + 1, (seq, seq));
            Trim();
        }
    }

    private void Trim()
    {
        if (_ranges.Count > maxRanges)
        {
            _ranges.RemoveRange(0, Math.Max(1, maxRanges / 4));
        }
    }

    /// <summary>The index of the last range whose first number is at most <paramref name="seq"/>, or -1.</summary>
    private int LastStartingAtOrBefore(long seq)
    {
        int low = 0, high = _ranges.Count - 1;
        while (low <= high)
        {
            var mid = (low + high) >>> 1;
            if (_ranges[mid].First <= seq)
            {
                low = mid + 1;
            }
            else
            {
                high = mid - 1;
            }
        }

        return high;
    }
}
