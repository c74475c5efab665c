using System.Diagnostics;
using System.Globalization;
using System.Text;
using Google.Protobuf;
using HohhotCluster.Telemetry.Protos.V1;
using HohhotCluster.Telemetry.TimeSeries;

namespace HohhotCluster.Telemetry.LoadBench;

/// <summary>
/// One benchmark run, every phase on the same servers, one after the other: the recorded day in batch form, the same
/// publisher and gateways, into (1a) a raw MQTTnet endpoint that only acknowledges, (1b) Mosquitto with the kill-safe
/// configuration, nobody subscribing; (2) raw InfluxDB and (3) the platform's InfluxDB writer; then the platform host:
/// the demo profile (memory), (1) the recorded day through its own endpoint, every PUBACK durable, query latency (4),
/// memory (5), the ledger check; and (6) a whole city's hour held while the host was down, drained after it restarts
/// (also against the raw endpoint). Prints one table.
/// </summary>
internal sealed class BenchRun(BenchOptions o)
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private readonly string _work = o.Get("work");
    private readonly string _dataDir = o.Get("data-dir");
    private readonly string _sim = o.Get("sim");
    private readonly bool _smoke = o.Flag("smoke");
    private readonly string _influxUrl = o.Get("influx-url");
    private readonly List<string[]> _rows = [];
    private readonly List<string> _notes = [];
    private readonly int _inflight = o.GetInt("inflight", 8);
    private readonly int _batchReadings = o.GetInt("batch", 200);
    private readonly int _batchBytes = o.GetInt("batch-bytes", BatchPlan.MaxPayloadBytes);
    private bool _sampled;
    private Dictionary<string, string> _passwords = [];
    private List<RecordedMessage> _messages = [];
    private StreamWriter _log = StreamWriter.Null;

    private int InfluxPid => ProcessStats.ReadPidFile(Path.Combine(_dataDir, "run", "influxd.pid")) ?? throw new InvalidOperationException("influxd is not running");
    private int PostmasterPid => ProcessStats.ReadPidFile(Path.Combine(_dataDir, "pg", "postmaster.pid")) ?? throw new InvalidOperationException("postgres is not running");
    private int MosquittoPid => ProcessStats.ReadPidFile(o.Get("mosquitto-pid-file", Path.Combine(_dataDir, "run", "mosquitto.pid")))
        ?? throw new InvalidOperationException("mosquitto is not running");

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(_work);
        _log = new StreamWriter(Path.Combine(_work, "loadbench.log"), append: false) { AutoFlush = true };
        Log($"load average at start: {ProcessStats.LoadAverage()}; cores: {Environment.ProcessorCount}");

        var messages = _messages = RecordedRun.Load(o.Get("city-file"));
        var recorded = messages.Count;
        if (o.GetInt("messages", 0) is > 0 and var limit && limit < messages.Count)
        {
            // A stride sample of the day (same mix), when the machine is too loaded for the whole day in reasonable time.
            messages = _messages = RecordedRun.Stride(messages, limit);
            _sampled = true;
        }

        _passwords = FleetPublisher.ReadCredentials(o.Get("credentials"));
        var expected = RecordedRun.ExpectedDays(messages);
        var registry = LoadRegistry(o.Get("city-registry"));
        Log($"recorded run: {messages.Count:N0} messages; days: {string.Join("; ", expected.Select(e => $"{e.Key:yyyy-MM-dd} {e.Value}"))}");
        var plans = Plan("day", messages);

        // The outage backlog: one busy hour of the whole city, recorded for the day before the recorded run (so its keys,
        // boot epochs and local day are its own and its totals can be checked exactly).
        var backlog = await BacklogAsync(messages, recorded, cancellationToken);
        var backlogPlans = Plan("backlog", backlog.Messages);

        // (1a) the raw MQTTnet endpoint: the day, then the backlog (every gateway connecting at once)
        var rawPort = o.GetInt("raw-port", 16582);
        Measured raw, rawBacklog;
        await using (var endpoint = await RawEndpointProcess.StartAsync(rawPort, o.Get("credentials"), Path.Combine(_work, "raw-endpoint.log"),
            Path.Combine(_work, "raw-endpoint.pid"), cancellationToken))
        {
            var target = new MqttTarget("raw MQTTnet endpoint", "127.0.0.1", rawPort);
            var pid = endpoint.Pid;
            raw = await MeasureAsync("(1a) raw endpoint, day", target, plans, connectAllFirst: true, null,
                [("raw endpoint", () => ProcessStats.CpuSeconds(pid)), ("publisher", SelfCpu)], null, cancellationToken);
            rawBacklog = await MeasureAsync("(6a) raw endpoint, backlog", target, backlogPlans, connectAllFirst: false, null,
                [("raw endpoint", () => ProcessStats.CpuSeconds(pid)), ("publisher", SelfCpu)], null, cancellationToken);
        }

        // (1b) Mosquitto as deploy/servers.sh configures it (persistence, autosave_interval 1, autosave_on_changes true):
        // raw, nobody subscribes, so its PUBACK is 0x10 (no matching subscribers)
        var mosquittoPid = MosquittoPid;
        var written0 = ProcessStats.Io(mosquittoPid).WriteBytes;
        var mosquitto = await MeasureAsync("(1b) Mosquitto (kill-safe), day",
            new MqttTarget("Mosquitto", "127.0.0.1", o.GetInt("mosquitto-port", 21893), NoSubscribersIsSuccess: true), plans, connectAllFirst: true, null,
            [("mosquitto", () => ProcessStats.CpuSeconds(mosquittoPid)), ("publisher", SelfCpu)], null, cancellationToken);
        var mosquittoWrittenMb = (ProcessStats.Io(mosquittoPid).WriteBytes - written0) / 1e6;

        // (2) raw InfluxDB and (3) the platform's writer, same points
        var influxOptions = new InfluxOptions { Url = _influxUrl };
        var pipelineBatch = o.GetInt("pipeline-batch", new HohhotCluster.Telemetry.Ingestion.IngestionOptions().MaxBatchMessages);
        var rawPoints = PointSet.Build(messages, registry.CountyOfOwner, influxOptions.MaxBatchPoints);
        var pipelinePoints = PointSet.Build(messages, registry.CountyOfOwner, pipelineBatch);
        var (rawRate, writerRate, rawCpuPerPoint) = await InfluxAsync(rawPoints, pipelinePoints, influxOptions, pipelineBatch);
        rawPoints = pipelinePoints = null!; // ~450 MB of line protocol, not needed again: let it go before the host runs

        // The platform: the demo profile (memory), the recorded day, queries, memory, the ledger check
        (double, double, long)? demoMemory = null;
        Measured platform;
        (PostgresStats.Sample Postgres, InfluxStats.Sample Influx) stores;
        Durability day;
        List<(string Scope, (double P50Ms, double P99Ms, long Calls, double CallsPerSecond) L)> latency;
        (double RssMiB, double PeakMiB) dayMemory;
        string verify;
        await using (var host = NewHost())
        {
            await host.StartAsync(cancellationToken);
            Log($"host started, pid {host.Pid}; its MQTT endpoint {host.Endpoint.Host}:{host.Endpoint.Port} (plaintext, loopback)");
            if (o.Get("demo-file", "") is { Length: > 0 } demoFile)
            {
                demoMemory = await DemoAsync(host, demoFile, cancellationToken);
            }

            await RegisterAsync(host, o.Get("city-profile", "city-2023"), messages.Concat(backlog.Messages), cancellationToken);
            var hostPid = host.Pid;
            using var pg = new PostgresStats(o.Get("pg-conn"));
            var pg0 = await pg.SampleAsync();
            var tables0 = await pg.TableWritesAsync();
            var influx0 = await InfluxStats.SampleAsync(_influxUrl);
            platform = await MeasureAsync("(1) platform, day", host.Endpoint, plans, connectAllFirst: true, hostPid, PlatformCpu(hostPid),
                Path.Combine(_work, "ledger-platform.jsonl"), cancellationToken);
            // Right after the last PUBACK: everything acknowledged must be durable and counted already.
            day = await DurabilityAsync(host, messages, expected, "day");
            var influxDelta = (await InfluxStats.SampleAsync(_influxUrl)) - influx0;
            var pgDelta = (await pg.SampleAsync()) - pg0;
            Log("(1) PostgreSQL rows written during the day, by table: " + PostgresStats.Busiest(tables0, await pg.TableWritesAsync(), 8));
            dayMemory = ProcessStats.Memory(host.Pid);
            Log(F($"(1) PostgreSQL during the day: {pgDelta}; InfluxDB: {influxDelta}"));
            stores = (pgDelta, influxDelta);
            latency = await LatencyAsync(host, expected.Keys.Last(), registry);
            verify = await VerifyAsync(host);
            await host.StopAsync();
        }

        // (6) the outage: the host was down (stopped above), every gateway held its hour; the host starts again (grains
        // cold, logins not yet verified) and every gateway connects at once and drains its backlog
        Measured drain;
        Durability drained;
        (double RssMiB, double PeakMiB) drainMemory;
        await using (var host = NewHost())
        {
            await host.StartAsync(cancellationToken);
            Log($"host restarted after the outage, pid {host.Pid}");
            drain = await MeasureAsync("(6) platform, backlog after the outage", host.Endpoint, backlogPlans, connectAllFirst: false, host.Pid, PlatformCpu(host.Pid),
                Path.Combine(_work, "ledger-backlog.jsonl"), cancellationToken);
            drained = await DurabilityAsync(host, backlog.Messages, RecordedRun.ExpectedDays(backlog.Messages), "backlog");
            drainMemory = ProcessStats.Memory(host.Pid);
            await host.StopAsync();
        }

        // the table
        var rawRateDay = raw.ReadingsPerSecond;
        AddRow("1", "durable ingest of the recorded day, batch form, every PUBACK durable (gateways -> host's endpoint -> PostgreSQL + InfluxDB -> PUBACK)",
            F($"{platform.ReadingsPerSecond:N0} readings/s ({platform.Result.Readings:N0} in {platform.Result.PublishSeconds:F1} s)"),
            F($"raw MQTTnet endpoint {rawRateDay:N0} readings/s"), Pct(platform.ReadingsPerSecond / rawRateDay), ">= 10,000 readings/s; >= 50 % of raw");
        AddRow("1", "raw MQTTnet endpoint (Kestrel + MQTTnet 5.2, acknowledges only)", F($"{rawRateDay:N0} readings/s ({raw.Result.PublishSeconds:F1} s)"), "", "100 %", "");
        AddRow("1", F($"Mosquitto, kill-safe config (persistence, autosave_interval 1, autosave_on_changes true), raw: PUBACK 0x10, nobody subscribes; wrote {mosquittoWrittenMb:N0} MB"),
            F($"{mosquitto.ReadingsPerSecond:N0} readings/s ({mosquitto.Result.PublishSeconds:F1} s)"), F($"raw MQTTnet endpoint {rawRateDay:N0} readings/s"),
            Pct(mosquitto.ReadingsPerSecond / rawRateDay), "");
        AddRow("1", F($"the whole recorded day ({messages.Count:N0} readings), first publish to last PUBACK"), F($"{platform.Result.PublishSeconds:F1} s"),
            F($"{platform.Result.ConnectSeconds:F1} s before it: {plans.Count} gateways' logins"), "", _smoke ? "(smoke: not a day)" : "< 90 s");
        AddRow("1", "CPU of the platform's day (s, share of the chain; wall x cores)", platform.Split, F($"publisher {platform.Cpu[^1]:F0} s"), "", "");
        AddRow("1", "CPU of the baselines' day (s)", raw.Split, mosquitto.Split, "", "");
        AddRow("1", "publishes of the day (the same for all three)", F($"{plans.Sum(p => p.Publications.Length):N0} publishes to {plans.Count} gateways"),
            F($"{messages.Count / (double)plans.Sum(p => p.Publications.Length):F0} readings and {plans.Sum(p => p.Publications.Sum(x => (long)x.Payload.Length)) / (double)plans.Sum(p => p.Publications.Length) / 1024:F1} KiB per publish"),
            "", F($"batch {_batchReadings}, <= {_batchBytes / 1024} KiB, {_inflight} in flight per gateway"));
        AddStoreRows(platform, stores.Postgres, stores.Influx);
        AddRow("6", F($"outage backlog: {backlog.Description}, {backlog.Messages.Count:N0} readings held by {backlogPlans.Count} gateways; host restarted, all connect at once; first CONNECT to last PUBACK"),
            F($"{drain.Result.Seconds:F1} s, {backlog.Messages.Count / drain.Result.Seconds:N0} readings/s (first PUBACK after {drain.Result.FirstAckSeconds:F1} s, all logged in after {drain.Result.ConnectSeconds:F1} s)"),
            F($"raw MQTTnet endpoint {rawBacklog.Result.Seconds:F1} s ({backlog.Messages.Count / rawBacklog.Result.Seconds:N0} readings/s)"),
            Pct(rawBacklog.Result.Seconds / drain.Result.Seconds), "");
        AddRow("6", "CPU of the drain (s)", drain.Split, F($"publisher {drain.Cpu[^1]:F0} s"), "", "");
        AddRow("2", "durable ingest vs raw InfluxDB (same points, 5,000-point requests, one at a time)",
            F($"{platform.ReadingsPerSecond:N0} points/s"), F($"bare loader {rawRate:N0} points/s ({rawCpuPerPoint * 1e6:F0} us influxd CPU/point)"),
            Pct(platform.ReadingsPerSecond / rawRate), "");
        AddRow("3", F($"InfluxLineWriter (4 producers x {pipelineBatch:N0}-point chunks) vs bare loader"),
            F($"{writerRate:N0} points/s"), F($"{rawRate:N0} points/s"), Pct(writerRate / rawRate), ">= 80 %");
        foreach (var (scope, l) in latency)
        {
            var trace = scope.StartsWith("trace", StringComparison.Ordinal);
            AddRow("4", F($"{(trace ? "" : "daily throughput call, ")}{scope}, {o.GetInt("callers", 16)} callers"), F($"p50 {l.P50Ms:F2} ms, p99 {l.P99Ms:F2} ms"),
                F($"{l.CallsPerSecond:N0} calls/s"), "", trace ? "" : "p99 < 5 ms");
        }

        var animalsCity = o.GetInt("city-animals", 0);
        var animalsDemo = o.GetInt("demo-animals", 0);
        if (demoMemory is { } dm)
        {
            AddRow("5", F($"host RSS after the demo profile ({animalsDemo:N0} animals, {dm.Item3:N0} readings)"),
                F($"{dm.Item1:N0} MiB (peak {dm.Item2:N0})"), "", "", "");
        }

        AddRow("5", F($"host RSS after the recorded day ({animalsCity:N0} animals, {platform.Result.Readings:N0} readings)"),
            F($"{dayMemory.RssMiB:N0} MiB (peak {dayMemory.PeakMiB:N0})"),
            animalsCity > 0 ? F($"{dayMemory.RssMiB / (animalsCity / 100_000.0):N0} MiB per 100,000 animals") : "", "", "peak < 1 GiB");
        AddRow("5", "host RSS after draining the backlog (restarted host)", F($"{drainMemory.RssMiB:N0} MiB (peak {drainMemory.PeakMiB:N0})"), "", "", "peak < 1 GiB");
        AddRow("-", "correctness: every PUBACK success; rollups = ledger; InfluxDB count; hohhot-sim verify (day)",
            F($"day: {day.Text}; verify {verify}; backlog: {drained.Text}"), F($"raw: {raw.Result.Failures}; Mosquitto: {mosquitto.Result.Failures}"), "", "exact");

        PrintTable(messages.Count);

        // The figures are for reading, never asserted; but a run that lost, refused or double-counted data is a failed run.
        var baselinesClean = raw.Result.Clean && rawBacklog.Result.Clean && mosquitto.Result.Clean;
        if (!day.Complete || !drained.Complete || verify != "passed" || !baselinesClean)
        {
            Console.Error.WriteLine("FAILED: the platform's totals, InfluxDB or hohhot-sim verify disagree with what was published, or a PUBACK was not success: see the last table row and "
                + Path.Combine(_work, "loadbench.log"));
            return 1;
        }

        return 0;
    }

    private PlatformHost NewHost() => new(new HostSettings(o.Get("host"), o.GetInt("api-port", 16580), o.GetInt("silo-port", 22111),
        o.GetInt("gateway-port", 32000), o.GetInt("endpoint-port", 16581), o.Get("pg-conn"), _influxUrl, "hohhot",
        Path.Combine(_work, "platform.log"), Path.Combine(_work, "platform.pid")));

    private static double SelfCpu() => ProcessStats.CpuSeconds(Environment.ProcessId);

    private (string Name, Func<double> Cpu)[] PlatformCpu(int hostPid)
    {
        int influxd = InfluxPid, postmaster = PostmasterPid;
        return [("host", () => ProcessStats.CpuSeconds(hostPid)), ("postgres", () => ProcessStats.TreeCpuSeconds(postmaster)),
            ("influxd", () => ProcessStats.CpuSeconds(influxd)), ("publisher", SelfCpu)];
    }

    private List<GatewayPlan> Plan(string name, IReadOnlyList<RecordedMessage> messages)
    {
        var plans = BatchPlan.Build(messages, _batchReadings, _batchBytes);
        var publishes = plans.Sum(p => p.Publications.Length);
        var batches = plans.Sum(p => p.Publications.Count(x => x.IsBatch));
        var busiest = plans.MaxBy(p => p.Readings)!;
        Log(F($"{name}: {messages.Count:N0} readings in {publishes:N0} publishes ({batches:N0} batches) by {plans.Count} gateways; busiest {busiest.GatewayId} {busiest.Readings:N0} readings in {busiest.Publications.Length} publishes"));
        return plans;
    }

    // ---------------------------------------------------------------------------------------------------------
    /// <summary>A replay into one endpoint and the CPU of the processes it charges (the last one is the publisher).</summary>
    private sealed record Measured(PublishResult Result, double[] Cpu, string Split, double Wall)
    {
        public double ReadingsPerSecond => Result.Readings / Result.PublishSeconds;
    }

    private async Task<Measured> MeasureAsync(string name, MqttTarget target, IReadOnlyList<GatewayPlan> plans, bool connectAllFirst, int? hostPid,
        (string Name, Func<double> Cpu)[] processes, string? ledger, CancellationToken cancellationToken)
    {
        var total = plans.Sum(p => p.Readings);
        Log(F($"{name}: {total:N0} readings to {target.Name} {target.Host}:{target.Port}, {plans.Count} gateways, {_inflight} publishes in flight each; load {ProcessStats.LoadAverage()}"));
        var publisher = new FleetPublisher(target, _passwords, _inflight, ledger);
        var cpu0 = processes.Select(p => p.Cpu()).ToArray();
        var progress = Progress(() => F($"acked {publisher.AckedReadings:N0}/{total:N0} readings, {publisher.Connected} connected")
            + (hostPid is { } pid ? F($", host RSS {ProcessStats.Memory(pid).RssMiB:N0} MiB") : ""), processes);
        PublishResult result;
        try
        {
            result = await publisher.PublishAsync(plans, connectAllFirst, cancellationToken);
        }
        finally
        {
            await progress.DisposeAsync();
        }

        var cpu = processes.Select((p, i) => p.Cpu() - cpu0[i]).ToArray();
        var chain = cpu.Take(cpu.Length - 1).Sum();
        var wall = connectAllFirst ? result.PublishSeconds : result.Seconds;
        var split = new StringBuilder();
        for (var i = 0; i < cpu.Length; i++)
        {
            split.Append(Inv, $"{processes[i].Name} {cpu[i]:F1} s{(i < cpu.Length - 1 && cpu.Length > 2 ? F($" ({cpu[i] / chain:P0})") : "")}, ");
        }

        split.Append(Inv, $"all {cpu.Sum():F0} of {wall * Environment.ProcessorCount:F0} s (wall x {Environment.ProcessorCount})");
        Log(F($"{name}: {result.Readings:N0} readings acknowledged in {result.PublishSeconds:F1} s from the first publish ({result.Readings / result.PublishSeconds:N0} readings/s), {result.Seconds:F1} s from the first CONNECT, all connected after {result.ConnectSeconds:F1} s, first PUBACK after {result.FirstAckSeconds:F1} s; {result.Publishes:N0} PUBACKs; failures: {result.Failures}; {result.TransportFailures} publishes resent, {result.Reconnects} reconnects"));
        Log($"    CPU: {split}; load {ProcessStats.LoadAverage()}");
        if (!result.Clean || result.Readings != total)
        {
            _notes.Add(F($"{name}: {result.Readings:N0} of {total:N0} readings acknowledged with success; failures: {result.Failures}"));
        }

        return new Measured(result, cpu, split.ToString(), wall);
    }

    // ---------------------------------------------------------------------------------------------------------
    private sealed record Durability(bool Complete, string Text);

    /// <summary>
    /// After the last PUBACK everything must already be durable: the rollups equal the recording's counts and InfluxDB
    /// holds one point per reading. Polled for a few seconds only to say how far off it is if it is not.
    /// </summary>
    private async Task<Durability> DurabilityAsync(PlatformHost host, List<RecordedMessage> messages, SortedDictionary<DateOnly, DayExpectation> expected, string name)
    {
        using var influx = new InfluxBench(_influxUrl);
        var from = DateTimeOffset.FromUnixTimeMilliseconds(messages.Min(m => Math.Min(m.EventUnixMs, m.PointTimeUnixMs)));
        var to = DateTimeOffset.FromUnixTimeMilliseconds(messages.Max(m => Math.Max(m.EventUnixMs, m.PointTimeUnixMs)) + 1);
        var watch = Stopwatch.StartNew();
        bool rollups;
        long stored;
        var looks = 0;
        while (true)
        {
            looks++;
            rollups = await host.RollupsMatchAsync(expected);
            stored = await influx.CountAsync("hohhot", from, to);
            if ((rollups && stored == messages.Count) || watch.Elapsed > TimeSpan.FromSeconds(20))
            {
                break;
            }

            Log(F($"{name}: look {looks}: rollups = ledger {rollups}, InfluxDB {stored:N0}/{messages.Count:N0}"));
            await Task.Delay(500);
        }

        var totals = new StringBuilder();
        foreach (var (d, e) in expected)
        {
            var t = await host.DayAsync(d);
            totals.Append(Inv, $"{d:MM-dd} {t.MilkingCount}/{e.Milkings} milkings {t.CollectionCount}/{e.Collections} collections {t.IntakeCount}/{e.Intakes} intakes; ");
        }

        var complete = rollups && stored == messages.Count;
        var text = F($"rollups = ledger {(rollups ? "yes" : "NO")}, InfluxDB {stored:N0}/{messages.Count:N0} ({(looks == 1 ? "at the first look after the last PUBACK" : F($"after {looks} looks, {watch.Elapsed.TotalSeconds:F1} s"))})");
        Log($"{name}: {text}; {totals}");
        if (!complete)
        {
            Console.Error.WriteLine($"{name}: THE PLATFORM'S TOTALS DISAGREE WITH WHAT WAS PUBLISHED: {text}; {totals}");
        }

        return new Durability(complete, text);
    }

    // ---------------------------------------------------------------------------------------------------------
    private sealed record Backlog(List<RecordedMessage> Messages, string Description);

    /// <summary>
    /// The busiest hour of the recorded run (China Standard Time), recorded by hohhot-sim for the same fleet and seed on
    /// the day before the run's first day: an hour of the whole city that the gateways held while the endpoint was away.
    /// Kept in the work directory like the day's recording.
    /// </summary>
    private async Task<Backlog> BacklogAsync(List<RecordedMessage> messages, int recorded, CancellationToken cancellationToken)
    {
        var byHour = new long[24];
        foreach (var m in messages)
        {
            byHour[DateTimeOffset.FromUnixTimeMilliseconds(m.EventUnixMs).ToOffset(TimeSpan.FromHours(8)).Hour]++;
        }

        var hour = o.GetInt("backlog-hour", Array.IndexOf(byHour, byHour.Max()));
        var day = messages.Min(m => m.LocalDay).AddDays(-1);
        var profile = o.Get("city-profile", "city-2023");
        var seed = o.Get("seed", "1");
        var file = Path.Combine(_work, F($"backlog-{profile}-{day:yyyy-MM-dd}T{hour:D2}-1h-s{seed}.bin"));
        if (!File.Exists(file))
        {
            Log(F($"recording the backlog: {profile}, {day:yyyy-MM-dd} {hour:D2}:00-{hour + 1:D2}:00 +08:00 (the run's busiest hour of the day)"));
            var code = await Simulator.RunAsync(_sim, ["record", "--profile", profile, "--seed", seed, "--start", F($"{day:yyyy-MM-dd}T{hour:D2}:00:00+08:00"),
                "--duration", "1h", "--out", file + ".tmp"], Path.Combine(_work, "record.log"));
            if (code != 0)
            {
                throw new InvalidOperationException($"hohhot-sim record of the backlog failed ({code}); see record.log");
            }

            File.Move(file + ".tmp", file, overwrite: true);
        }

        var backlog = RecordedRun.Load(file);
        if (_sampled)
        {
            backlog = RecordedRun.Stride(backlog, Math.Max(1, (int)(backlog.Count * (double)messages.Count / recorded)));
        }

        var description = F($"{profile} {day:yyyy-MM-dd} {hour:D2}:00-{hour + 1:D2}:00 (the busiest hour: {byHour[hour]:N0} of the recorded run's {messages.Count:N0} readings)");
        Log(F($"backlog: {backlog.Count:N0} readings, {description}"));
        return new Backlog(backlog, description);
    }

    // ---------------------------------------------------------------------------------------------------------
    private async Task<(double, double, long)> DemoAsync(PlatformHost host, string demoFile, CancellationToken cancellationToken)
    {
        var demo = RecordedRun.Load(demoFile);
        var expected = RecordedRun.ExpectedDays(demo);
        Log($"demo: {demo.Count:N0} readings; registering the demo fleet");
        await RegisterAsync(host, o.Get("demo-profile", "demo"), demo, cancellationToken);
        var measured = await MeasureAsync("demo day", host.Endpoint, Plan("demo", demo), connectAllFirst: true, host.Pid, PlatformCpu(host.Pid), null, cancellationToken);
        var check = await DurabilityAsync(host, demo, expected, "demo");
        if (!check.Complete || !measured.Result.Clean)
        {
            throw new InvalidOperationException($"demo: {check.Text}; failures {measured.Result.Failures}");
        }

        var (rss, peak) = ProcessStats.Memory(host.Pid);
        Log(F($"demo: host RSS {rss:N0} MiB (peak {peak:N0})"));
        return (rss, peak, demo.Count);
    }

    /// <summary>
    /// The fleet into the registry (hohhot-sim register), then every gateway of the recorded messages its MQTT credential
    /// through the API (hohhot-sim register issues the sim's own too; the bench makes sure of the ones it logs in with).
    /// </summary>
    private async Task RegisterAsync(PlatformHost host, string profile, IEnumerable<RecordedMessage> messages, CancellationToken cancellationToken)
    {
        var code = await Simulator.RunAsync(_sim, ["register", "--profile", profile, "--seed", o.Get("seed", "1"), "--api", host.ApiUrl,
            "--api-token", await host.Operator.TokenAsync(CancellationToken.None)],
            Path.Combine(_work, "sim-register.log"));
        if (code != 0)
        {
            throw new InvalidOperationException($"hohhot-sim register --profile {profile} failed ({code}); see sim-register.log");
        }

        var gateways = new Dictionary<string, OwnerKind>(StringComparer.Ordinal);
        foreach (var m in messages)
        {
            gateways.TryAdd(m.Gateway, m.Topic.StartsWith("hohhot/v1/plant/", StringComparison.Ordinal) ? OwnerKind.Plant : OwnerKind.Pasture);
        }

        var watch = Stopwatch.StartNew();
        var (issued, existing) = await host.IssueGatewayCredentialsAsync(gateways, _passwords, cancellationToken);
        Log(F($"{profile}: gateway credentials through the API: {issued} issued by the bench, {existing} issued by hohhot-sim register ({watch.Elapsed.TotalSeconds:F1} s)"));
    }

    private void AddStoreRows(Measured platform, PostgresStats.Sample pg, InfluxStats.Sample influx)
    {
        var seconds = platform.Result.PublishSeconds;
        AddRow("1", "PostgreSQL during the day (pg_stat_database, pg_stat_wal)",
            F($"{pg.Commits / seconds:N0} commits/s, {pg.WalSyncs / seconds:N0} WAL syncs/s, {pg.WalBytes / 1e6 / seconds:N1} MB WAL/s"),
            F($"{platform.Result.Readings / (double)Math.Max(1, pg.Commits):F1} readings per commit, {platform.Result.Readings / (double)Math.Max(1, pg.WalSyncs):F0} per WAL sync"), "", "");
        if (influx.WriteRequests > 0)
        {
            AddRow("1", "InfluxDB during the day (/debug/vars httpd)", F($"{influx.WriteRequests / seconds:N1} writes/s"),
                F($"{influx.PointsWritten / (double)influx.WriteRequests:N0} points per write"), "", "");
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    private async Task<(double RawRate, double WriterRate, double RawCpuPerPoint)> InfluxAsync(
        PointSet rawPoints, PointSet pipelinePoints, InfluxOptions template, int pipelineBatch)
    {
        using var influx = new InfluxBench(_influxUrl);
        var influxd = InfluxPid;
        foreach (var db in new[] { "bench_raw", "bench_writer" })
        {
            await influx.QueryAsync($"DROP DATABASE {db}");
            await influx.QueryAsync($"CREATE DATABASE {db}");
        }

        Log(F($"(2) raw InfluxDB: {rawPoints.Points:N0} points, {rawPoints.Bytes / 1e6:F0} MB of line protocol, {rawPoints.Chunks.Count} requests of {template.MaxBatchPoints} points, one at a time"));
        var cpu0 = ProcessStats.CpuSeconds(influxd);
        var raw = await influx.WriteRawAsync("bench_raw", rawPoints);
        var rawCpu = ProcessStats.CpuSeconds(influxd) - cpu0;
        var rawRate = rawPoints.Points / raw.TotalSeconds;
        Log(F($"(2) raw InfluxDB: {rawRate:N0} points/s ({raw.TotalSeconds:F1} s), influxd {rawCpu:F1} s CPU = {rawCpu / rawPoints.Points * 1e6:F0} us/point; load {ProcessStats.LoadAverage()}"));

        Log(F($"(3) InfluxLineWriter: 4 producers, chunks of {pipelineBatch} points, MaxBatchPoints {template.MaxBatchPoints}, FlushInterval {template.FlushInterval.TotalMilliseconds} ms"));
        cpu0 = ProcessStats.CpuSeconds(influxd);
        var writer = await influx.WriteWithPlatformWriterAsync("bench_writer", pipelinePoints, producers: 4, template);
        var writerCpu = ProcessStats.CpuSeconds(influxd) - cpu0;
        var writerRate = pipelinePoints.Points / writer.TotalSeconds;
        Log(F($"(3) InfluxLineWriter: {writerRate:N0} points/s ({writer.TotalSeconds:F1} s), influxd {writerCpu:F1} s CPU; load {ProcessStats.LoadAverage()}"));

        DateTimeOffset from = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero), to = new(2100, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var counts = (await influx.CountAsync("bench_raw", from, to), await influx.CountAsync("bench_writer", from, to));
        Log($"(2)/(3) stored points: bare {counts.Item1:N0}, writer {counts.Item2:N0} (expected {rawPoints.Points:N0})");
        if (counts.Item1 != rawPoints.Points || counts.Item2 != rawPoints.Points)
        {
            _notes.Add(F($"InfluxDB point counts differ: bare {counts.Item1:N0}, writer {counts.Item2:N0}, expected {rawPoints.Points:N0}"));
        }

        // Free influxd's caches before the platform runs.
        await influx.QueryAsync("DROP DATABASE bench_raw");
        await influx.QueryAsync("DROP DATABASE bench_writer");
        return (rawRate, writerRate, rawCpu / rawPoints.Points);
    }


    private async Task<List<(string Scope, (double P50Ms, double P99Ms, long Calls, double CallsPerSecond) L)>> LatencyAsync(
        PlatformHost host, DateOnly day, Registry registry)
    {
        var duration = TimeSpan.FromSeconds(o.GetInt("query-seconds", _smoke ? 2 : 10));
        var callers = o.GetInt("callers", 16);
        var results = new List<(string, (double, double, long, double))>();
        var hostCpu0 = ProcessStats.CpuSeconds(host.Pid);
        foreach (var (scope, kind, ids) in new (string, ScopeKind, IReadOnlyList<string>)[]
        {
            ("city", ScopeKind.City, [""]),
            ("county (all counties in turn)", ScopeKind.County, registry.Counties),
            ("plant (all plants in turn)", ScopeKind.Plant, registry.Plants),
        })
        {
            var l = await QueryLatency.MeasureAsync(host, day, kind, ids, callers, duration);
            Log(F($"(4) {scope}: p50 {l.P50Ms:F2} ms, p99 {l.P99Ms:F2} ms, {l.Calls:N0} calls ({l.CallsPerSecond:N0}/s); load {ProcessStats.LoadAverage()}"));
            results.Add((scope, l));
        }

        // Trace back from every product lot of the recording and forward from every bulk-tank lot a tanker picked up,
        // as the platform operator (all plants), over gRPC like any caller.
        var products = _messages.Where(m => m.KindName == "production" && m.Lot.Length > 0).Select(m => m.Lot).Distinct().ToList();
        var bulkLots = _messages.Where(m => m.KindName == "tanker_pickup" && m.Source.Length > 0).Select(m => m.Source).Distinct().ToList();
        foreach (var (scope, ids, call) in new (string, List<string>, Func<string, Task>)[]
        {
            (F($"trace back ({products.Count:N0} product lots in turn)"), products,
                async id => await host.Traceability.TraceBackAsync(new TraceBackRequest { ProductLotId = id }, deadline: DateTime.UtcNow.AddSeconds(30))),
            (F($"trace forward ({bulkLots.Count:N0} bulk-tank lots in turn)"), bulkLots,
                async id => await host.Traceability.TraceForwardAsync(new TraceForwardRequest { BulkTankLotId = id }, deadline: DateTime.UtcNow.AddSeconds(30))),
        })
        {
            if (ids.Count == 0)
            {
                Log($"(4) {scope}: nothing to trace in this recording");
                continue;
            }

            var l = await QueryLatency.MeasureAsync(ids, call, callers, duration);
            Log(F($"(4) {scope}: p50 {l.P50Ms:F2} ms, p99 {l.P99Ms:F2} ms, {l.Calls:N0} calls ({l.CallsPerSecond:N0}/s); load {ProcessStats.LoadAverage()}"));
            results.Add((scope, l));
        }

        Log(F($"(4) host CPU during the queries: {ProcessStats.CpuSeconds(host.Pid) - hostCpu0:F1} s"));
        return results;
    }

    private async Task<string> VerifyAsync(PlatformHost host)
    {
        // A stride sample of the day breaks the chain (productions without their silo transfers): check totals and points only.
        string[] sampled = _sampled ? ["--skip-chain"] : [];
        var code = await Simulator.RunAsync(_sim, ["verify", "--ledger", Path.Combine(_work, "ledger-platform.jsonl"), "--api", host.ApiUrl,
            "--api-token", await host.Operator.TokenAsync(CancellationToken.None), "--influx", _influxUrl, "--db", "hohhot", .. sampled], Path.Combine(_work, "verify.log"));
        var text = code == 0 ? "passed" : $"FAILED (exit {code}, see {Path.Combine(_work, "verify.log")})";
        Log("hohhot-sim verify: " + text);
        return text;
    }

    /// <summary>How often the host reconnected because the broker had stopped delivering (its log line 5004).</summary>
    // ---------------------------------------------------------------------------------------------------------
    /// <summary>A line every 5 s in the log: progress and each process's CPU share of one core over the interval.</summary>
    private AsyncDisposableAction Progress(Func<string> state, (string Name, Func<double> Cpu)[] processes)
    {
        using var dummy = new CancellationTokenSource();
        var stop = new CancellationTokenSource();
        var task = Task.Run(async () =>
        {
            var last = processes.Select(p => p.Cpu()).ToArray();
            var watch = Stopwatch.StartNew();
            var lastAt = 0.0;
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(5));
            try
            {
                while (await timer.WaitForNextTickAsync(stop.Token))
                {
                    var now = watch.Elapsed.TotalSeconds;
                    var parts = new StringBuilder();
                    for (var i = 0; i < processes.Length; i++)
                    {
                        var c = processes[i].Cpu();
                        parts.Append(Inv, $"{processes[i].Name} {(c - last[i]) / (now - lastAt):P0} ");
                        last[i] = c;
                    }

                    lastAt = now;
                    Log(F($"    t={now,5:F0}s {state()}; cpu {parts}"));
                }
            }
            catch (OperationCanceledException)
            {
            }
        });
        return new AsyncDisposableAction(async () =>
        {
            await stop.CancelAsync();
            await task;
            stop.Dispose();
        });
    }

    private sealed class AsyncDisposableAction(Func<Task> action) : IAsyncDisposable, IDisposable
    {
        private int _done;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _done, 1) == 0)
            {
                await action();
            }
        }

        public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
    }

    private sealed record Registry(Dictionary<string, string> CountyOfOwner, List<string> Counties, List<string> Plants);

    private static Registry LoadRegistry(string path)
    {
        var document = JsonParser.Default.Parse<RegistryDocument>(File.ReadAllText(path));
        var countyOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in document.Pastures)
        {
            countyOf[p.Id] = p.CountyId;
        }

        var plants = new List<string>();
        foreach (var p in document.Plants)
        {
            countyOf[p.Id] = p.CountyId;
            plants.Add(p.Id);
        }

        var counties = document.Counties.Select(c => c.Id).ToList();
        return new Registry(countyOf, counties, plants);
    }

    private void AddRow(params string[] cells) => _rows.Add(cells);

    private void PrintTable(long messages)
    {
        var header = new[] { "#", "measurement", "result", "baseline (same run)", "ratio", "target" };
        var widths = new int[header.Length];
        foreach (var row in _rows.Prepend(header))
        {
            for (var i = 0; i < row.Length; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        var output = new StringBuilder();
        output.AppendLine(Inv, $"hohhot benchmark ({(_smoke ? "SMOKE" : "full")}), {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, load average now {ProcessStats.LoadAverage()}");
        output.AppendLine(Inv, $"data: {messages:N0} recorded readings; details in {Path.Combine(_work, "loadbench.log")}");
        foreach (var row in _rows.Prepend(header).Take(1).Concat([widths.Select(w => new string('-', w)).ToArray()]).Concat(_rows))
        {
            output.Append("| ");
            for (var i = 0; i < row.Length; i++)
            {
                output.Append(row[i].PadRight(widths[i])).Append(" | ");
            }

            output.Length--;
            output.AppendLine();
        }

        foreach (var note in _notes)
        {
            output.AppendLine("note: " + note);
        }

        Console.Out.Write(output.ToString());
        File.WriteAllText(Path.Combine(_work, "table.md"), output.ToString());
        Log(output.ToString());
    }

    private void Log(string line)
    {
        var text = $"[{DateTime.UtcNow:HH:mm:ss}] {line}";
        Console.Error.WriteLine(text);
        _log.WriteLine(text);
    }

    private static string Pct(double ratio) => ratio.ToString("P0", Inv);

    private static string F(FormattableString s) => s.ToString(Inv);
}
