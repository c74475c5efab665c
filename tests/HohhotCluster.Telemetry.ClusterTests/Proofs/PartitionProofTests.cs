using System.Diagnostics;
using System.Globalization;
using System.Net;
using HohhotCluster.Telemetry.ClusterTests.Infrastructure;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace HohhotCluster.Telemetry.ClusterTests.Proofs;

/// <summary>
/// Issue 15's partition proof: three hosts behind HAProxy, host 3 inside a network namespace this test creates (a veth
/// pair; its silo, MQTT endpoint and API reached only through it, PostgreSQL and InfluxDB through relays on the outside
/// address). Mid-stream iptables DROP inside the namespace cuts host 3 off from everything: HAProxy takes it out and
/// closes its sessions, so its gateways reconnect to the others and resend; the others vote its silo dead. Host 3 can
/// commit nothing meanwhile (PostgreSQL is beyond the partition), and when the DROP is removed it learns it was
/// declared dead and stops: its process exits, as a SIGKILLed one would have, and is started again (systemd does that
/// on a real host; here deploy/cluster.sh start). It rejoins as a new silo, and <c>hohhot-sim verify</c> finds nothing
/// lost and nothing counted twice.
/// </summary>
public sealed class PartitionProofTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Partitioned = 3;

    private readonly string _work = Directory.CreateTempSubdirectory("hohhot-partition-").FullName;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private NetworkNamespace? _space;
    private TcpRelay? _postgres;
    private TcpRelay? _influx;
    private LocalCluster? _cluster;

    private LocalCluster Cluster => _cluster!;

    public async Task InitializeAsync()
    {
        _space = await NetworkNamespace.CreateAsync();
        var outside = IPAddress.Parse(_space.OutsideAddress);
        var postgresPort = new NpgsqlConnectionStringBuilder(TestServers.PostgresConnection).Port;
        var influx = new Uri(TestServers.InfluxUrl);
        var relayPorts = RelayPorts();
        _postgres = new TcpRelay(new IPEndPoint(outside, relayPorts.Postgres), new IPEndPoint(IPAddress.Loopback, postgresPort));
        _influx = new TcpRelay(new IPEndPoint(outside, relayPorts.Influx), new IPEndPoint(IPAddress.Loopback, influx.Port));
        _cluster = await LocalCluster.StartAsync(hosts: 3, new Dictionary<string, string>
        {
            ["HOHHOT_CLUSTER_NETNS_HOST"] = Partitioned.ToString(CultureInfo.InvariantCulture),
            ["HOHHOT_CLUSTER_NETNS"] = _space.Name,
            ["HOHHOT_CLUSTER_NETNS_ADDRESS"] = _space.InsideAddress,
            ["HOHHOT_CLUSTER_NETNS_PG"] = $"{_space.OutsideAddress}:{_postgres.Listening.Port}",
            ["HOHHOT_CLUSTER_NETNS_INFLUX"] = $"http://{_space.OutsideAddress}:{_influx.Listening.Port}",
            ["HOHHOT_CLUSTER_SILO_ADDRESS"] = _space.OutsideAddress,
        });
    }

    public async Task DisposeAsync()
    {
        // Everything this test made goes, whatever failed: the hosts, the relays, the namespace with its rules and veth.
        try
        {
            if (_cluster is not null)
            {
                await _cluster.DisposeAsync();
            }
        }
        finally
        {
            if (_influx is not null)
            {
                await _influx.DisposeAsync();
            }

            if (_postgres is not null)
            {
                await _postgres.DisposeAsync();
            }

            if (_space is not null)
            {
                await _space.DisposeAsync();
            }

            Directory.Delete(_work, recursive: true);
        }
    }

    [Fact]
    public async Task A_partitioned_host_is_declared_dead_stops_itself_and_rejoins_and_nothing_is_lost_or_counted_twice()
    {
        var space = _space!;
        const string seed = "1517";
        var token = await Cluster.Operator().TokenAsync(CancellationToken.None);
        var (registerExit, registerOutput) = await Cluster.SimulatorAsync("register", "--profile", "demo", "--seed", seed, "--api", Cluster.ApiUrl, "--api-token", token);
        Assert.True(registerExit == 0, "hohhot-sim register failed:\n" + registerOutput);

        var day = DateOnly.FromDateTime(DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8)).DateTime).AddDays(-4).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var ledger = Path.Combine(_work, "ledger.jsonl");
        // A day in about two minutes: the partition, the vote, the heal and the rejoin all land inside it.
        var run = Cluster.SimulatorAsync("run", "--profile", "demo", "--seed", seed, "--start", day + "T00:00:00+08:00", "--duration", "1d",
            "--speed", "720", "--boot-epoch", "now", "--mqtt", Cluster.MqttUrl, "--mqtt-ca", Cluster.CaFile,
            "--ledger", ledger, "--spool", Path.Combine(_work, "spool"));

        await Task.Delay(TimeSpan.FromSeconds(15));
        var siloPort = Cluster.HostPort(Partitioned, 2);
        var pid = Cluster.HostPid(Partitioned);
        await space.PartitionAsync();
        var partitionedAt = Stopwatch.StartNew();
        output.WriteLine($"{_clock.Elapsed.TotalSeconds:F1} s: DROP in namespace {space.Name} (host {Partitioned}, pid {pid}, {space.InsideAddress}):\n{await space.RulesAsync()}");

        // The others vote it dead in the membership table (they still reach PostgreSQL; it does not).
        var declaredDead = await WaitForDeadSiloAsync(siloPort, TimeSpan.FromSeconds(120));
        output.WriteLine($"silo of host {Partitioned} declared dead {partitionedAt.Elapsed.TotalSeconds:F1} s after the DROP: {declaredDead}");
        Assert.True(declaredDead, "the partitioned host's silo was not declared dead:" + Logs());
        // Still running behind the partition, it has accepted nothing new: whatever it held unacknowledged, its
        // gateways resend through the others (HAProxy closed their sessions when its checks failed).
        Assert.True(Cluster.HostRunning(Partitioned), "the partitioned host exited before it could learn it was declared dead");
        await Task.Delay(TimeSpan.FromSeconds(5));

        await space.HealAsync();
        var healedAt = Stopwatch.StartNew();
        output.WriteLine($"{_clock.Elapsed.TotalSeconds:F1} s: DROP removed");

        // It reads the table again, finds itself dead and stops: no zombie keeps an MQTT endpoint open.
        var stopped = await Eventually.WaitAsync(() => Task.FromResult(!Cluster.HostRunning(Partitioned)), gone => gone, TimeSpan.FromSeconds(120));
        output.WriteLine($"host {Partitioned} exited {healedAt.Elapsed.TotalSeconds:F1} s after the heal: {stopped}");
        Assert.True(stopped, $"host {Partitioned} kept running after it was declared dead:" + Logs());

        // Started again (systemd on a real host), it rejoins as a new silo generation.
        await Cluster.StartMissingHostsAsync();
        var rejoined = await WaitForActiveSiloAsync(siloPort, TimeSpan.FromSeconds(120));
        output.WriteLine($"host {Partitioned} rejoined {healedAt.Elapsed.TotalSeconds:F1} s after the heal: {rejoined}");
        Assert.True(rejoined, $"host {Partitioned} did not rejoin:" + Logs());

        var (runExit, runOutput) = await run;
        Assert.True(runExit == 0, "hohhot-sim run failed:\n" + runOutput);

        var failedReadings = await ProcessingFailedAsync();
        Assert.True(failedReadings.Count == 0, "readings quarantined as processing_failed around the partition:\n" + string.Join("\n", failedReadings));

        var (verifyExit, verifyOutput) = (1, "");
        for (var attempt = 0; attempt < 30 && verifyExit != 0; attempt++)
        {
            await Task.Delay(attempt == 0 ? 500 : 2000);
            var verifyToken = await Cluster.Operator().TokenAsync(CancellationToken.None);
            (verifyExit, verifyOutput) = await Cluster.SimulatorAsync("verify", "--ledger", ledger, "--api", Cluster.ApiUrl, "--api-token", verifyToken,
                "--influx", TestServers.InfluxUrl, "--db", Cluster.Database);
        }

        output.WriteLine(verifyOutput);
        Assert.True(verifyExit == 0, "hohhot-sim verify found differences:\n" + verifyOutput + "\nrun:\n" + runOutput + Logs());
        Assert.Contains("verify: no difference", verifyOutput, StringComparison.Ordinal);
    }

    /// <summary>Waits until a row of the silo port is Dead (status 6) in <c>cluster_silo</c>.</summary>
    private Task<bool> WaitForDeadSiloAsync(int siloPort, TimeSpan timeout) => WaitForSiloStatusAsync(siloPort, 6, timeout);

    /// <summary>Waits until a row of the silo port is Active (status 3) again: the host's new generation.</summary>
    private Task<bool> WaitForActiveSiloAsync(int siloPort, TimeSpan timeout) => WaitForSiloStatusAsync(siloPort, 3, timeout);

    private async Task<bool> WaitForSiloStatusAsync(int siloPort, int status, TimeSpan timeout)
    {
        await using var source = NpgsqlDataSource.Create(Cluster.PostgresConnection);
        var found = await Eventually.WaitAsync(async () =>
        {
            await using var command = source.CreateCommand("select count(*) from cluster_silo where port = $1 and status = $2");
            command.Parameters.AddWithValue(siloPort);
            command.Parameters.AddWithValue((short)status);
            return (long)(await command.ExecuteScalarAsync())!;
        }, count => count > 0, timeout);
        return found > 0;
    }

    private async Task<List<string>> ProcessingFailedAsync()
    {
        await using var source = NpgsqlDataSource.Create(Cluster.PostgresConnection);
        await using var command = source.CreateCommand("select topic || ': ' || detail from quarantine where reason = 'processing_failed' order by received_at");
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }

    /// <summary>The relays' ports: HOHHOT_CLUSTER_TEST_PORT_BASE + 45 and + 46 when set, else any free port (0).</summary>
    private static (int Postgres, int Influx) RelayPorts() =>
        Environment.GetEnvironmentVariable("HOHHOT_CLUSTER_TEST_PORT_BASE") is { Length: > 0 } value
            ? (int.Parse(value, CultureInfo.InvariantCulture) + 45, int.Parse(value, CultureInfo.InvariantCulture) + 46)
            : (0, 0);

    private string Logs() => string.Concat(Enumerable.Range(1, Cluster.Hosts).Select(h => $"\n--- host {h}:\n{Cluster.HostLogTail(h, 40)}"));
}
