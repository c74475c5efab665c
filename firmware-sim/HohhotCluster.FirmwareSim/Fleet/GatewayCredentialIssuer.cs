using Grpc.Core;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.FirmwareSim.Fleet;

/// <summary>What <see cref="GatewayCredentialIssuer"/> did: credentials issued new, rotated to the sim's password, or already holding it.</summary>
internal sealed record GatewayCredentialCounts(int Issued, int Rotated, int Kept);

/// <summary>
/// Gives every gateway of the fleet its credential in the platform's registry (gateway id = owner id, password =
/// <see cref="GatewayCredentials.Password"/>): issued when new; when it exists (ALREADY_EXISTS), rotated to the sim's
/// password, or kept as it is when it already is that password, so <c>register</c> can run again and again.
/// </summary>
internal static class GatewayCredentialIssuer
{
    public static async Task<GatewayCredentialCounts> IssueAsync(RegistryService.RegistryServiceClient registry, FleetModel fleet, CancellationToken cancellationToken)
    {
        int issued = 0, rotated = 0, kept = 0;
        foreach (var gateway in fleet.Gateways)
        {
            var password = GatewayCredentials.Password(fleet.Seed, gateway.OwnerId);
            try
            {
                await registry.IssueGatewayCredentialAsync(new IssueGatewayCredentialRequest
                {
                    GatewayId = gateway.OwnerId,
                    OwnerKind = RegistryDocumentBuilder.OwnerKindOf(gateway),
                    OwnerId = gateway.OwnerId,
                    Password = password,
                }, cancellationToken: cancellationToken).ConfigureAwait(false);
                issued++;
            }
            catch (RpcException exception) when (exception.StatusCode == StatusCode.AlreadyExists)
            {
                var reply = await registry.RotateGatewayCredentialAsync(new RotateGatewayCredentialRequest
                {
                    GatewayId = gateway.OwnerId,
                    Password = password,
                    KeepIfCurrent = true,
                }, cancellationToken: cancellationToken).ConfigureAwait(false);
                if (reply.Changed)
                {
                    rotated++;
                }
                else
                {
                    kept++;
                }
            }
        }
        return new GatewayCredentialCounts(issued, rotated, kept);
    }
}
