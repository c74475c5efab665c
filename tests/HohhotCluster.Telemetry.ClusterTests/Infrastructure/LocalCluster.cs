using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using HohhotCluster.Telemetry.Client;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

namespace HohhotCluster.Telemetry.ClusterTests.Infrastructure;

/// <summary>
/// A cluster of platform hosts behind HAProxy, started and stopped by <c>deploy/cluster.sh</c> as a user would, on the
/// test servers (deploy/servers.sh's instance) with a database of its own and ports that are free.
/// </summary>
public sealed class LocalCluster : IAsyncDisposable
{
    private readonly Dictionary<string, string> _environment;
    private readonly List<PlatformConnection> _connections = [];

    private LocalCluster(string name, int portBase, int hosts, IReadOnlyDictionary<string, string>? environment)
    {
        Name = name;
        PortBase = portBase;
        Hosts = hosts;
        Directory = Path.Combine(TestServers.DataDir, "cluster-" + name);
        _environment = new Dictionary<string, string>
        {
            ["HOHHOT_CLUSTER_PORT_BASE"] = portBase.ToString(CultureInfo.InvariantCulture),
            ["HOHHOT_CLUSTER_DIR"] = Directory,
            ["HOHHOT_CLUSTER_DATABASE"] = name,
            ["HOHHOT_CLUSTER_ID"] = name,
            ["HOHHOT_PLATFORM_DLL"] = Path.Combine(TestServers.RepoRoot, "src", "HohhotCluster.Telemetry.Host", "bin", TestServers.Configuration, "net10.0", "hohhot-platform.dll"),
        };
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            _environment[key] = value;
        }
    }

    public string Name { get; }
    public int PortBase { get; }
    public int Hosts { get; }
    public string Directory { get; }

    /// <summary>The PostgreSQL database (and InfluxDB database) the hosts share.</summary>
    public string Database => Name;

    public string PostgresConnection => new Npgsql.NpgsqlConnectionStringBuilder(TestServers.PostgresConnection) { Database = Name }.ConnectionString;

    /// <summary>The API through HAProxy (TLS passed through to a host).</summary>
    public string ApiUrl => $"https://127.0.0.1:{PortBase}";

    public string MqttUrl => $"mqtts://127.0.0.1:{PortBase + 1}";

    public string CaFile => Path.Combine(Directory, "certs", "ca.pem");

    public string OperatorPassword => File.ReadAllText(Path.Combine(Directory, "operator.password")).Trim();

    public int HostPort(int host, int offset) => PortBase + 10 * host + offset;

    public string HostApiUrl(int host) => $"https://127.0.0.1:{HostPort(host, 0)}";

    public int HostPid(int host) => int.Parse(File.ReadAllText(Path.Combine(Directory, $"host-{host}.pid")).Trim(), CultureInfo.InvariantCulture);

    public string HostLog(int host)
    {
        using var stream = new FileStream(Path.Combine(Directory, $"host-{host}.log"), FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        return new StreamReader(stream).ReadToEnd();
    }

    public string HostLogTail(int host, int lines = 60) => string.Join('\n', HostLog(host).Split('\n').TakeLast(lines));

    /// <summary>The operator through HAProxy, or straight to one host.</summary>
    public PlatformConnection Operator(int? host = null)
    {
        var connection = new PlatformConnection(host is { } h ? HostApiUrl(h) : ApiUrl, new PlatformCredential.Password("operator", OperatorPassword), CaFile);
        _connections.Add(connection);
        return connection;
    }

    /// <param name="environment">More of deploy/cluster.sh's environment (e.g. a host in a network namespace).</param>
    public static async Task<LocalCluster> StartAsync(int hosts = 3, IReadOnlyDictionary<string, string>? environment = null)
    {
        var cluster = new LocalCluster(TestServers.UniqueName("cl"), FreePortBase(hosts), hosts, environment);
        var (exitCode, output) = await cluster.ScriptAsync("start", "--hosts", hosts.ToString(CultureInfo.InvariantCulture));
        if (exitCode != 0)
        {
            var logs = string.Join("\n", Enumerable.Range(1, hosts).Select(i => $"--- host {i}\n" + SafeTail(cluster, i)));
            await cluster.ScriptAsync("stop", "--keep-servers");
            throw new InvalidOperationException($"deploy/cluster.sh start exited {exitCode}:\n{output}\n{logs}");
        }

        return cluster;
    }

    public Task<(int ExitCode, string Output)> ScriptAsync(params string[] args) =>
        RunAsync("bash", [Path.Combine(TestServers.RepoRoot, "deploy", "cluster.sh"), .. args], _environment, TimeSpan.FromMinutes(6));

    /// <summary>SIGKILL: the host gets no chance to drain, close its sessions or leave the membership table.</summary>
    public void Kill(int host) => Process.GetProcessById(HostPid(host)).Kill();

    /// <summary>Whether host <paramref name="host"/>'s process (by its PID file) is still running.</summary>
    public bool HostRunning(int host)
    {
        try
        {
            using var process = Process.GetProcessById(HostPid(host));
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>SIGTERM, and waits until the host has drained and exited.</summary>
    public async Task StopHostAsync(int host)
    {
        using var process = Process.GetProcessById(HostPid(host));
        var (exitCode, text) = await RunAsync("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)], new Dictionary<string, string>(), TimeSpan.FromSeconds(10));
        Assert.True(exitCode == 0, text);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await process.WaitForExitAsync(deadline.Token);
    }

    /// <summary>Starts whichever hosts are not running (deploy/cluster.sh start skips the running ones).</summary>
    public async Task StartMissingHostsAsync()
    {
        var (exitCode, text) = await ScriptAsync("start", "--hosts", Hosts.ToString(CultureInfo.InvariantCulture));
        Assert.True(exitCode == 0, "deploy/cluster.sh start failed:\n" + text);
    }

    /// <summary>hohhot-sim with the cluster's CA trusted.</summary>
    public Task<(int ExitCode, string Output)> SimulatorAsync(params string[] args) =>
        RunAsync("dotnet", [Path.Combine(TestServers.RepoRoot, "firmware-sim", "HohhotCluster.FirmwareSim", "bin", TestServers.Configuration, "net10.0", "hohhot-sim.dll"), .. args],
            new Dictionary<string, string> { ["HOHHOT_CA"] = CaFile }, TimeSpan.FromMinutes(6));

    public async ValueTask DisposeAsync()
    {
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }

        await ScriptAsync("stop", "--keep-servers");
    }

    private static string SafeTail(LocalCluster cluster, int host)
    {
        try
        {
            return cluster.HostLogTail(host, 30);
        }
        catch (IOException exception)
        {
            return exception.Message;
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string program, string[] args, IReadOnlyDictionary<string, string> environment, TimeSpan timeout)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(timeout);
        await process.WaitForExitAsync(deadline.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    /// <summary>
    /// A port block (HAProxy's three, each host's six: API, MQTT, silo, gateway, metrics, health listener) nobody
    /// listens on: <c>HOHHOT_CLUSTER_TEST_PORT_BASE</c> when set (an engineer's own block on a shared machine; it must
    /// be free), else a random free one.
    /// </summary>
    private static int FreePortBase(int hosts)
    {
        if (Environment.GetEnvironmentVariable("HOHHOT_CLUSTER_TEST_PORT_BASE") is { Length: > 0 } fixedBase)
        {
            var chosen = int.Parse(fixedBase, CultureInfo.InvariantCulture);
            return BlockOf(chosen, hosts).All(IsFree)
                ? chosen
                : throw new InvalidOperationException($"HOHHOT_CLUSTER_TEST_PORT_BASE={chosen}: a port of its block is in use.");
        }

        for (var attempt = 0; attempt < 200; attempt++)
        {
            var candidate = Random.Shared.Next(200, 640) * 100;
            if (BlockOf(candidate, hosts).All(IsFree))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException("No free block of ports for a cluster.");
    }

    private static IEnumerable<int> BlockOf(int portBase, int hosts) =>
        Enumerable.Range(0, 3).Concat(Enumerable.Range(1, hosts).SelectMany(h => Enumerable.Range(10 * h, 6))).Select(p => portBase + p);

    private static bool IsFree(int port)
    {
        try
        {
            using var listener = new TcpListener(IPAddress.Loopback, port);
            listener.Start();
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
