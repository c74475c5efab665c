using System.Collections.Concurrent;
using System.Collections.Frozen;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// The registry as the hot path sees it: a snapshot of every device and herd, read in one query and refreshed in the
/// background once it is half a minute old, so an answer is never more than a minute stale. What the snapshot does
/// not hold (registered since, or unknown) is looked up one by one and cached: found ones for a minute, unknown ones
/// for a few seconds (so a flood from an unknown device does not hammer PostgreSQL).
/// </summary>
public sealed class DeviceDirectory(RegistryStore registry, TimeProvider clock) : IDeviceLookup
{
    private static readonly TimeSpan KnownLifetime = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan RefreshAfter = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan UnknownLifetime = TimeSpan.FromSeconds(5);

    private readonly ConcurrentDictionary<string, (DeviceContext? Value, DateTimeOffset Expires)> _devices = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (HerdRecord? Value, DateTimeOffset Expires)> _herds = new(StringComparer.Ordinal);
    private readonly Lock _refreshGate = new();
    private volatile Snapshot _snapshot = Snapshot.Empty;
    private Task? _refreshing;
    private int _generation;

    public ValueTask<DeviceContext?> FindDeviceAsync(string deviceId, CancellationToken cancellationToken) =>
        FindAsync(deviceId, static snapshot => snapshot.Devices, _devices, registry.FindDeviceAsync, cancellationToken);

    public ValueTask<HerdRecord?> FindHerdAsync(string herdId, CancellationToken cancellationToken) =>
        FindAsync(herdId, static snapshot => snapshot.Herds, _herds, registry.FindHerdAsync, cancellationToken);

    /// <summary>Forget everything, e.g. after the registry changed.</summary>
    public void Invalidate()
    {
        lock (_refreshGate)
        {
            _generation++;
            _snapshot = Snapshot.Empty;
        }

        _devices.Clear();
        _herds.Clear();
    }

    /// <summary>The snapshot if it is still fresh enough to answer from; starts a refresh when it is getting old.</summary>
    private Snapshot? Current(DateTimeOffset now)
    {
        var snapshot = _snapshot;
        var age = now - snapshot.ReadAt;
        if (age > RefreshAfter)
        {
            lock (_refreshGate)
            {
                if (_refreshing is null || _refreshing.IsCompleted)
                {
                    _refreshing = RefreshAsync();
                }
            }
        }

        return age <= KnownLifetime ? snapshot : null;
    }

    private async Task RefreshAsync()
    {
        try
        {
            int generation;
            lock (_refreshGate)
            {
                generation = _generation;
            }

            var readAt = clock.GetUtcNow();
            var (devices, herds) = await registry.ReadDirectoryAsync(CancellationToken.None);
            var snapshot = new Snapshot(
                devices.ToFrozenDictionary(d => d.DeviceId, StringComparer.Ordinal),
                herds.ToFrozenDictionary(h => h.Id, StringComparer.Ordinal),
                readAt);
            lock (_refreshGate)
            {
                // A registry change while we read makes this snapshot stale: the next lookup starts a new refresh.
                if (generation == _generation)
                {
                    _snapshot = snapshot;
                }
            }
        }
        catch (Exception)
        {
            // PostgreSQL away: answers come from the one-by-one lookups (which report their own errors) until a
            // later refresh succeeds.
        }
    }

    /// <summary>From the snapshot if it is fresh and has the id; else from the one-by-one cache; else from PostgreSQL.</summary>
    private ValueTask<T?> FindAsync<T>(
        string id,
        Func<Snapshot, FrozenDictionary<string, T>> inSnapshot,
        ConcurrentDictionary<string, (T? Value, DateTimeOffset Expires)> cache,
        Func<string, CancellationToken, Task<T?>> load,
        CancellationToken cancellationToken)
        where T : class
    {
        var now = clock.GetUtcNow();
        if (Current(now) is { } snapshot && inSnapshot(snapshot).TryGetValue(id, out var found))
        {
            return ValueTask.FromResult<T?>(found);
        }

        return cache.TryGetValue(id, out var cached) && cached.Expires > now
            ? ValueTask.FromResult(cached.Value)
            : new ValueTask<T?>(LoadAsync());

        async Task<T?> LoadAsync()
        {
            var value = await load(id, cancellationToken);
            cache[id] = (value, clock.GetUtcNow() + (value is null ? UnknownLifetime : KnownLifetime));
            return value;
        }
    }

    private sealed record Snapshot(
        FrozenDictionary<string, DeviceContext> Devices, FrozenDictionary<string, HerdRecord> Herds, DateTimeOffset ReadAt)
    {
        public static readonly Snapshot Empty = new(
            FrozenDictionary<string, DeviceContext>.Empty, FrozenDictionary<string, HerdRecord>.Empty, DateTimeOffset.MinValue);
    }
}
