using Grpc.Core;
using HohhotCluster.FirmwareSim.Fleet;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.FirmwareSim.Tests.Fleet;

/// <summary><c>register</c>'s gateway credentials: what the platform accepts, issued once, rotated or kept after.</summary>
public class GatewayCredentialTests
{
    [Fact]
    public void Derived_passwords_are_what_the_platform_takes_24_to_256_printable_ascii_characters()
    {
        var fleet = TestFleets.Generate("city-2023", seed: 3);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var gateway in fleet.Gateways)
        {
            var password = GatewayCredentials.Password(fleet.Seed, gateway.OwnerId);
            Assert.InRange(password.Length, 24, 256);
            Assert.All(password, c => Assert.InRange(c, '!', '~'));
            Assert.True(seen.Add(password), "two gateways share a password");
            Assert.Equal(password, GatewayCredentials.Password(fleet.Seed, gateway.OwnerId));
        }
        Assert.NotEqual(GatewayCredentials.Password(1, "P150121001"), GatewayCredentials.Password(2, "P150121001"));
    }

    [Fact]
    public async Task New_gateways_are_issued_and_existing_ones_rotated_to_the_sims_password_or_kept_when_current()
    {
        var fleet = TestFleets.Generate("demo", seed: 11);
        Assert.True(fleet.Gateways.Count >= 3);
        var registry = new FakeRegistry();
        var current = fleet.Gateways[0].OwnerId;
        var stale = fleet.Gateways[1].OwnerId;
        registry.Passwords[current] = GatewayCredentials.Password(fleet.Seed, current);
        registry.Passwords[stale] = "an-operator-chosen-secret-of-old";

        var counts = await GatewayCredentialIssuer.IssueAsync(new RegistryService.RegistryServiceClient(registry), fleet, CancellationToken.None);

        Assert.Equal(new GatewayCredentialCounts(Issued: fleet.Gateways.Count - 2, Rotated: 1, Kept: 1), counts);
        foreach (var gateway in fleet.Gateways)
        {
            Assert.Equal(GatewayCredentials.Password(fleet.Seed, gateway.OwnerId), registry.Passwords[gateway.OwnerId]);
        }
        Assert.All(registry.Issued, issue =>
        {
            var gateway = fleet.Gateways.Single(g => g.OwnerId == issue.GatewayId);
            Assert.Equal(gateway.OwnerId, issue.OwnerId);
            Assert.Equal(gateway.OwnerType switch { OwnerType.Pasture => OwnerKind.Pasture, OwnerType.Lab => OwnerKind.Lab, _ => OwnerKind.Plant }, issue.OwnerKind);
        });
        Assert.All(registry.Rotations, rotation => Assert.True(rotation.KeepIfCurrent));

        var again = await GatewayCredentialIssuer.IssueAsync(new RegistryService.RegistryServiceClient(registry), fleet, CancellationToken.None);
        Assert.Equal(new GatewayCredentialCounts(0, 0, fleet.Gateways.Count), again);
    }

    /// <summary>RegistryService's credential calls as the platform answers them: ALREADY_EXISTS on a second issue; keep_if_current.</summary>
    private sealed class FakeRegistry : CallInvoker
    {
        public Dictionary<string, string> Passwords { get; } = new(StringComparer.Ordinal);
        public List<IssueGatewayCredentialRequest> Issued { get; } = [];
        public List<RotateGatewayCredentialRequest> Rotations { get; } = [];

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request)
        {
            Task<GatewayCredentialIssued> reply = request switch
            {
                IssueGatewayCredentialRequest issue => Issue(issue),
                RotateGatewayCredentialRequest rotate => Rotate(rotate),
                _ => throw new NotSupportedException(method.FullName),
            };
            return new AsyncUnaryCall<TResponse>(As<TResponse>(reply), Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
        }

        private static async Task<TResponse> As<TResponse>(Task<GatewayCredentialIssued> reply) => (TResponse)(object)await reply;

        private Task<GatewayCredentialIssued> Issue(IssueGatewayCredentialRequest issue)
        {
            if (Passwords.ContainsKey(issue.GatewayId))
            {
                return Task.FromException<GatewayCredentialIssued>(new RpcException(new Status(StatusCode.AlreadyExists, $"gateway '{issue.GatewayId}' has a credential")));
            }
            Issued.Add(issue);
            Passwords[issue.GatewayId] = issue.Password;
            return Task.FromResult(new GatewayCredentialIssued { Changed = true });
        }

        private Task<GatewayCredentialIssued> Rotate(RotateGatewayCredentialRequest rotate)
        {
            Rotations.Add(rotate);
            var changed = !(rotate.KeepIfCurrent && Passwords[rotate.GatewayId] == rotate.Password);
            Passwords[rotate.GatewayId] = rotate.Password;
            return Task.FromResult(new GatewayCredentialIssued { Changed = changed });
        }

        public override TResponse BlockingUnaryCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
            throw new NotSupportedException();

        public override AsyncServerStreamingCall<TResponse> AsyncServerStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options, TRequest request) =>
            throw new NotSupportedException();

        public override AsyncClientStreamingCall<TRequest, TResponse> AsyncClientStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
            throw new NotSupportedException();

        public override AsyncDuplexStreamingCall<TRequest, TResponse> AsyncDuplexStreamingCall<TRequest, TResponse>(Method<TRequest, TResponse> method, string? host, CallOptions options) =>
            throw new NotSupportedException();
    }
}
