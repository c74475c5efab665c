using System.Collections.Concurrent;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Audit;

/// <summary>Pastures' and plants' species (and county), cached for a minute: quality and health records need them per message.</summary>
public sealed class OwnerDirectory(RegistryStore registry, TimeProvider clock)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<(string, string), (string? Species, DateTimeOffset Expires)> _cache = new();

    /// <summary>The species of a registered pasture or plant (<c>cow</c> or <c>goat</c>), null when it is not registered.</summary>
    public async ValueTask<string?> SpeciesOfAsync(string ownerKind, string ownerId, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue((ownerKind, ownerId), out var cached) && cached.Expires > clock.GetUtcNow())
        {
            return cached.Species;
        }

        var species = ownerKind == "pasture"
            ? (await registry.FindPastureAsync(ownerId, cancellationToken))?.Species
            : (await registry.FindPlantAsync(ownerId, cancellationToken))?.Species;
        _cache[(ownerKind, ownerId)] = (species, clock.GetUtcNow() + Lifetime);
        return species;
    }
}
