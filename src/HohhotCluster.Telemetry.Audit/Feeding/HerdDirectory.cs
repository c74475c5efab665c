using System.Collections.Concurrent;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Audit.Feeding;

/// <summary>Which pasture a herd is registered on, cached for a minute: every feeding message names a herd.</summary>
public sealed class HerdDirectory(RegistryStore registry, TimeProvider clock)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, (string? PastureId, DateTimeOffset Expires)> _cache = new(StringComparer.Ordinal);

    /// <summary>True when the herd is registered on this pasture (herds never move: <c>RegistryStore</c> refuses it).</summary>
    public async ValueTask<bool> IsOnPastureAsync(string herdId, string pastureId, CancellationToken cancellationToken)
    {
        if (!_cache.TryGetValue(herdId, out var cached) || cached.Expires <= clock.GetUtcNow())
        {
            var herd = await registry.FindHerdAsync(herdId, cancellationToken);
            cached = (herd?.PastureId, clock.GetUtcNow() + Lifetime);
            _cache[herdId] = cached;
        }

        return cached.PastureId == pastureId;
    }
}
