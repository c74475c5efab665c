using System.Diagnostics;
using System.Globalization;
using System.Text;
using HohhotCluster.Telemetry.Client;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.LoadBench;

/// <summary>
/// The cluster's benchmark (<c>bench/run.sh --cluster</c>; issue 15): the same recorded load, the same publisher and
/// gateways, into a one-host and then a three-host cluster started by <c>deploy/cluster.sh</c> behind HAProxy (mqtts
/// passed through to the hosts), each on a PostgreSQL and InfluxDB database of its own on the same servers, one after
/// the other in one run. Per run: durable readings/s (first publish to last PUBACK), each host's CPU and RSS, the
/// stores' CPU and PostgreSQL's commits and WAL. Then, on the three hosts, a second recording (its own day) published
/// while one host is SIGKILLed mid-stream: the failover time as each gateway that was connected to it saw it, from the
/// kill to its first acknowledged reading through a survivor. Every run is checked: rollups = the recording, one
/// InfluxDB point per reading; the figures are never asserted.
/// </summary>
internal sealed class ClusterBenchRun(BenchOptions o)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly string _work = o.Get("work");
    private readonly string _dataDir = o.Get("data-dir");
    private readonly string _repo = o.Get("repo");
    private readonly string _influxUrl = o.Get("influx-url");
    private readonly int _portBase = o.GetInt("port-base", 16600);
    private readonly int _inflight = o.GetInt("inflight", 8);
    private readonly bool _smoke = o.Flag("smoke");
    private readonly List<string[]> _rows = [];
    private readonly List<string> _notes = [];
    private Dictionary<string, string> _passwords = [];
    private StreamWriter _log = StreamWriter.Null;

    private int InfluxPid => ProcessStats.ReadPidFile(Path.Combine(_dataDir, "run", "influxd.pid")) ?? throw new InvalidOperationException("influxd is not running");
    private int PostmasterPid => ProcessStats.ReadPidFile(Path.Combine(_dataDir, "pg", "postmaster.pid")) ?? throw new InvalidOperationException("postgres is not running");

    private sealed record ClusterRun(int Hosts, PublishResult Result, double[] HostCpu, double PostgresCpu, double InfluxCpu, double PublisherCpu,
        (double RssMiB, double PeakMiB)[] HostMemory, PostgresStats.Sample Postgres, bool Complete, string Check)
    {
        public double ReadingsPerSecond => Result.Readings / Result.PublishSeconds;
    }

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_work);
        _log = new StreamWriter(Path.Combine(_work, "cluster-bench.log"), append: false) { AutoFlush = true };
        var loadAtStart = ProcessStats.LoadAverage();
        Log($"load average at start: {loadAtStart}; cores: {Environment.ProcessorCount}");
        _passwords = FleetPublisher.ReadCredentials(o.Get("credentials"));
        var messages = Sample(RecordedRun.Load(o.Get("city-file")), o.GetInt("messages", 0));
        var failover = Sample(RecordedRun.Load(o.Get("failover-file")), o.GetInt("failover-messages", 0));
        var plans = BatchPlan.Build(messages, o.GetInt("batch", 200));
        var failoverPlans = BatchPlan.Build(failover, o.GetInt("batch", 200));
        Log(F($"load: {messages.Count:N0} readings by {plans.Count} gateways in {plans.Sum(p => p.Publications.Length):N0} publishes; failover load: {failover.Count:N0} readings by {failoverPlans.Count} gateways"));

        var (one, _) = await RunClusterAsync(1, messages, plans, null, cancellationToken);
        var (three, moved) = await RunClusterAsync(3, messages, plans, (failover, failoverPlans), cancellationToken);
        var loadAtEnd = ProcessStats.LoadAverage();

        AddRow("durable ingest through HAProxy (mqtts passed through), first publish to last PUBACK",
            F($"3 hosts: {three.ReadingsPerSecond:N0} readings/s ({three.Result.Readings:N0} in {three.Result.PublishSeconds:F1} s)"),
            F($"1 host: {one.ReadingsPerSecond:N0} readings/s ({one.Result.Readings:N0} in {one.Result.PublishSeconds:F1} s)"), Pct(three.ReadingsPerSecond / one.ReadingsPerSecond));
        foreach (var run in new[] { one, three })
        {
            var wall = run.Result.PublishSeconds;
            var hosts = string.Join("; ", run.HostCpu.Select((c, i) => F($"host {i + 1} {c:F1} s = {c / wall:P0} of a core, {c / run.Result.Readings * 1e6:F0} us/reading, RSS {run.HostMemory[i].RssMiB:N0} MiB (peak {run.HostMemory[i].PeakMiB:N0})")));
            AddRow(F($"{run.Hosts} host{(run.Hosts > 1 ? "s" : "")}: per-host CPU and memory at {run.ReadingsPerSecond:N0} readings/s"), hosts,
                F($"all hosts {run.HostCpu.Sum() / run.Result.Readings * 1e6:F0} us/reading"), "");
            AddRow(F($"{run.Hosts} host{(run.Hosts > 1 ? "s" : "")}: stores"),
                F($"PostgreSQL {run.PostgresCpu:F1} s CPU ({run.PostgresCpu / run.Result.Readings * 1e6:F0} us/reading), {run.Postgres.Commits / wall:N0} commits/s, {run.Postgres.WalBytes / 1e6 / wall:N1} MB WAL/s ({run.Postgres.WalBytes / (double)run.Result.Readings:N0} B/reading); influxd {run.InfluxCpu:F1} s ({run.InfluxCpu / run.Result.Readings * 1e6:F0} us/reading)"),
                F($"publisher {run.PublisherCpu:F1} s; {run.Result.ConnectSeconds:F1} s of logins before the first publish"), "");
        }

        AddRow("3 hosts: host CPU per reading against 1 host", F($"{three.HostCpu.Sum() / three.Result.Readings * 1e6:F0} us"), F($"{one.HostCpu.Sum() / one.Result.Readings * 1e6:F0} us"),
            Pct(three.HostCpu.Sum() / three.Result.Readings / (one.HostCpu.Sum() / one.Result.Readings)));
        if (moved is { } f)
        {
            var times = f.Watch.Moved.Select(m => m.Seconds).Where(double.IsFinite).Order().ToList();
            var text = times.Count == 0 ? "no gateway lost its connection (none was publishing through the killed host)"
                : F($"{f.Watch.Moved.Count} gateways moved; kill -> first PUBACK through a survivor: median {times[times.Count / 2]:F1} s, max {times[^1]:F1} s, min {times[0]:F1} s{(times.Count < f.Watch.Moved.Count ? F($"; {f.Watch.Moved.Count - times.Count} never acknowledged") : "")}");
            AddRow(F($"failover: host 2 SIGKILLed at {f.KilledAtFraction:P0} of {failover.Count:N0} readings acknowledged"), text,
                F($"the whole load in {f.Result.Seconds:F1} s, {f.Result.Reconnects} reconnects, {f.Result.TransportFailures} publishes resent"), "");
            AddRow("failover: correctness after the kill", f.Check, "", "");
        }

        AddRow("correctness: every PUBACK success; rollups = recording; InfluxDB one point per reading",
            F($"1 host: {one.Check}; 3 hosts: {three.Check}"), F($"failures 1 host: {one.Result.Failures}; 3 hosts: {three.Result.Failures}"), "");
        Print(messages.Count, loadAtStart, loadAtEnd);
        var clean = one.Complete && three.Complete && one.Result.Clean && three.Result.Clean && (moved is null || (moved.Complete && moved.Result.Clean));
        if (!clean)
        {
            Console.Error.WriteLine("FAILED: a cluster run lost, refused or double-counted readings: see the table and " + Path.Combine(_work, "cluster-bench.log"));
            return 1;
        }

        return 0;
    }

    private sealed record FailoverResult(FailoverWatch Watch, PublishResult Result, double KilledAtFraction, bool Complete, string Check);

    private async Task<(ClusterRun Run, FailoverResult? Failover)> RunClusterAsync(int hosts, List<RecordedMessage> messages, List<GatewayPlan> plans,
        (List<RecordedMessage> Messages, List<GatewayPlan> Plans)? failover, CancellationToken cancellationToken)
    {
        var database = F($"bench_cluster{hosts}");
        var dir = Path.Combine(_work, F($"cluster-{hosts}"));
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }

        var env = new Dictionary<string, string>
        {
            ["HOHHOT_CLUSTER_PORT_BASE"] = _portBase.ToString(Inv),
            ["HOHHOT_CLUSTER_DIR"] = dir,
            ["HOHHOT_CLUSTER_DATABASE"] = database,
            ["HOHHOT_CLUSTER_ID"] = database,
            ["HOHHOT_PLATFORM_DLL"] = o.Get("host"),
            // As the single-host bench: edge rates far above the replay (the limiter runs, refuses nothing), no per-account limit.
            ["MqttEndpoint__GatewayReadingsPerSecond"] = "10000000",
            ["MqttEndpoint__GatewayBurst"] = "100000000",
            ["MqttEndpoint__DeviceReadingsPerSecond"] = "1000000",
            ["MqttEndpoint__DeviceBurst"] = "10000000",
            ["Identity__CallsPerSecond"] = "1000000",
        };
        Log($"{hosts} host(s): deploy/cluster.sh start --hosts {hosts} (database {database}, ports from {_portBase}); load {ProcessStats.LoadAverage()}");
        await ScriptAsync(env, "start", "--hosts", hosts.ToString(Inv));
        try
        {
            var ca = Path.Combine(dir, "certs", "ca.pem");
            var apiUrl = F($"https://127.0.0.1:{_portBase}");
            using var api = new PlatformConnection(apiUrl, new PlatformCredential.Password("operator", File.ReadAllText(Path.Combine(dir, "operator.password")).Trim()), ca);
            var throughput = new ThroughputService.ThroughputServiceClient(api.Channel);
            await RegisterAsync(api, apiUrl, ca, messages.Concat(failover?.Messages ?? []), cancellationToken);
            var pids = Enumerable.Range(1, hosts).Select(i => ProcessStats.ReadPidFile(Path.Combine(dir, F($"host-{i}.pid")))
                ?? throw new InvalidOperationException($"host {i} has no pid file")).ToArray();
            int postmaster = PostmasterPid, influxd = InfluxPid;
            var target = new MqttTarget(F($"{hosts}-host cluster (HAProxy)"), "127.0.0.1", _portBase + 1, CaFile: ca);

            using var pg = new PostgresStats(new Npgsql.NpgsqlConnectionStringBuilder(o.Get("pg-conn")) { Database = database }.ConnectionString);
            var pg0 = await pg.SampleAsync();
            var hostCpu0 = pids.Select(p => ProcessStats.CpuSeconds(p)).ToArray();
            double pgCpu0 = ProcessStats.TreeCpuSeconds(postmaster), influxCpu0 = ProcessStats.CpuSeconds(influxd), self0 = ProcessStats.CpuSeconds(Environment.ProcessId);
            var publisher = new FleetPublisher(target, _passwords, _inflight, null);
            Log(F($"{hosts} host(s): publishing {messages.Count:N0} readings; load {ProcessStats.LoadAverage()}"));
            var result = await WithProgressAsync(() => F($"acked {publisher.AckedReadings:N0}/{messages.Count:N0}, {publisher.Connected} connected"),
                () => publisher.PublishAsync(plans, connectAllFirst: true, cancellationToken));
            var hostCpu = pids.Select((p, i) => ProcessStats.CpuSeconds(p) - hostCpu0[i]).ToArray();
            var pgCpu = ProcessStats.TreeCpuSeconds(postmaster) - pgCpu0;
            var influxCpu = ProcessStats.CpuSeconds(influxd) - influxCpu0;
            var selfCpu = ProcessStats.CpuSeconds(Environment.ProcessId) - self0;
            var memory = pids.Select(p => ProcessStats.Memory(p)).ToArray();
            var pgDelta = (await pg.SampleAsync()) - pg0;
            var (complete, check) = await CheckAsync(throughput, database, messages, $"{hosts} host(s)");
            Log(F($"{hosts} host(s): {result.Readings:N0} readings in {result.PublishSeconds:F1} s = {result.Readings / result.PublishSeconds:N0} readings/s; host CPU {string.Join(", ", hostCpu.Select(c => c.ToString("F1", Inv)))} s; postgres {pgCpu:F1} s; influxd {influxCpu:F1} s; {pgDelta}; failures {result.Failures}; {check}; load {ProcessStats.LoadAverage()}"));
            var run = new ClusterRun(hosts, result, hostCpu, pgCpu, influxCpu, selfCpu, memory, pgDelta, complete && result.Readings == messages.Count, check);

            FailoverResult? moved = null;
            if (failover is { } load && hosts > 1)
            {
                moved = await FailoverAsync(target, throughput, database, load.Messages, load.Plans, pids[1], cancellationToken);
            }

            return (run, moved);
        }
        finally
        {
            await ScriptAsync(env, "stop", "--keep-servers");
        }
    }

    /// <summary>The failover load through the cluster; once <c>kill-at</c> (30 %) of it is acknowledged, the host with <paramref name="victimPid"/> is SIGKILLed.</summary>
    private async Task<FailoverResult> FailoverAsync(MqttTarget target, ThroughputService.ThroughputServiceClient throughput, string database,
        List<RecordedMessage> messages, List<GatewayPlan> plans, int victimPid, CancellationToken cancellationToken)
    {
        var watch = new FailoverWatch();
        var publisher = new FleetPublisher(target, _passwords, _inflight, null, watch);
        var killAt = o.GetInt("kill-at-percent", 30) / 100.0;
        double killedAtFraction = double.NaN;
        Log(F($"failover: {messages.Count:N0} readings; SIGKILL of host 2 (pid {victimPid}) at {killAt:P0} acknowledged"));
        using var stop = new CancellationTokenSource();
        var killer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                if (publisher.AckedReadings >= messages.Count * killAt)
                {
                    killedAtFraction = publisher.AckedReadings / (double)messages.Count;
                    watch.MarkKill();
                    using var victim = Process.GetProcessById(victimPid);
                    victim.Kill();
                    Log(F($"failover: SIGKILL sent to pid {victimPid} at {publisher.AckedReadings:N0} acknowledged"));
                    return;
                }

                await Task.Delay(5, CancellationToken.None);
            }
        }, CancellationToken.None);
        var result = await WithProgressAsync(() => F($"acked {publisher.AckedReadings:N0}/{messages.Count:N0}, {publisher.Connected} connected"),
            () => publisher.PublishAsync(plans, connectAllFirst: true, cancellationToken));
        await stop.CancelAsync();
        await killer;
        if (watch.KilledAt == 0)
        {
            _notes.Add("failover: the load was acknowledged before the kill point; nothing moved");
        }

        foreach (var (gateway, seconds) in watch.Moved.OrderBy(m => m.Seconds))
        {
            Log(F($"failover: {gateway} moved, first PUBACK {seconds:F2} s after the kill"));
        }

        var (complete, check) = await CheckAsync(throughput, database, messages, "failover");
        return new FailoverResult(watch, result, killedAtFraction, complete && result.Readings == messages.Count && watch.KilledAt != 0, check);
    }

    /// <summary>Right after the last PUBACK: the rollups equal the recording's counts and InfluxDB holds one point per reading (polled 20 s at most, to say how far off).</summary>
    private async Task<(bool Complete, string Text)> CheckAsync(ThroughputService.ThroughputServiceClient throughput, string database, List<RecordedMessage> messages, string name)
    {
        var expected = RecordedRun.ExpectedDays(messages);
        using var influx = new InfluxBench(_influxUrl);
        var from = DateTimeOffset.FromUnixTimeMilliseconds(messages.Min(m => Math.Min(m.EventUnixMs, m.PointTimeUnixMs)));
        var to = DateTimeOffset.FromUnixTimeMilliseconds(messages.Max(m => Math.Max(m.EventUnixMs, m.PointTimeUnixMs)) + 1);
        var watch = Stopwatch.StartNew();
        var looks = 0;
        while (true)
        {
            looks++;
            var totals = new StringBuilder();
            var rollups = true;
            foreach (var (day, e) in expected)
            {
                var d = await throughput.GetDailyThroughputAsync(new GetDailyThroughputRequest
                {
                    LocalDate = day.ToString("yyyy-MM-dd", Inv),
                    Scope = new Scope { Kind = ScopeKind.City },
                }, deadline: DateTime.UtcNow.AddSeconds(30));
                rollups &= d.MilkingCount == e.Milkings && d.CollectionCount == e.Collections && d.IntakeCount == e.Intakes;
                totals.Append(Inv, $"{day:MM-dd} {d.MilkingCount}/{e.Milkings} milkings {d.CollectionCount}/{e.Collections} collections {d.IntakeCount}/{e.Intakes} intakes; ");
            }

            var stored = await influx.CountAsync(database, from, to);
            var complete = rollups && stored == messages.Count;
            if (complete || watch.Elapsed > TimeSpan.FromSeconds(20))
            {
                var text = F($"rollups = recording {(rollups ? "yes" : "NO")}, InfluxDB {stored:N0}/{messages.Count:N0} ({(looks == 1 ? "first look" : F($"after {looks} looks"))})");
                Log($"{name}: {text}; {totals}");
                return (complete, text);
            }

            await Task.Delay(500);
        }
    }

    /// <summary>The fleet into the registry (hohhot-sim register through HAProxy), then every gateway its credential.</summary>
    private async Task RegisterAsync(PlatformConnection api, string apiUrl, string ca, IEnumerable<RecordedMessage> messages, CancellationToken cancellationToken)
    {
        Environment.SetEnvironmentVariable("HOHHOT_CA", ca); // hohhot-sim trusts the cluster's CA
        var watch = Stopwatch.StartNew();
        var code = await Simulator.RunAsync(o.Get("sim"), ["register", "--profile", o.Get("city-profile", "city-2023"), "--seed", o.Get("seed", "1"), "--api", apiUrl,
            "--api-token", await api.TokenAsync(cancellationToken)], Path.Combine(_work, "cluster-sim-register.log"));
        if (code != 0)
        {
            throw new InvalidOperationException($"hohhot-sim register failed ({code}); see cluster-sim-register.log");
        }

        var gateways = new Dictionary<string, OwnerKind>(StringComparer.Ordinal);
        foreach (var m in messages)
        {
            gateways.TryAdd(m.Gateway, m.Topic.StartsWith("hohhot/v1/plant/", StringComparison.Ordinal) ? OwnerKind.Plant : OwnerKind.Pasture);
        }

        var (issued, existing) = await PlatformHost.IssueGatewayCredentialsAsync(new RegistryService.RegistryServiceClient(api.Channel), gateways, _passwords, cancellationToken);
        Log(F($"registered: {issued} credentials issued by the bench, {existing} by hohhot-sim ({watch.Elapsed.TotalSeconds:F1} s)"));
    }

    private async Task ScriptAsync(Dictionary<string, string> env, params string[] args)
    {
        var start = new ProcessStartInfo("bash", [Path.Combine(_repo, "deploy", "cluster.sh"), .. args])
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = _repo,
        };
        foreach (var (key, value) in env)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not run deploy/cluster.sh");
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        _log.WriteLine(await output + await errors);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"deploy/cluster.sh {string.Join(' ', args)} failed ({process.ExitCode}): {await errors}");
        }
    }

    private async Task<PublishResult> WithProgressAsync(Func<string> state, Func<Task<PublishResult>> run)
    {
        using var stop = new CancellationTokenSource();
        var progress = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5));
            try
            {
                while (await timer.WaitForNextTickAsync(stop.Token))
                {
                    Log("    " + state() + "; load " + ProcessStats.LoadAverage());
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        try
        {
            return await run();
        }
        finally
        {
            await stop.CancelAsync();
            await progress;
        }
    }

    private static List<RecordedMessage> Sample(List<RecordedMessage> messages, int count) =>
        count > 0 && count < messages.Count ? RecordedRun.Stride(messages, count) : messages;

    private void AddRow(params string[] cells) => _rows.Add(cells);

    private void Print(long readings, string loadAtStart, string loadAtEnd)
    {
        var output = new StringBuilder();
        output.AppendLine(Inv, $"hohhot cluster benchmark ({(_smoke ? "SMOKE" : "full")}), {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average at start {loadAtStart}, at end {loadAtEnd}");
        output.AppendLine(Inv, $"load: {readings:N0} recorded readings, the same for 1 and 3 hosts; details in {Path.Combine(_work, "cluster-bench.log")}");
        output.AppendLine("| measurement | result | baseline (same run) | ratio |");
        output.AppendLine("|---|---|---|---|");
        foreach (var row in _rows)
        {
            output.AppendLine("| " + string.Join(" | ", row) + " |");
        }

        foreach (var note in _notes)
        {
            output.AppendLine("note: " + note);
        }

        Console.Out.Write(output.ToString());
        File.WriteAllText(Path.Combine(_work, "table-cluster.md"), output.ToString());
        Log(output.ToString());
    }

    private void Log(string line)
    {
        var text = $"[{DateTime.UtcNow:HH:mm:ss}] {line}";
        Console.Error.WriteLine(text);
        lock (_log)
        {
            _log.WriteLine(text);
        }
    }

    private static string Pct(double ratio) => ratio.ToString("P0", Inv);

    private static string F(FormattableString s) => s.ToString(Inv);
}
