using Grpc.Core;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Protos.V1;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Api;

/// <summary>
/// A request that names a pasture or one of its herds (never both): the pasture the caller must see, and the herd if
/// one was named. A herd the caller may not see is NOT_FOUND, as an unknown one.
/// </summary>
internal static class PastureOrHerd
{
    public static async Task<(string PastureId, string? HerdId)> ResolveAsync(string pastureId, string herdId, RegistryStore registry, KnownScopes scopes, ServerCallContext context)
    {
        if (herdId.Length > 0)
        {
            if (pastureId.Length > 0)
            {
                throw Invalid("Give pasture_id or herd_id, not both.");
            }

            var herd = await registry.FindHerdAsync(herdId, context.CancellationToken);
            if (herd is null || !await scopes.SeesAsync(context.Caller(), ScopeKind.Pasture, herd.PastureId, context.CancellationToken))
            {
                throw new RpcException(new Status(StatusCode.NotFound, $"No herd '{TextLimits.Shorten(herdId, 64)}' is registered that you may see."));
            }

            return (herd.PastureId, herd.Id);
        }

        if (pastureId.Length == 0)
        {
            throw Invalid("pasture_id or herd_id is required.");
        }

        await scopes.RequireAsync(context.Caller(), ScopeKind.Pasture, pastureId, context.CancellationToken);
        return (pastureId, null);
    }

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
