using System.Collections.Concurrent;
using System.Net;
using System.Text;

namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>
/// An Alertmanager of its own, started by <c>deploy/servers.sh start-one alertmanager</c> (its files under a data
/// folder of its own, a port of its own, stopped by PID), routing every alert to a webhook receiver in the test (an
/// HttpListener) with grouping shortened to a second, so a firing alert arrives within seconds.
/// </summary>
public sealed class AlertmanagerServer : IAsyncDisposable
{
    private readonly Dictionary<string, string> _instance;
    private readonly HttpListener _listener = new();
    private readonly Task _serving;

    private AlertmanagerServer(Dictionary<string, string> instance, int port, int hookPort)
    {
        _instance = instance;
        Port = port;
        _listener.Prefixes.Add($"http://127.0.0.1:{hookPort}/");
        _listener.Start();
        _serving = Task.Run(ServeAsync);
    }

    public int Port { get; }

    /// <summary>Every body the receiver got, in order (Alertmanager's webhook JSON).</summary>
    public ConcurrentQueue<string> Received { get; } = new();

    public static async Task<AlertmanagerServer> StartAsync()
    {
        var directory = Directory.CreateDirectory(Path.Combine(TestServers.DataDir, TestServers.UniqueName("am"))).FullName;
        var port = PlatformProcess.FreePort();
        var hookPort = PlatformProcess.FreePort();
        var instance = new Dictionary<string, string>
        {
            ["HOHHOT_DATA_DIR"] = directory,
            ["HOHHOT_ALERTMANAGER_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["HOHHOT_ALERTMANAGER_WEBHOOK_URL"] = $"http://127.0.0.1:{hookPort}/alerts",
            ["HOHHOT_ALERTMANAGER_GROUP_WAIT"] = "1s",
            ["HOHHOT_ALERTMANAGER_GROUP_INTERVAL"] = "1s",
        };
        var server = new AlertmanagerServer(instance, port, hookPort);
        await ChildProcess.RequireDeployScriptAsync("servers.sh", ["start-one", "alertmanager"], instance);
        return server;
    }

    private async Task ServeAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception exception) when (exception is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using (var reader = new StreamReader(context.Request.InputStream, Encoding.UTF8))
            {
                Received.Enqueue(await reader.ReadToEndAsync());
            }

            context.Response.StatusCode = 200;
            context.Response.Close();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await ChildProcess.RequireDeployScriptAsync("servers.sh", ["stop-one", "alertmanager"], _instance);
        _listener.Stop();
        _listener.Close();
        await _serving;
    }
}
