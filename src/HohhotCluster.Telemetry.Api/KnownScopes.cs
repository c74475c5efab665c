using HohhotCluster.Telemetry.Contracts;
using System.Collections.Concurrent;
using Grpc.Core;
using HohhotCluster.Telemetry.Identity;
using HohhotCluster.Telemetry.Protos.V1;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Api;

/// <summary>
/// Which counties, pastures and plants are registered and in which county each sits, for the query path: a
/// registered id is remembered for a minute (registrations are rare and a pasture's county does not change), an
/// unknown one is asked again every time, so a newly registered scope answers at once and a hot query does not cost
/// a PostgreSQL round trip. Also the one place that decides whether a caller may see a scope: a scope it may not
/// see is NOT_FOUND with the same words as one that is not registered, so nobody learns what exists elsewhere.
/// </summary>
public sealed class KnownScopes(RegistryStore registry, TimeProvider clock)
{
    private static readonly TimeSpan Lifetime = TimeSpan.FromMinutes(1);
    private readonly ConcurrentDictionary<(ScopeKind Kind, string Id), (string County, DateTimeOffset Expires)> _known = new();

    /// <summary>The county a registered county, pasture or plant is in (a county is in itself); null when not registered.</summary>
    public async ValueTask<string?> CountyOfAsync(ScopeKind kind, string id, CancellationToken cancellationToken)
    {
        if (_known.TryGetValue((kind, id), out var known) && known.Expires > clock.GetUtcNow())
        {
            return known.County;
        }

        var county = kind switch
        {
            ScopeKind.County => await registry.CountyExistsAsync(id, cancellationToken) ? id : null,
            ScopeKind.Pasture => (await registry.FindPastureAsync(id, cancellationToken))?.CountyId,
            ScopeKind.Plant => (await registry.FindPlantAsync(id, cancellationToken))?.CountyId,
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "Only counties, pastures and plants are registered."),
        };
        if (county is not null)
        {
            _known[(kind, id)] = (county, clock.GetUtcNow() + Lifetime);
        }

        return county;
    }

    /// <summary>Whether the caller may see this registered scope (false also when it is not registered).</summary>
    public async ValueTask<bool> SeesAsync(Caller caller, ScopeKind kind, string id, CancellationToken cancellationToken)
    {
        var county = await CountyOfAsync(kind, id, cancellationToken);
        return county is not null && kind switch
        {
            ScopeKind.County => caller.SeesCounty(id),
            ScopeKind.Pasture => caller.SeesPasture(id, county),
            ScopeKind.Plant => caller.SeesPlant(id, county),
            _ => false,
        };
    }

    /// <summary>Refuses a scope the caller may not see, exactly as one that is not registered.</summary>
    public async ValueTask RequireAsync(Caller caller, ScopeKind kind, string id, CancellationToken cancellationToken)
    {
        if (kind is ScopeKind.City or ScopeKind.Unspecified)
        {
            RequireCity(caller);
            return;
        }

        if (string.IsNullOrWhiteSpace(id))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"scope.id is required for {kind}."));
        }

        if (!await SeesAsync(caller, kind, id, cancellationToken))
        {
            throw NotFound(kind, id);
        }
    }

    public static void RequireCity(Caller caller)
    {
        if (!caller.SeesCity)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied,
                "The whole city is for the platform operator and city-wide regulators; ask for a county, pasture or plant of yours."));
        }
    }

    public static RpcException NotFound(ScopeKind kind, string id) => new(new Status(StatusCode.NotFound,
        $"No {kind.ToString().ToLowerInvariant()} '{TextLimits.Shorten(id, 64)}' is registered that you may see."));
}
