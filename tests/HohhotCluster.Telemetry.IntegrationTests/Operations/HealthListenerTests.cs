using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

namespace HohhotCluster.Telemetry.IntegrationTests.Operations;

/// <summary>
/// The balancer's health listener (<c>Operations:HealthUrl</c>) on an address of this machine other than loopback, as
/// an HAProxy on another machine reaches it: every request is sent from that address (the client socket is bound to
/// it), so the API's and the scrape endpoint's loopback-only listeners cannot be what answers. It answers
/// <c>GET /health</c> with the status and nothing more; every other path 404, whatever the API would have answered on
/// its own port; the API and the scrape endpoint are not reachable on that address at all.
/// </summary>
public sealed class HealthListenerTests : IAsyncLifetime
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(30);
    private readonly IPAddress _address = OffLoopbackAddress();
    private readonly int _healthPort = PlatformProcess.FreePort();
    private PlatformProcess _platform = null!;

    public async Task InitializeAsync() =>
        _platform = await PlatformProcess.StartAsync(settings: new Dictionary<string, string>
        {
            ["Operations__HealthUrl"] = $"http://{_address}:{_healthPort}",
            // A host of a cluster: SIGTERM makes it answer 503 for the drain delay before it stops.
            ["Cluster__Membership"] = "postgres",
            ["Cluster__AdvertisedAddress"] = "127.0.0.1",
            ["Cluster__DrainDelay"] = "00:00:10",
        });

    public async Task DisposeAsync() => await _platform.DisposeAsync();

    /// <summary>
    /// This machine's first IPv4 address that is up and not loopback (the balancer's side of the network); on a machine
    /// with none, 127.0.0.2: still another address than the 127.0.0.1 the API and the scrape endpoint bind.
    /// </summary>
    private static IPAddress OffLoopbackAddress() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.OperationalStatus == OperationalStatus.Up && n.NetworkInterfaceType != NetworkInterfaceType.Loopback)
            .SelectMany(n => n.GetIPProperties().UnicastAddresses)
            .Select(a => a.Address)
            .FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork && !IPAddress.IsLoopback(a))
        ?? IPAddress.Parse("127.0.0.2");

    /// <summary>A client whose every connection leaves from <paramref name="source"/>, HTTP/1.1 or HTTP/2 with prior knowledge.</summary>
    private static HttpClient ClientFrom(IPAddress source, bool http2 = false)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            ConnectCallback = async (context, cancellationToken) =>
            {
                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                try
                {
                    socket.Bind(new IPEndPoint(source, 0));
                    await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler)
        {
            Timeout = TimeSpan.FromSeconds(15),
            DefaultRequestVersion = http2 ? HttpVersion.Version20 : HttpVersion.Version11,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };
    }

    private string Health(string path = "/health") => $"http://{_address}:{_healthPort}{path}";

    [Fact]
    public async Task A_request_from_another_address_gets_health_and_nothing_else()
    {
        using var remote = ClientFrom(_address);
        using (var reply = await remote.GetAsync(Health()))
        {
            Assert.Equal(HttpStatusCode.OK, reply.StatusCode);
            Assert.Equal("serving\n", await reply.Content.ReadAsStringAsync());
        }

        using (var head = await remote.SendAsync(new HttpRequestMessage(HttpMethod.Head, Health())))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        }

        using (var post = await remote.PostAsync(Health(), new StringContent("")))
        {
            Assert.Equal(HttpStatusCode.MethodNotAllowed, post.StatusCode);
        }

        // What the API and the scrape endpoint serve, asked on the health listener: not found, every one.
        const string throughput = "/v1/throughput?localDate=2026-12-01&scope.kind=SCOPE_KIND_CITY";
        foreach (var path in new[] { "/metrics", throughput, "/swagger/v1/swagger.json", "/connect/token", "/health/", "/grpc.health.v1.Health/Check" })
        {
            using var reply = await remote.GetAsync(Health(path));
            Assert.True(reply.StatusCode == HttpStatusCode.NotFound, $"{path} on the health listener answered {(int)reply.StatusCode}");
        }

        using (var token = await remote.PostAsync(Health("/connect/token"), new FormUrlEncodedContent([new("grant_type", "password")])))
        {
            Assert.Equal(HttpStatusCode.NotFound, token.StatusCode);
        }

        // The same REST path on the API's own port is served (refused without a token: 401, not 404), and the operator's
        // page on the scrape endpoint tells each component; the listener above told neither.
        using var local = ClientFrom(IPAddress.Loopback, http2: true);
        using (var api = await local.GetAsync($"http://127.0.0.1:{_platform.ApiPort}{throughput}"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, api.StatusCode);
        }

        using var loopback = ClientFrom(IPAddress.Loopback);
        var page = await loopback.GetStringAsync($"http://127.0.0.1:{_platform.MetricsPort}/health");
        Assert.Contains("\"components\"", page, StringComparison.Ordinal);

        // And neither the API nor the scrape endpoint listens on the other address.
        foreach (var port in new[] { _platform.ApiPort, _platform.MetricsPort, _platform.MqttPort })
        {
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            socket.Bind(new IPEndPoint(_address, 0));
            var refused = await Assert.ThrowsAsync<SocketException>(async () => await socket.ConnectAsync(new IPEndPoint(_address, port)));
            Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
        }
    }

    [Fact]
    public async Task It_answers_503_while_a_store_refuses_writes_and_200_again_after()
    {
        using var remote = ClientFrom(_address);
        await _platform.Influx.ExecuteAsync($"DROP DATABASE \"{_platform.InfluxDatabase}\"");
        try
        {
            var status = await Eventually.WaitAsync(async () => (await remote.GetAsync(Health())).StatusCode, s => s == HttpStatusCode.ServiceUnavailable, Within);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
            using var reply = await remote.GetAsync(Health());
            Assert.Equal("not serving\n", await reply.Content.ReadAsStringAsync());
        }
        finally
        {
            await _platform.Influx.ExecuteAsync($"CREATE DATABASE \"{_platform.InfluxDatabase}\"");
        }

        Assert.Equal(HttpStatusCode.OK,
            await Eventually.WaitAsync(async () => (await remote.GetAsync(Health())).StatusCode, s => s == HttpStatusCode.OK, Within));
    }

    [Fact]
    public async Task A_host_that_is_stopping_answers_503_before_it_stops_listening()
    {
        using var remote = ClientFrom(_address);
        using (var before = await remote.GetAsync(Health()))
        {
            Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        }

        var pid = _platform.ProcessId ?? throw new InvalidOperationException("the host is not running");
        using (var term = Process.Start("kill", ["-TERM", pid.ToString(CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }

        // Within the 10 s drain delay the listener still answers, with 503: the balancer takes the host out.
        var status = await Eventually.WaitAsync(async () => (await remote.GetAsync(Health())).StatusCode, s => s == HttpStatusCode.ServiceUnavailable,
            TimeSpan.FromSeconds(8));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
    }
}
