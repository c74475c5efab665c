namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>A site's own Mosquitto bridged to a platform under test, run by deploy/site-bridge.sh (stopped by its PID).</summary>
public sealed class SiteBroker : IAsyncDisposable
{
    private SiteBroker(string directory, int port)
    {
        Directory = directory;
        Port = port;
    }

    public string Directory { get; }

    public int Port { get; }

    public const string DeviceUser = "site-devices";

    public string DevicePassword => File.ReadAllText(Path.Combine(Directory, "secrets", "site.password")).Trim();

    /// <summary>Starts a site broker bridged to <paramref name="platform"/>'s endpoint with the gateway credential given.</summary>
    public static async Task<SiteBroker> StartAsync(PlatformProcess platform, string gatewayId, string gatewaySecret)
    {
        var directory = System.IO.Directory.CreateDirectory(Path.Combine(TestServers.DataDir, "sites", TestServers.UniqueName("site"))).FullName;
        var secretFile = Path.Combine(directory, "gateway.secret");
        await File.WriteAllTextAsync(secretFile, gatewaySecret);
        var site = new SiteBroker(directory, PlatformProcess.FreePort());
        await site.RunAsync("start", new Dictionary<string, string>
        {
            ["SITE_PORT"] = site.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["SITE_USER"] = DeviceUser,
            ["PLATFORM_MQTT"] = $"127.0.0.1:{platform.MqttPort}",
            ["GATEWAY_ID"] = gatewayId,
            ["GATEWAY_SECRET_FILE"] = secretFile,
            ["PLATFORM_CA"] = platform.TrustedCaFile ?? "",
        });
        return site;
    }

    public Task KillAsync() => RunAsync("kill");

    public Task StartAgainAsync() => RunAsync("start");

    public async ValueTask DisposeAsync() => await RunAsync("stop");

    private Task RunAsync(string verb, IReadOnlyDictionary<string, string>? environment = null) =>
        ChildProcess.RequireDeployScriptAsync("site-bridge.sh", [verb, Directory], environment);
}
