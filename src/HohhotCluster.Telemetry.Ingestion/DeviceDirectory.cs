using System.Collections.Concurrent;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// A read-through cache of the registry for the hot path: devices and herds are looked up once a minute at most,
/// unknown ones once every few seconds (so a flood from an unknown device does not hammer PostgreSQL).
/// </summary>
public sealed class DeviceDirectory(RegistryStore registry, TimeProvider clock)
{
    private static readonly TimeSpan KnownLifetime = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan UnknownLifetime = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, (DeviceContext? Value, DateTimeOffset Expires)> _devices = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (HerdRecord? Value, DateTimeOffset Expires)> _herds = new(StringComparer.Ordinal);

    public ValueTask<DeviceContext?> FindDeviceAsync(string deviceId, CancellationToken cancellationToken) =>
        _devices.TryGetValue(deviceId, out var cached) && cached.Expires > clock.GetUtcNow()
            ? ValueTask.FromResult(cached.Value)
            : new ValueTask<DeviceContext?>(LoadDeviceAsync(deviceId, cancellationToken));

    public ValueTask<HerdRecord?> FindHerdAsync(string herdId, CancellationToken cancellationToken) =>
        _herds.TryGetValue(herdId, out var cached) && cached.Expires > clock.GetUtcNow()
            ? ValueTask.FromResult(cached.Value)
            : new ValueTask<HerdRecord?>(LoadHerdAsync(herdId, cancellationToken));

    /// <summary>Forget everything, e.g. after the registry changed.</summary>
    public void Invalidate()
    {
        _devices.Clear();
        _herds.Clear();
    }

    private async Task<DeviceContext?> LoadDeviceAsync(string deviceId, CancellationToken cancellationToken)
    {
        var device = await registry.FindDeviceAsync(deviceId, cancellationToken);
        _devices[deviceId] = (device, clock.GetUtcNow() + (device is null ? UnknownLifetime : KnownLifetime));
        return device;
    }

    private async Task<HerdRecord?> LoadHerdAsync(string herdId, CancellationToken cancellationToken)
    {
        var herd = await registry.FindHerdAsync(herdId, cancellationToken);
        _herds[herdId] = (herd, clock.GetUtcNow() + (herd is null ? UnknownLifetime : KnownLifetime));
        return herd;
    }
}
