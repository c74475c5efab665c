using System.Collections.Concurrent;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Animals;

/// <summary>
/// The pastures and herds the animal rules check against (county, species; which pasture a herd is on), read from the
/// registry and cached for a minute: every animal event names a pasture and many a herd.
/// </summary>
public sealed class PastureDirectory(RegistryStore registry, TimeProvider clock)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<string, (PastureFacts? Facts, DateTimeOffset Expires)> _pastures = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (string? PastureId, DateTimeOffset Expires)> _herds = new(StringComparer.Ordinal);

    /// <summary>The pasture's county and species, or null when it is not registered.</summary>
    public async ValueTask<PastureFacts?> FindAsync(string pastureId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (!_pastures.TryGetValue(pastureId, out var cached) || cached.Expires <= now)
        {
            var pasture = await registry.FindPastureAsync(pastureId, cancellationToken);
            PastureFacts? facts = pasture is not null && AnimalNames.TryParseSpecies(pasture.Species, out var species)
                ? new PastureFacts(pasture.Id, pasture.CountyId, species)
                : null;
            cached = (facts, now + Lifetime);
            _pastures[pastureId] = cached;
        }

        return cached.Facts;
    }

    /// <summary>The pasture's facts; throws when it is not registered (a device's owner always is).</summary>
    public async ValueTask<PastureFacts> RequireAsync(string pastureId, CancellationToken cancellationToken) =>
        await FindAsync(pastureId, cancellationToken) ?? throw new InvalidOperationException($"pasture '{pastureId}' is not in the registry");

    /// <summary>True when the herd is registered on this pasture (herds never move: <c>RegistryStore</c> refuses it).</summary>
    public async ValueTask<bool> IsHerdOnPastureAsync(string herdId, string pastureId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (!_herds.TryGetValue(herdId, out var cached) || cached.Expires <= now)
        {
            var herd = await registry.FindHerdAsync(herdId, cancellationToken);
            cached = (herd?.PastureId, now + Lifetime);
            _herds[herdId] = cached;
        }

        return cached.PastureId == pastureId;
    }
}
