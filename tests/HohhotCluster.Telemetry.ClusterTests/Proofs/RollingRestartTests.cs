using System.Globalization;
using HohhotCluster.Telemetry.ClusterTests.Infrastructure;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using Xunit.Abstractions;

namespace HohhotCluster.Telemetry.ClusterTests.Proofs;

/// <summary>
/// Issue 15's rolling restart: under load from the simulator (through HAProxy), each of the three hosts in turn gets
/// SIGTERM, drains, exits and is started again; <c>hohhot-sim verify</c> finds nothing lost and nothing counted twice.
/// </summary>
public sealed class RollingRestartTests(ITestOutputHelper output) : IAsyncLifetime
{
    private LocalCluster _cluster = null!;
    private readonly string _work = Directory.CreateTempSubdirectory("hohhot-rolling-").FullName;

    public async Task InitializeAsync() => _cluster = await LocalCluster.StartAsync(hosts: 3);

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task Restarting_every_host_one_at_a_time_under_load_loses_nothing_and_counts_nothing_twice()
    {
        const string seed = "1516";
        var token = await _cluster.Operator().TokenAsync(CancellationToken.None);
        var (registerExit, registerOutput) = await _cluster.SimulatorAsync("register", "--profile", "demo", "--seed", seed, "--api", _cluster.ApiUrl, "--api-token", token);
        Assert.True(registerExit == 0, "hohhot-sim register failed:\n" + registerOutput);

        var day = DateOnly.FromDateTime(DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8)).DateTime).AddDays(-3).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var ledger = Path.Combine(_work, "ledger.jsonl");
        // A day in about two minutes, so all three restarts land inside it.
        var run = _cluster.SimulatorAsync("run", "--profile", "demo", "--seed", seed, "--start", day + "T00:00:00+08:00", "--duration", "1d",
            "--speed", "720", "--boot-epoch", "now", "--mqtt", _cluster.MqttUrl, "--mqtt-ca", _cluster.CaFile,
            "--ledger", ledger, "--spool", Path.Combine(_work, "spool"));

        await Task.Delay(TimeSpan.FromSeconds(10));
        for (var host = 1; host <= _cluster.Hosts; host++)
        {
            await _cluster.StopHostAsync(host);
            output.WriteLine($"host {host} drained and exited");
            await _cluster.StartMissingHostsAsync();
            output.WriteLine($"host {host} started again");
        }

        var (runExit, runOutput) = await run;
        Assert.True(runExit == 0, "hohhot-sim run failed:\n" + runOutput);
        Assert.All(Enumerable.Range(1, _cluster.Hosts), host =>
            Assert.Contains("MQTT endpoint draining", _cluster.HostLog(host), StringComparison.Ordinal));

        var (verifyExit, verifyOutput) = (1, "");
        for (var attempt = 0; attempt < 30 && verifyExit != 0; attempt++)
        {
            await Task.Delay(attempt == 0 ? 500 : 2000);
            var verifyToken = await _cluster.Operator().TokenAsync(CancellationToken.None);
            (verifyExit, verifyOutput) = await _cluster.SimulatorAsync("verify", "--ledger", ledger, "--api", _cluster.ApiUrl, "--api-token", verifyToken,
                "--influx", TestServers.InfluxUrl, "--db", _cluster.Database);
        }

        Assert.True(verifyExit == 0, "hohhot-sim verify found differences:\n" + verifyOutput + "\nrun:\n" + runOutput);
        Assert.Contains("verify: no difference", verifyOutput, StringComparison.Ordinal);
    }
}
