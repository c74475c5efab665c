using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;

namespace HohhotCluster.Telemetry.Client;

/// <summary>A token refused at the token endpoint, with the endpoint's words.</summary>
public sealed class LoginFailedException(string message) : Exception(message);

/// <summary>How a program proves who it is: a person's name and password, a service account's id and secret, or a token it already has.</summary>
public abstract record PlatformCredential
{
    public sealed record Password(string UserName, string Secret) : PlatformCredential;

    public sealed record ClientSecret(string ClientId, string Secret) : PlatformCredential;

    public sealed record Token(string AccessToken) : PlatformCredential;
}

/// <summary>
/// One connection to the platform's API: <c>https://</c> (trusting the platform's private CA when
/// <paramref name="caCertificateFile"/> names it, else the system's) or plaintext HTTP/2 to a loopback address. The
/// channel asks for a token at <c>/connect/token</c> and renews it a minute before it expires, so a long-running
/// program (a test, the simulator's verify, the benchmark) never sends an expired one.
/// </summary>
public sealed class PlatformConnection : IDisposable
{
    public const string TokenPath = "/connect/token";

    private readonly Uri _api;
    private readonly PlatformCredential _credential;
    private readonly HttpClient _http;
    private readonly SemaphoreSlim _renewing = new(1, 1);
    private string? _token;
    private DateTimeOffset _renewAt;

    public PlatformConnection(string api, PlatformCredential credential, string? caCertificateFile = null)
    {
        _api = new Uri(api);
        _credential = credential;
        var handler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5) };
        if (!string.IsNullOrEmpty(caCertificateFile))
        {
            var ca = X509CertificateLoader.LoadCertificateFromFile(caCertificateFile);
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
                errors == System.Net.Security.SslPolicyErrors.None || (certificate is not null && ChainsTo(certificate, ca));
        }

        _http = new HttpClient(handler, disposeHandler: true)
        {
            BaseAddress = _api,
            // Plaintext is HTTP/2 with prior knowledge; over TLS, ALPN picks HTTP/2.
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = _api.Scheme == Uri.UriSchemeHttp ? HttpVersionPolicy.RequestVersionExact : HttpVersionPolicy.RequestVersionOrLower,
        };
        if (credential is PlatformCredential.Token given)
        {
            _token = given.AccessToken;
            _renewAt = DateTimeOffset.MaxValue;
        }

        var callCredentials = CallCredentials.FromInterceptor(async (_, metadata) =>
            metadata.Add("authorization", "Bearer " + await TokenAsync(CancellationToken.None)));
        Channel = GrpcChannel.ForAddress(_api, new GrpcChannelOptions
        {
            HttpClient = _http,
            DisposeHttpClient = false,
            MaxReceiveMessageSize = 64 * 1024 * 1024,
            MaxSendMessageSize = 64 * 1024 * 1024,
            Credentials = ChannelCredentials.Create(_api.Scheme == Uri.UriSchemeHttps ? ChannelCredentials.SecureSsl : ChannelCredentials.Insecure, callCredentials),
            UnsafeUseInsecureChannelCallCredentials = _api.Scheme == Uri.UriSchemeHttp,
        });
    }

    /// <summary>The channel every client of this connection uses; each call carries the current token.</summary>
    public GrpcChannel Channel { get; }

    /// <summary>A channel to the same address that sends no token (the health service, and tests of refusals).</summary>
    public GrpcChannel AnonymousChannel() => GrpcChannel.ForAddress(_api, new GrpcChannelOptions { HttpClient = _http, DisposeHttpClient = false });

    /// <summary>The current token, fetched or renewed when due.</summary>
    public async Task<string> TokenAsync(CancellationToken cancellationToken)
    {
        if (_token is { } token && DateTimeOffset.UtcNow < _renewAt)
        {
            return token;
        }

        await _renewing.WaitAsync(cancellationToken);
        try
        {
            if (_token is null || DateTimeOffset.UtcNow >= _renewAt)
            {
                var (fresh, lifetime) = await RequestTokenAsync(_http, _credential, cancellationToken);
                _token = fresh;
                _renewAt = DateTimeOffset.UtcNow + (lifetime > TimeSpan.FromMinutes(2) ? lifetime - TimeSpan.FromMinutes(1) : lifetime / 2);
            }

            return _token;
        }
        finally
        {
            _renewing.Release();
        }
    }

    /// <summary>Asks the token endpoint for an access token (OAuth 2.0 password or client credentials grant).</summary>
    public static async Task<(string Token, TimeSpan Lifetime)> RequestTokenAsync(HttpClient http, PlatformCredential credential, CancellationToken cancellationToken)
    {
        var form = credential switch
        {
            PlatformCredential.Password p => new Dictionary<string, string> { ["grant_type"] = "password", ["username"] = p.UserName, ["password"] = p.Secret },
            PlatformCredential.ClientSecret c => new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["client_id"] = c.ClientId, ["client_secret"] = c.Secret },
            _ => throw new InvalidOperationException("A given token cannot be renewed; log in again."),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, TokenPath)
        {
            Content = new FormUrlEncodedContent(form),
            Version = http.DefaultRequestVersion,
            VersionPolicy = http.DefaultVersionPolicy,
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await http.SendAsync(request, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        JsonDocument json;
        try
        {
            json = JsonDocument.Parse(body.Length == 0 ? "{}" : body);
        }
        catch (JsonException)
        {
            throw new LoginFailedException($"Login refused: HTTP {(int)response.StatusCode} from {http.BaseAddress}{TokenPath.TrimStart('/')} is not a token endpoint's answer.");
        }

        using var _ = json;
        var root = json.RootElement;
        if (!response.IsSuccessStatusCode || !root.TryGetProperty("access_token", out var token))
        {
            var error = root.TryGetProperty("error_description", out var d) ? d.GetString()
                : root.TryGetProperty("error", out var e) ? e.GetString() : $"HTTP {(int)response.StatusCode}";
            throw new LoginFailedException($"Login refused: {error}");
        }

        var seconds = root.TryGetProperty("expires_in", out var expires) ? expires.GetInt32() : 300;
        return (token.GetString()!, TimeSpan.FromSeconds(seconds));
    }

    /// <summary>Whether the server's certificate was issued by the given CA (the platform's private CA).</summary>
    private static bool ChainsTo(X509Certificate certificate, X509Certificate2 ca)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        using var leaf = new X509Certificate2(certificate);
        return chain.Build(leaf);
    }

    /// <summary>
    /// The connection a command-line program makes from its options and environment: <c>HOHHOT_API</c>,
    /// <c>HOHHOT_CA</c>, and <c>HOHHOT_TOKEN</c> or <c>HOHHOT_USER</c> with <c>HOHHOT_PASSWORD</c> (or
    /// <c>HOHHOT_CLIENT_ID</c> with <c>HOHHOT_CLIENT_SECRET</c>).
    /// </summary>
    public static PlatformConnection FromEnvironment(string? api = null, string? token = null, string? ca = null)
    {
        api ??= Environment.GetEnvironmentVariable("HOHHOT_API") ?? "https://127.0.0.1:15080";
        ca ??= Environment.GetEnvironmentVariable("HOHHOT_CA");
        token ??= Environment.GetEnvironmentVariable("HOHHOT_TOKEN");
        PlatformCredential credential = !string.IsNullOrEmpty(token) ? new PlatformCredential.Token(token)
            : Environment.GetEnvironmentVariable("HOHHOT_CLIENT_ID") is { Length: > 0 } client
                ? new PlatformCredential.ClientSecret(client, Environment.GetEnvironmentVariable("HOHHOT_CLIENT_SECRET") ?? "")
            : Environment.GetEnvironmentVariable("HOHHOT_USER") is { Length: > 0 } user
                ? new PlatformCredential.Password(user, Environment.GetEnvironmentVariable("HOHHOT_PASSWORD") ?? "")
            : new PlatformCredential.Token("");
        return new PlatformConnection(api, credential, ca);
    }

    public void Dispose()
    {
        Channel.Dispose();
        _http.Dispose();
        _renewing.Dispose();
    }
}
