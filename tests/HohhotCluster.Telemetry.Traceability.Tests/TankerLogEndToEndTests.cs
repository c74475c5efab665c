using System.Globalization;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;
using Xunit.Abstractions;

namespace HohhotCluster.Telemetry.Traceability.Tests;

/// <summary>
/// The demo day's tanker loggers through the real platform's MQTT endpoint: <c>hohhot-sim verify</c> finds no
/// difference (tanker_log points, each load's road against the ledger's readings), a logged load's trace shows its
/// road, and the demo's forced cooling fault raises <c>tanker_transit_temperature</c>.
/// </summary>
public sealed class TankerLogEndToEndTests(ITestOutputHelper log) : IAsyncLifetime
{
    private PlatformProcess _platform = null!;
    private readonly string _work = Path.Combine(Path.GetTempPath(), "hohhot-sim-tanker-" + Guid.NewGuid().ToString("N")[..8]);

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
    public async Task Demo_day_tanker_logs_verify_show_on_the_trace_and_the_cooling_fault_raises_its_alert()
    {
        const string seed = "4244";
        var profile = Path.Combine(TestServers.RepoRoot, "firmware-sim", "profiles", "demo.json");
        await Simulator.RegisterFleetAsync(profile, seed, _platform, _work);
        var firstDay = ThroughputProbe.ChinaDay(2);
        var ledger = Path.Combine(_work, "ledger.jsonl");
        await Simulator.RequireAsync("run", "--profile", profile, "--seed", seed, "--start", firstDay.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + "T00:00:00+08:00",
            "--duration", "1d", "--boot-epoch", "now", "--mqtt", $"mqtt://127.0.0.1:{_platform.MqttPort}",
            "--ledger", ledger, "--spool", Path.Combine(_work, "spool"));

        var (exitCode, output) = await Simulator.VerifyAsync(ledger, _platform, profile: "demo");
        log.WriteLine(output);
        Assert.True(exitCode == 0, "hohhot-sim verify found differences:\n" + output + "\nplatform log:\n" + _platform.LogTail());
        Assert.Matches("influx tanker_log: ledger [1-9][0-9]* keys", output);
        Assert.Matches("tanker roads: [1-9][0-9]* loads' logger readings compared", output);

        // The ledger's logged loads: one of them traced back shows its road, with a route time once weighed in.
        var loads = File.ReadLines(ledger).Select(l => System.Text.Json.JsonDocument.Parse(l).RootElement)
            .Where(l => l.TryGetProperty("k", out var k) && k.GetString() == "tanker_log" && l.TryGetProperty("lot", out _))
            .Select(l => l.GetProperty("lot").GetString()!).Distinct().ToList();
        Assert.NotEmpty(loads);
        var traceability = new TraceabilityService.TraceabilityServiceClient(_platform.Channel);
        var trace = await traceability.TraceBackAsync(new TraceBackRequest { ProductLotId = loads[0], Kind = LotKind.TankerLoad });
        Assert.NotNull(trace.Root.Road);
        Assert.True(trace.Root.Road.Readings > 0);
        Assert.NotEmpty(trace.Root.Road.Compartments);
        Assert.True(trace.Root.Road.HasRouteMinutes, "a weighed-in load has a route time");
        Assert.True(trace.Root.Road.DistanceKm > 0);

        // The demo forces a tanker cooling fault on its longest road: the transit alert names that load.
        var alerts = new AlertService.AlertServiceClient(_platform.Channel);
        var raised = await Eventually.WaitAsync(async () => (await alerts.ListAlertsAsync(new ListAlertsRequest { Kind = "tanker_transit_temperature" })).Alerts,
            list => list.Count >= 1);
        Assert.All(raised, a => Assert.StartsWith("tanker_load:", a.Subject, StringComparison.Ordinal));
        Assert.Contains(raised, a => loads.Contains(a.Subject["tanker_load:".Length..]));
    }
}
