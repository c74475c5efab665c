using System.Collections.Concurrent;
using HohhotCluster.Telemetry.Protos.V1;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Api;

/// <summary>
/// Which counties, pastures and plants are registered, for the query path: a registered id is remembered for a
/// minute (registrations are rare and never removed), an unknown one is asked again every time, so a newly
/// registered scope answers at once and a hot query does not cost a PostgreSQL round trip.
/// </summary>
public sealed class KnownScopes(RegistryStore registry, TimeProvider clock)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<(ScopeKind Kind, string Id), DateTimeOffset> _known = new();

    public async ValueTask<bool> ExistsAsync(ScopeKind kind, string id, CancellationToken cancellationToken)
    {
        if (_known.TryGetValue((kind, id), out var expires) && expires > clock.GetUtcNow())
        {
            return true;
        }

        var exists = kind switch
        {
            ScopeKind.County => await registry.CountyExistsAsync(id, cancellationToken),
            ScopeKind.Pasture => await registry.FindPastureAsync(id, cancellationToken) is not null,
            ScopeKind.Plant => await registry.FindPlantAsync(id, cancellationToken) is not null,
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Only counties, pastures and plants are registered."),
        };
        if (exists)
        {
            _known[(kind, id)] = clock.GetUtcNow() + Lifetime;
        }

        return exists;
    }
}
