using System.Diagnostics;
using System.Globalization;
using Grpc.Health.V1;
using Grpc.Net.Client;
using HohhotCluster.Telemetry.Client;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.LoadBench;

internal sealed record HostSettings(string HostDll, int ApiPort, int SiloPort, int GatewayPort, int MqttPort, string PostgresConnection, string InfluxUrl,
    string InfluxDatabase, string LogPath, string PidFile);

/// <summary>The platform host (Release build) as a child process on the bench's own ports, like deploy/demo.sh starts it.</summary>
internal sealed class PlatformHost : IAsyncDisposable
{
    private readonly HostSettings _settings;
    private Process? _process;

    public PlatformHost(HostSettings settings)
    {
        _settings = settings;
        // The bench's own secrets beside its log: the token signing key (made by the host) and the first operator's password.
        var secrets = Path.GetDirectoryName(Path.GetFullPath(settings.LogPath))!;
        _keyFile = Path.Combine(secrets, "signing-key.pem");
        _passwordFile = Path.Combine(secrets, "operator.password");
        if (!File.Exists(_passwordFile))
        {
            File.WriteAllText(_passwordFile, Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)));
        }

        Operator = new PlatformConnection(ApiUrl, new PlatformCredential.Password("operator", File.ReadAllText(_passwordFile).Trim()));
        Channel = Operator.Channel;
        Throughput = new ThroughputService.ThroughputServiceClient(Channel);
        Registry = new RegistryService.RegistryServiceClient(Channel);
        Traceability = new TraceabilityService.TraceabilityServiceClient(Channel);
    }

    private readonly string _keyFile;
    private readonly string _passwordFile;

    /// <summary>The API as the platform operator (the bench's queries and its simulator calls).</summary>
    public PlatformConnection Operator { get; }

    public TraceabilityService.TraceabilityServiceClient Traceability { get; }

    public GrpcChannel Channel { get; }

    public ThroughputService.ThroughputServiceClient Throughput { get; }

    public RegistryService.RegistryServiceClient Registry { get; }

    /// <summary>The platform's own MQTT endpoint: plaintext, on loopback only (the benchmark turns TLS off, see BENCHMARKS.md).</summary>
    public MqttTarget Endpoint => new("platform", "127.0.0.1", _settings.MqttPort);

    public int Pid => _process?.Id ?? throw new InvalidOperationException("not started");

    public string ApiUrl => $"http://127.0.0.1:{_settings.ApiPort}";

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var inv = CultureInfo.InvariantCulture;
        var start = new ProcessStartInfo("dotnet", [_settings.HostDll])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var env = start.Environment;
        env["Postgres__ConnectionString"] = _settings.PostgresConnection;
        env["Influx__Url"] = _settings.InfluxUrl;
        env["Influx__Database"] = _settings.InfluxDatabase;
        // The endpoint without TLS (plaintext is allowed on loopback only, with AllowPlaintextOnLoopback below): the
        // baselines have none either, so the comparison is of what happens between receiving and the PUBACK.
        env["MqttEndpoint__Url"] = string.Create(inv, $"mqtt://127.0.0.1:{_settings.MqttPort}");
        // Edge rates far above the replay (a gateway replays its day at up to ~1,000 readings/s, a milk meter at a few
        // hundred): the limiter still runs on every publish, but refuses nothing.
        env["MqttEndpoint__GatewayReadingsPerSecond"] = "10000000";
        env["MqttEndpoint__GatewayBurst"] = "100000000";
        env["MqttEndpoint__DeviceReadingsPerSecond"] = "1000000";
        env["MqttEndpoint__DeviceBurst"] = "10000000";
        env["Platform__ApiUrl"] = ApiUrl;
        // No scrape endpoint: nothing scrapes the benchmark, and the default port may be a running platform's.
        env["Operations__MetricsUrl"] = "";
        env["Platform__SiloPort"] = _settings.SiloPort.ToString(inv);
        env["Platform__GatewayPort"] = _settings.GatewayPort.ToString(inv);
        env["Platform__ClusterId"] = "hohhot-bench";
        env["Platform__AllowPlaintextOnLoopback"] = "true";
        env["Identity__SigningKeyFile"] = _keyFile;
        env["Identity__BootstrapOperatorPasswordFile"] = _passwordFile;
        // The query benchmark's 16 callers share one account: no per-account limit in the way of what is measured.
        env["Identity__CallsPerSecond"] = "1000000";
        _process = Process.Start(start) ?? throw new InvalidOperationException("could not start the host");
        await File.WriteAllTextAsync(_settings.PidFile, _process.Id.ToString(inv) + "\n", cancellationToken);
        var log = new StreamWriter(_settings.LogPath, append: true) { AutoFlush = true };
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var anonymous = GrpcChannel.ForAddress(ApiUrl);
        var health = new Health.HealthClient(anonymous);
        var deadline = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"the host exited with {_process.ExitCode}; see {_settings.LogPath}");
            }

            try
            {
                var reply = await health.CheckAsync(new HealthCheckRequest(), deadline: DateTime.UtcNow.AddSeconds(2), cancellationToken: cancellationToken);
                if (reply.Status == HealthCheckResponse.Types.ServingStatus.Serving)
                {
                    return;
                }
            }
            catch (Grpc.Core.RpcException)
            {
            }

            if (deadline.Elapsed > TimeSpan.FromMinutes(2))
            {
                throw new TimeoutException($"the host did not become healthy in 2 minutes; see {_settings.LogPath}");
            }

            await Task.Delay(300, cancellationToken);
        }
    }

    public async Task<DailyThroughput> DayAsync(DateOnly day, ScopeKind kind = ScopeKind.City, string id = "") =>
        await Throughput.GetDailyThroughputAsync(new GetDailyThroughputRequest
        {
            LocalDate = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            Scope = new Scope { Kind = kind, Id = id },
        }, deadline: DateTime.UtcNow.AddSeconds(10));

    public async Task<bool> RollupsMatchAsync(IReadOnlyDictionary<DateOnly, DayExpectation> expected)
    {
        foreach (var (day, e) in expected)
        {
            var d = await DayAsync(day);
            if (d.MilkingCount != e.Milkings || d.CollectionCount != e.Collections || d.IntakeCount != e.Intakes)
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Gives each gateway without one its MQTT credential through the API, as the operator. Those that have one were
    /// issued by <c>hohhot-sim register</c> with the sim's password, the one the bench's credentials file holds (both are
    /// <c>GatewayCredentials.Password</c>); checking each again would cost a PBKDF2 verification per gateway, and a wrong
    /// one fails the run loudly at its CONNECT (0x86) anyway.
    /// </summary>
    public Task<(int Issued, int Existing)> IssueGatewayCredentialsAsync(
        IReadOnlyDictionary<string, OwnerKind> gateways, IReadOnlyDictionary<string, string> passwords, CancellationToken cancellationToken) =>
        IssueGatewayCredentialsAsync(Registry, gateways, passwords, cancellationToken);

    /// <summary>The same through any platform's registry service (the cluster bench's, through HAProxy).</summary>
    public static async Task<(int Issued, int Existing)> IssueGatewayCredentialsAsync(RegistryService.RegistryServiceClient registry,
        IReadOnlyDictionary<string, OwnerKind> gateways, IReadOnlyDictionary<string, string> passwords, CancellationToken cancellationToken)
    {
        var existing = new HashSet<string>(StringComparer.Ordinal);
        var page = new RegistryPageRequest { PageSize = 1000 };
        while (true)
        {
            var reply = await registry.ListGatewayCredentialsAsync(page, deadline: DateTime.UtcNow.AddSeconds(30), cancellationToken: cancellationToken);
            foreach (var c in reply.Credentials)
            {
                existing.Add(c.GatewayId);
            }

            if (reply.NextPageToken.Length == 0)
            {
                break;
            }

            page.PageToken = reply.NextPageToken;
        }

        var missing = gateways.Where(g => !existing.Contains(g.Key)).ToList();
        await Parallel.ForEachAsync(missing, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = cancellationToken }, async (gateway, ct) =>
            await registry.IssueGatewayCredentialAsync(new IssueGatewayCredentialRequest
            {
                GatewayId = gateway.Key,
                OwnerKind = gateway.Value,
                OwnerId = gateway.Key,
                Password = passwords.TryGetValue(gateway.Key, out var p) ? p : throw new InvalidOperationException($"no password for gateway {gateway.Key}"),
            }, deadline: DateTime.UtcNow.AddSeconds(60), cancellationToken: ct));
        return (missing.Count, gateways.Count - missing.Count);
    }

    public async Task StopAsync()
    {
        if (_process is null || _process.HasExited)
        {
            return;
        }

        // SIGTERM by PID: the host shuts down gracefully (ingestion first, then the writer and the silo).
        using (var term = Process.Start("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]))
        {
            await term.WaitForExitAsync();
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await _process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        File.Delete(_settings.PidFile);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _process?.Dispose();
        Operator.Dispose();
    }
}

/// <summary>p50/p99 of the daily throughput call under concurrent callers.</summary>
internal static class QueryLatency
{
    public static async Task<(double P50Ms, double P99Ms, long Calls, double CallsPerSecond)> MeasureAsync(
        PlatformHost host, DateOnly day, ScopeKind kind, IReadOnlyList<string> ids, int callers, TimeSpan duration) =>
        await MeasureAsync(ids, id => host.DayAsync(day, kind, id), callers, duration);

    /// <summary>
    /// <paramref name="callers"/> concurrent callers, each calling <paramref name="call"/> on the ids in turn (after one
    /// warm-up call per id) until <paramref name="duration"/> is over; percentiles over every call.
    /// </summary>
    public static async Task<(double P50Ms, double P99Ms, long Calls, double CallsPerSecond)> MeasureAsync(
        IReadOnlyList<string> ids, Func<string, Task> call, int callers, TimeSpan duration)
    {
        // Warm-up: activate the grains, open the HTTP/2 connection, fill the caches.
        foreach (var id in ids)
        {
            await call(id);
        }

        var samples = new List<double>[callers];
        var stopAt = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var tasks = new Task[callers];
        for (var c = 0; c < callers; c++)
        {
            var mine = samples[c] = new List<double>(100_000);
            var caller = c;
            tasks[c] = Task.Run(async () =>
            {
                var n = caller;
                while (Stopwatch.GetTimestamp() < stopAt)
                {
                    var id = ids[n++ % ids.Count];
                    var t0 = Stopwatch.GetTimestamp();
                    await call(id);
                    mine.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                }
            });
        }

        await Task.WhenAll(tasks);
        var all = new List<double>();
        foreach (var s in samples)
        {
            all.AddRange(s);
        }

        all.Sort();
        return (Percentile(all, 0.50), Percentile(all, 0.99), all.Count, all.Count / duration.TotalSeconds);
    }

    private static double Percentile(List<double> sorted, double p) =>
        sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];
}

/// <summary>hohhot-sim, run as a child process (so its CPU is counted apart).</summary>
internal static class Simulator
{
    public static Process Start(string simDll, IEnumerable<string> args, string logPath)
    {
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(simDll);
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("could not start hohhot-sim");
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        log.WriteLine("$ hohhot-sim " + string.Join(' ', start.ArgumentList.Skip(1)));
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    public static async Task<int> RunAsync(string simDll, IEnumerable<string> args, string logPath)
    {
        using var process = Start(simDll, args, logPath);
        await process.WaitForExitAsync();
        return process.ExitCode;
    }
}
