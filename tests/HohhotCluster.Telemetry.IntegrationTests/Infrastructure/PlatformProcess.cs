using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Grpc.Health.V1;
using Grpc.Net.Client;
using HohhotCluster.Telemetry.Client;

namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>
/// The platform host (hohhot-platform) run as a real child process against the test servers, with its own
/// PostgreSQL database, InfluxDB database and ports (API and MQTT endpoint), so tests can kill and restart it.
/// </summary>
public sealed class PlatformProcess : IAsyncDisposable
{
    private readonly Dictionary<string, string> _environment;
    private readonly string _logPath;
    private Process? _process;
    private string? _hostDll;

    private PlatformProcess(string name, string postgres, string influxDatabase, string timeZone, string? influxUrl = null, string? operatorPassword = null)
    {
        Name = name;
        PostgresConnection = postgres;
        InfluxDatabase = influxDatabase;
        InfluxUrl = influxUrl ?? TestServers.InfluxUrl;
        ApiPort = FreePort();
        MqttPort = FreePort();
        MetricsPort = FreePort();
        _logPath = Path.Combine(Path.GetTempPath(), $"hohhot-{name}.log");
        // Secrets made for this platform alone, as the deploy scripts make them at first start: the token signing key
        // (created by the host itself) and the first operator's password.
        var secrets = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), "hohhot-secrets-" + name)).FullName;
        OperatorPassword = operatorPassword ?? Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        File.WriteAllText(Path.Combine(secrets, "operator.password"), OperatorPassword);
        _environment = new Dictionary<string, string>
        {
            ["TZ"] = timeZone,
            ["DOTNET_gcServer"] = "0",
            ["Platform__ApiUrl"] = $"http://127.0.0.1:{ApiPort}",
            ["Platform__AllowPlaintextOnLoopback"] = "true",
            ["Identity__SigningKeyFile"] = SigningKeyFile = Path.Combine(secrets, "signing-key.pem"),
            ["Identity__BootstrapOperatorPasswordFile"] = Path.Combine(secrets, "operator.password"),
            ["Platform__SiloPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Platform__GatewayPort"] = FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Platform__ClusterId"] = name,
            ["Postgres__ConnectionString"] = postgres,
            ["Influx__Url"] = InfluxUrl,
            ["Influx__Database"] = influxDatabase,
            ["MqttEndpoint__Url"] = $"mqtt://127.0.0.1:{MqttPort}",
            // Each host its own scrape endpoint: tests run two at once, and the default port is the operator's.
            ["Operations__MetricsUrl"] = $"http://127.0.0.1:{MetricsPort}",
            // Each host its own report folder (docs/reports.md), beside its secrets.
            ["Reports__Folder"] = ReportFolder = Path.Combine(Path.GetTempPath(), "hohhot-reports-" + name),
        };
    }

    public string Name { get; }
    public string PostgresConnection { get; }
    public string InfluxDatabase { get; }

    /// <summary>The InfluxDB the host writes to: the test servers', unless <see cref="StartAsync"/> was given other stores.</summary>
    public string InfluxUrl { get; }
    public int ApiPort { get; }

    /// <summary>The Prometheus scrape endpoint (<c>http://127.0.0.1:{MetricsPort}/metrics</c>).</summary>
    public int MetricsPort { get; }

    /// <summary>The platform's own MQTT endpoint (plaintext on loopback, or TLS with <see cref="TlsDirectory"/>'s certificate).</summary>
    public int MqttPort { get; }

    /// <summary>The CA file a client must trust for TLS, or null when the platform serves plaintext.</summary>
    public string? TrustedCaFile => CaFile;
    /// <summary>http://127.0.0.1:port (plaintext on loopback), or https:// with <see cref="TlsDirectory"/>'s certificate.</summary>
    public string ApiUrl => _environment["Platform__ApiUrl"];

    /// <summary>Where this host writes its reports (Reports:Folder).</summary>
    public string ReportFolder { get; }

    /// <summary>The folder of deploy/certs.sh's CA and server certificate when the API serves TLS, else null.</summary>
    public string? TlsDirectory { get; private set; }

    private string? CaFile => TlsDirectory is null ? null : Path.Combine(TlsDirectory, "ca.pem");

    /// <summary>The PEM file of the key the host signs its tokens with (created by the host at first start).</summary>
    public string SigningKeyFile { get; }

    /// <summary>The first platform operator's password (account <c>operator</c>, made at first start).</summary>
    public string OperatorPassword { get; }

    /// <summary>The API as the platform operator: what most tests drive the platform with.</summary>
    public PlatformConnection Operator => _operator ??= ConnectAs(new PlatformCredential.Password("operator", OperatorPassword));

    public GrpcChannel Channel => Operator.Channel;

    /// <summary>A connection as another account (closed with the platform).</summary>
    public PlatformConnection ConnectAs(PlatformCredential credential)
    {
        var connection = new PlatformConnection(ApiUrl, credential, CaFile);
        _connections.Add(connection);
        return connection;
    }

    /// <summary>The operator's current token, for the command-line programs a test runs.</summary>
    public Task<string> OperatorTokenAsync() => Operator.TokenAsync(CancellationToken.None);

    private PlatformConnection? _operator;
    private readonly List<PlatformConnection> _connections = [];
    public InfluxQuery Influx => new(InfluxDatabase, InfluxUrl);
    public int? ProcessId => _process is { HasExited: false } p ? p.Id : null;


    /// <summary>
    /// Creates fresh databases and starts a host in the given time zone, with optional configuration overrides
    /// (<c>Section__Key</c> environment variables); returns once it answers health checks. Given <paramref name="stores"/>,
    /// the host uses those (another server instance's) instead of fresh databases on the test servers. Given
    /// <paramref name="operatorPassword"/>, the operator's password is that one (a platform on restored or upgraded
    /// databases, whose operator exists already); given <paramref name="hostDll"/>, that build of the host runs
    /// (another release's).
    /// </summary>
    public static async Task<PlatformProcess> StartAsync(
        string timeZone = "Asia/Shanghai", IReadOnlyDictionary<string, string>? settings = null, string? tlsDirectory = null,
        PlatformStores? stores = null, string? operatorPassword = null, string? hostDll = null)
    {
        var name = TestServers.UniqueName("it");
        var (postgres, influx) = stores is null
            ? await TestServers.CreateDatabasesAsync(name)
            : (stores.PostgresConnection, stores.InfluxDatabase);
        var platform = new PlatformProcess(name, postgres, influx, timeZone, stores?.InfluxUrl, operatorPassword) { _hostDll = hostDll };
        if (tlsDirectory is not null)
        {
            platform.TlsDirectory = tlsDirectory;
            platform._environment["Platform__ApiUrl"] = $"https://127.0.0.1:{platform.ApiPort}";
            platform._environment["Platform__AllowPlaintextOnLoopback"] = "false";
            platform._environment["Platform__TlsCertificateFile"] = Path.Combine(tlsDirectory, "server.pem");
            platform._environment["Platform__TlsKeyFile"] = Path.Combine(tlsDirectory, "server.key");
            platform._environment["MqttEndpoint__Url"] = $"mqtts://127.0.0.1:{platform.MqttPort}";
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            platform._environment[key] = value;
        }

        await platform.StartAgainAsync();
        return platform;
    }

    /// <summary>(Re)starts the process on the same databases and ports.</summary>
    public async Task StartAgainAsync()
    {
        var hostDll = _hostDll ?? HostDll();
        if (!File.Exists(hostDll))
        {
            throw new FileNotFoundException("Build the solution first: the host was not found", hostDll);
        }

        var start = new ProcessStartInfo("dotnet", [hostDll])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var (key, value) in _environment)
        {
            start.Environment[key] = value;
        }

        var log = new StreamWriter(new FileStream(_logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.Exited += (_, _) => { lock (log) { log.WriteLine("=== process exited ==="); } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process = process;

        using var probe = new PlatformConnection(ApiUrl, new PlatformCredential.Token(""), CaFile);
        using var anonymous = probe.AnonymousChannel();
        var health = new Health.HealthClient(anonymous);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The platform exited with {process.ExitCode} during start-up:\n{LogTail()}");
            }

            try
            {
                var reply = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2));
                if (reply.Status == HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return;
                }
            }
            catch (Grpc.Core.RpcException)
            {
                // not listening yet
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The platform did not become healthy within 90 s:\n{LogTail()}");
            }

            await Task.Delay(250);
        }
    }

    /// <summary>SIGKILL: no shutdown code runs, exactly like a crash or an OOM kill.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    /// <summary>SIGTERM and wait: a graceful stop.</summary>
    public async Task StopAsync()
    {
        if (_process is { HasExited: false } process)
        {
            using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    public string LogTail(int lines = 60)
    {
        try
        {
            using var stream = new FileStream(_logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            var all = reader.ReadToEnd().Split('\n');
            return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    /// <summary>Stops the host and closes the connections opened to it.</summary>
    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
    }

    /// <summary>
    /// Starts a host with these settings that must refuse to start: returns its log once it has exited (it is never
    /// called: nothing connects to the address it was given).
    /// </summary>
    public static async Task<string> StartupRefusalAsync(IReadOnlyDictionary<string, string> settings)
    {
        var name = TestServers.UniqueName("it");
        var (postgres, influx) = await TestServers.CreateDatabasesAsync(name);
        var platform = new PlatformProcess(name, postgres, influx, "Asia/Shanghai");
        var start = new ProcessStartInfo("dotnet", [HostDll()]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var (key, value) in platform._environment.Concat(settings))
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        Assert.NotEqual(0, process.ExitCode);
        return await output + await errors;
    }

    private static string HostDll() =>
        Path.Combine(TestServers.RepoRoot, "src", "HohhotCluster.Telemetry.Host", "bin", TestServers.Configuration, "net10.0", "hohhot-platform.dll");

    private static readonly HashSet<int> HandedOut = [];

    /// <summary>
    /// A free loopback port, never one handed out before in this test run: each platform takes four (API, MQTT, silo,
    /// gateway) and binds them only when it starts, so two picks of the OS's free port could otherwise be the same
    /// (the silo and the API on one port made a host exit at start).
    /// </summary>
    public static int FreePort()
    {
        while (true)
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            var port = ((IPEndPoint)listener.LocalEndpoint).Port;
            lock (HandedOut)
            {
                if (HandedOut.Add(port))
                {
                    return port;
                }
            }
        }
    }
}
