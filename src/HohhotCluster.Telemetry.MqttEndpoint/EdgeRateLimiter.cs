using System.Collections.Concurrent;

namespace HohhotCluster.Telemetry.MqttEndpoint;

/// <summary>
/// Token buckets at the edge, one per gateway and one per device: a message is admitted only when its gateway and
/// every device it carries readings of have the tokens, and is refused whole otherwise (what was taken is given
/// back). A refused message is stored nowhere: a device over its rate costs that publish a PUBACK 0x97 (quota
/// exceeded), a gateway over its rate is disconnected with 0x96 (message rate too high); either resends later. Memory is bounded: beyond
/// <see cref="MqttEndpointOptions.TrackedDevices"/> buckets, those full again (idle devices) are forgotten, and a
/// flood of made-up device ids is capped by its gateway's bucket first.
/// </summary>
public sealed class EdgeRateLimiter(TimeProvider clock, MqttEndpointOptions options)
{
    private readonly TokenBuckets _gateways = new(clock, options.GatewayReadingsPerSecond, options.GatewayBurst, options.TrackedDevices);
    private readonly TokenBuckets _devices = new(clock, options.DeviceReadingsPerSecond, options.DeviceBurst, options.TrackedDevices);

    public int TrackedDevices => _devices.Count;

    /// <summary>Takes one token per reading from the gateway and from each reading's device; nothing is taken when any is short.</summary>
    public RateVerdict Admit(string gatewayId, IReadOnlyList<string?> deviceIds, out string refusal)
    {
        refusal = "";
        if (!_gateways.TryTake(gatewayId, deviceIds.Count))
        {
            refusal = $"gateway '{gatewayId}' sends more than {options.GatewayReadingsPerSecond} readings/s beyond a burst of {options.GatewayBurst}";
            return RateVerdict.GatewayOverRate;
        }

        var perDevice = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var device in deviceIds)
        {
            if (device is not null)
            {
                perDevice[device] = perDevice.GetValueOrDefault(device) + 1;
            }
        }

        var taken = new List<KeyValuePair<string, int>>(perDevice.Count);
        foreach (var entry in perDevice)
        {
            if (!_devices.TryTake(entry.Key, entry.Value))
            {
                foreach (var (device, count) in taken)
                {
                    _devices.GiveBack(device, count);
                }

                _gateways.GiveBack(gatewayId, deviceIds.Count);
                refusal = $"device '{entry.Key}' sends more than {options.DeviceReadingsPerSecond} readings/s beyond a burst of {options.DeviceBurst}";
                return RateVerdict.DeviceOverRate;
            }

            taken.Add(entry);
        }

        return RateVerdict.Admitted;
    }
}

public enum RateVerdict
{
    Admitted,
    DeviceOverRate,
    GatewayOverRate,
}

/// <summary>Named token buckets refilling at a rate up to a burst; a rate of 0 admits everything.</summary>
internal sealed class TokenBuckets(TimeProvider clock, double perSecond, double burst, int maxTracked)
{
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);
    private readonly Lock _sweep = new();

    public int Count => _buckets.Count;

    public bool TryTake(string name, int tokens)
    {
        if (perSecond <= 0)
        {
            return true;
        }

        if (_buckets.Count >= maxTracked && !_buckets.ContainsKey(name))
        {
            ForgetFullBuckets();
            if (_buckets.Count >= 2 * maxTracked)
            {
                return false; // more names busy at once than the bound: a newcomer waits until some are idle
            }
        }

        var now = clock.GetTimestamp();
        var bucket = _buckets.GetOrAdd(name, static (_, state) => new Bucket(state.Burst, state.Now), (Burst: burst, Now: now));
        lock (bucket)
        {
            Refill(bucket, now);
            if (bucket.Tokens < tokens)
            {
                return false;
            }

            bucket.Tokens -= tokens;
            return true;
        }
    }

    /// <summary>Whether the bucket holds that many tokens now, taking none (a name never seen has a full bucket).</summary>
    public bool HasTokens(string name, int tokens)
    {
        if (perSecond <= 0 || !_buckets.TryGetValue(name, out var bucket))
        {
            return true;
        }

        lock (bucket)
        {
            Refill(bucket, clock.GetTimestamp());
            return bucket.Tokens >= tokens;
        }
    }

    public void GiveBack(string name, int tokens)
    {
        if (perSecond > 0 && _buckets.TryGetValue(name, out var bucket))
        {
            lock (bucket)
            {
                bucket.Tokens = Math.Min(burst, bucket.Tokens + tokens);
            }
        }
    }

    private void Refill(Bucket bucket, long now)
    {
        var elapsed = clock.GetElapsedTime(bucket.Stamp, now).TotalSeconds;
        bucket.Stamp = now;
        bucket.Tokens = Math.Min(burst, bucket.Tokens + (elapsed * perSecond));
    }

    private void ForgetFullBuckets()
    {
        lock (_sweep)
        {
            if (_buckets.Count < maxTracked)
            {
                return;
            }

            var now = clock.GetTimestamp();
            foreach (var (name, bucket) in _buckets)
            {
                lock (bucket)
                {
                    Refill(bucket, now);
                    if (bucket.Tokens >= burst)
                    {
                        _buckets.TryRemove(name, out _);
                    }
                }
            }
        }
    }

    private sealed class Bucket(double tokens, long stamp)
    {
        public double Tokens { get; set; } = tokens;

        public long Stamp { get; set; } = stamp;
    }
}
