using Grpc.Net.Client;
using HohhotCluster.Telemetry.Client;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Dashboard;

/// <summary>Thrown when the signed-in user's token is missing or the API refused it (expired, disabled account).</summary>
public sealed class SessionExpiredException() : Exception("The sign-in has expired; log in again.");

/// <summary>
/// The API as the signed-in user, for one request or one interactive circuit: a <see cref="PlatformConnection"/>
/// carrying the token from the user's cookie ticket (never a service account; the dashboard has no database of its
/// own), trusting the platform's CA.
/// </summary>
public sealed class ApiSession(AuthenticationStateProvider authentication, IOptions<DashboardOptions> options) : IDisposable
{
    private PlatformConnection? _connection;

    public async Task<GrpcChannel> ChannelAsync()
    {
        if (_connection is null)
        {
            var state = await authentication.GetAuthenticationStateAsync();
            var token = state.User.Token();
            if (string.IsNullOrEmpty(token))
            {
                throw new SessionExpiredException();
            }

            _connection = new PlatformConnection(options.Value.ApiUrl, new PlatformCredential.Token(token), options.Value.ApiCaFile);
        }

        return _connection.Channel;
    }

    public void Dispose() => _connection?.Dispose();
}
