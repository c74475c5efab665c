using System.Collections.Concurrent;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// A token bucket per device: a device may send <see cref="IngestionOptions.DeviceMessagesPerSecond"/> messages a
/// second on average and bursts of <see cref="IngestionOptions.DeviceBurst"/>. A flooding device cannot take the
/// grains and InfluxDB away from the others; what it sends beyond its share is quarantined as <c>rate_limited</c>
/// (raw bytes kept, so it can be replayed) and counted.
/// </summary>
public sealed class DeviceRateLimiter(TimeProvider clock, IngestionOptions options)
{
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    public bool TryTake(string deviceId)
    {
        if (options.DeviceMessagesPerSecond <= 0)
        {
            return true;
        }

        var now = clock.GetTimestamp();
        var bucket = _buckets.GetOrAdd(deviceId, static (_, state) => new Bucket(state.Burst, state.Now), (Burst: (double)options.DeviceBurst, Now: now));
        lock (bucket)
        {
            var elapsed = clock.GetElapsedTime(bucket.Stamp, now).TotalSeconds;
            bucket.Stamp = now;
            bucket.Tokens = Math.Min(options.DeviceBurst, bucket.Tokens + (elapsed * options.DeviceMessagesPerSecond));
            if (bucket.Tokens < 1)
            {
                return false;
            }

            bucket.Tokens -= 1;
            return true;
        }
    }

    private sealed class Bucket(double tokens, long stamp)
    {
        public double Tokens { get; set; } = tokens;
        public long Stamp { get; set; } = stamp;
    }
}
