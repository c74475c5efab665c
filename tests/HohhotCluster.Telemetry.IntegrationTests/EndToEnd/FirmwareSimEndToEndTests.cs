using System.Globalization;
using System.Text.RegularExpressions;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

namespace HohhotCluster.Telemetry.IntegrationTests.EndToEnd;

/// <summary>
/// The simulator against the real platform: the demo fleet is registered, its gateways get broker credentials,
/// a simulated day is published through Mosquitto, and <c>hohhot-sim verify</c> compares its ledger of PUBACKs
/// with the platform's throughput (gRPC) and points (InfluxDB).
/// </summary>
public sealed class FirmwareSimEndToEndTests : IAsyncLifetime
{
    private PlatformProcess _platform = null!;
    private readonly string _work = Path.Combine(Path.GetTempPath(), "hohhot-sim-e2e-" + Guid.NewGuid().ToString("N")[..8]);

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_work);
        _platform = await PlatformProcess.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _platform.DisposeAsync();
        Directory.Delete(_work, recursive: true);
    }

    [Fact]
    public async Task A_simulated_demo_day_verifies_against_the_platform_with_no_difference()
    {
        const string seed = "4242";
        await Simulator.RegisterFleetAsync("demo", seed, _platform, _work);

        var day = ThroughputProbe.ChinaDay(2).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var ledger = Path.Combine(_work, "ledger.jsonl");
        await Simulator.RequireAsync("run", "--profile", "demo", "--seed", seed, "--start", day + "T00:00:00+08:00", "--duration", "1d",
            "--boot-epoch", "now", "--mqtt", $"mqtt://127.0.0.1:{_platform.MqttPort}",
            "--ledger", ledger, "--spool", Path.Combine(_work, "spool"));

        // The platform acknowledges after its grains and InfluxDB have the data; give the last batch a moment.
        // The demo profile promises every kind, product lots and silo transfers included.
        var (exitCode, output) = await Simulator.VerifyAsync(ledger, _platform, profile: "demo");

        Assert.True(exitCode == 0, "hohhot-sim verify found differences:\n" + output + "\nplatform log:\n" + _platform.LogTail());
        Assert.Contains("verify: no difference", output, StringComparison.Ordinal);
        Assert.Contains("promised kinds (ledger/platform): ", output, StringComparison.Ordinal);
        Assert.Matches(@"production [1-9]\d*/[1-9]", output);
        // TMR feeding (issue 14): the mixers' and feed stores' messages are points on the platform like every other kind.
        Assert.Matches(@"tmr [1-9]\d*/[1-9]", output);
        Assert.Matches(@"feed_stock [1-9]\d*/[1-9]", output);
        // Animals (issue 17): register imported the herd book, the day's life events were accepted (every type: the demo
        // profile's animals.events), each pasture's stock in the registry is the ledger's, and
        // what the platform does not serve yet is said, not passed.
        Assert.True(Regex.IsMatch(output, @"animal events: [1-9]\d* accepted \("), output);
        Assert.True(Regex.IsMatch(output, @"animal stock: [1-9] pastures' alive animals compared with the registry"), output);
        Assert.True(output.Contains("not checked: the breeding KPIs", StringComparison.Ordinal), output);
        Assert.True(Regex.IsMatch(output, @"withdrawal and colostrum milk: [1-9]\d* milkings kept apart \(MilkedSeparately\), [1-9]\d* milked into a tank"), output);
        // Each bulk-tank lot knows its milkings: the lots the platform flags for withdrawal or colostrum milk are the
        // ledger's, each with the ledger's count of such milkings (a difference otherwise).
        Assert.True(Regex.IsMatch(output, @"unfit lots: ([1-9]\d*) flagged by the platform of the run's [1-9]\d* collected lots, ledger \1"), output);
        // ... and a trace back from a product lot names the animals of each bulk-tank lot it reaches.
        Assert.True(Regex.IsMatch(output, @"trace back: [1-9]\d* product lots traced to their bulk-tank lots; [1-9]\d* of those lots name their animals"), output);
    }

    /// <summary>
    /// The reliability scenario through the simulator's own ledger: devices resend, reorder, arrive late, send
    /// malformed and oversized payloads and restart (new boot epochs), and the host is killed (SIGKILL) mid-run and
    /// started again. <c>hohhot-sim verify</c> counts lost, duplicated and unexpected keys separately: none of each.
    /// </summary>
    [Fact]
    public async Task A_simulated_day_with_device_faults_and_the_host_killed_mid_run_verifies_with_no_difference()
    {
        const string seed = "777";
        await Simulator.RegisterFleetAsync("demo", seed, _platform, _work);

        var day = ThroughputProbe.ChinaDay(3).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var ledger = Path.Combine(_work, "faults.jsonl");
        // A day in about 40 s of real time, so that the kill lands in the middle of it.
        var run = Simulator.RunAsync("run", "--profile", "demo", "--seed", seed, "--start", day + "T00:00:00+08:00", "--duration", "1d",
            "--speed", "2160", "--boot-epoch", "now", "--mqtt", $"mqtt://127.0.0.1:{_platform.MqttPort}",
            "--fault-duplicates", "0.05", "--fault-reorder", "0.05", "--fault-late", "0.02", "--fault-malformed", "0.01",
            "--fault-oversized", "0.005", "--fault-restart", "0.002",
            "--ledger", ledger, "--spool", Path.Combine(_work, "faults-spool"));
        await Task.Delay(TimeSpan.FromSeconds(15));
        await _platform.KillAsync();
        await _platform.StartAgainAsync();
        var (runExit, runOutput) = await run;
        Assert.True(runExit == 0, "hohhot-sim run failed:\n" + runOutput);

        var (exitCode, output) = await Simulator.VerifyAsync(ledger, _platform);

        Assert.True(exitCode == 0, "hohhot-sim verify found differences:\n" + output + "\nrun:\n" + runOutput + "\nplatform log:\n" + _platform.LogTail());
        Assert.Contains("verify: no difference", output, StringComparison.Ordinal);
    }
}
