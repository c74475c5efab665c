using System.Collections.Concurrent;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Audit;

/// <summary>Pastures' and plants' species (and county), cached for a minute: quality and health records need them per message.</summary>
public sealed class OwnerDirectory(RegistryStore registry, TimeProvider clock)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<(string, string), (string? Species, string? CountyId, DateTimeOffset Expires)> _cache = new();

    /// <summary>The species of a registered pasture or plant (<c>cow</c> or <c>goat</c>), null when it is not registered.</summary>
    public async ValueTask<string?> SpeciesOfAsync(string ownerKind, string ownerId, CancellationToken cancellationToken) =>
        (await FindAsync(ownerKind, ownerId, cancellationToken)).Species;

    /// <summary>The species and county of a registered pasture or plant; both null when it is not registered.</summary>
    public async ValueTask<(string? Species, string? CountyId)> FindAsync(string ownerKind, string ownerId, CancellationToken cancellationToken)
    {
        if (_cache.TryGetValue((ownerKind, ownerId), out var cached) && cached.Expires > clock.GetUtcNow())
        {
            return (cached.Species, cached.CountyId);
        }

        (string? Species, string? CountyId) found = ownerKind switch
        {
            "pasture" => await registry.FindPastureAsync(ownerId, cancellationToken) is { } p ? (p.Species, p.CountyId) : (null, null),
            "plant" => await registry.FindPlantAsync(ownerId, cancellationToken) is { } pl ? (pl.Species, pl.CountyId) : (null, null),
            _ => (null, null),
        };
        _cache[(ownerKind, ownerId)] = (found.Species, found.CountyId, clock.GetUtcNow() + Lifetime);
        return found;
    }
}
