using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;
using Xunit.Abstractions;

namespace HohhotCluster.Telemetry.IntegrationTests.EndToEnd;

/// <summary>
/// The simulator with every kind (chain: tanker_pickup, silo_transfer, production; audits: quality, manure, health)
/// against the real platform: <c>hohhot-sim verify</c> finds no difference (points, throughput, mass balance, trace
/// back, pass rates), a product lot traces back through TraceabilityService to the pastures whose pickups the ledger
/// holds, and the demo's injected watered load is flagged by MassBalance.
/// </summary>
public sealed class FirmwareSimChainTests(ITestOutputHelper log) : IAsyncLifetime
{
    private PlatformProcess _platform = null!;
    private readonly string _work = Path.Combine(Path.GetTempPath(), "hohhot-sim-chain-" + Guid.NewGuid().ToString("N")[..8]);

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
    public async Task Demo_days_with_every_kind_verify_trace_back_to_their_pastures_and_flag_the_watered_load()
    {
        const string seed = "4243";
        // The demo fleet with every incident it knows forced on its first day (the demo itself forces only the lead
        // lot a recall follows): the antibiotic, cold-chain and watered loads fail acceptance and are sent back;
        // production from honest loads follows on the second day.
        var profile = JsonNode.Parse(await File.ReadAllTextAsync(Path.Combine(TestServers.RepoRoot, "firmware-sim", "profiles", "demo.json")))!;
        profile["incidents"]!["forced"] = new JsonArray("antibiotic", "cooling_failure", "aflatoxin", "watered_load", "lead");
        var profilePath = Path.Combine(_work, "demo-every-incident.json");
        await File.WriteAllTextAsync(profilePath, profile.ToJsonString());
        await Simulator.RegisterFleetAsync(profilePath, seed, _platform, _work);

        var firstDay = ThroughputProbe.ChinaDay(3);
        var ledger = Path.Combine(_work, "ledger.jsonl");
        await Simulator.RequireAsync("run", "--profile", profilePath, "--seed", seed, "--start", firstDay.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) + "T00:00:00+08:00",
            "--duration", "2d", "--boot-epoch", "now", "--mqtt", $"mqtt://127.0.0.1:{_platform.MqttPort}",
            "--ledger", ledger, "--spool", Path.Combine(_work, "spool"));

        var (exitCode, output) = await Simulator.VerifyAsync(ledger, _platform);
        log.WriteLine(output);
        Assert.True(exitCode == 0, "hohhot-sim verify found differences:\n" + output + "\nplatform log:\n" + _platform.LogTail());
        foreach (var kind in new[] { "tanker_pickup", "silo_transfer", "production", "quality", "manure", "health" })
        {
            Assert.Matches($"influx {kind}: ledger [1-9][0-9]* keys", output);
        }
        Assert.Contains("pass rates: compared", output, StringComparison.Ordinal);

        // The ledger's own chain: product lot <- silo batch <- tanker load <- bulk-tank lots of pastures.
        var lines = (await File.ReadAllLinesAsync(ledger)).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(l => !l.TryGetProperty("f", out _) && l.GetProperty("rc").GetInt32() is >= 0 and < 128).ToList();
        string? Field(JsonElement line, string name) => line.TryGetProperty(name, out var value) ? value.GetString() : null;
        var pasturesOfLoad = lines.Where(l => Field(l, "k") == "tanker_pickup").GroupBy(l => Field(l, "lot")!)
            .ToDictionary(g => g.Key, g => g.Select(l => Field(l, "o")!).ToHashSet());
        var loadsOfBatch = lines.Where(l => Field(l, "k") == "silo_transfer").GroupBy(l => Field(l, "lot")!)
            .ToDictionary(g => g.Key, g => g.Select(l => Field(l, "src")!).ToList());
        var production = lines.First(l => Field(l, "k") == "production");
        var expectedPastures = loadsOfBatch[Field(production, "src")!].SelectMany(load => pasturesOfLoad[load]).ToHashSet();

        var traceability = new TraceabilityService.TraceabilityServiceClient(_platform.Channel);
        var trace = await traceability.TraceBackAsync(new TraceBackRequest { ProductLotId = Field(production, "lot")! });
        var reachedPastures = trace.Lots.Where(l => l.Ref.Kind == LotKind.BulkTank).Select(l => l.PastureId).ToHashSet();
        Assert.NotEmpty(reachedPastures);
        Assert.True(reachedPastures.SetEquals(expectedPastures),
            $"trace back of {Field(production, "lot")} reached [{string.Join(", ", reachedPastures)}], the ledger says [{string.Join(", ", expectedPastures)}]");

        // The watered load: its acceptance sample's freezing point is above GB 19301's -0.500 °C.
        var balance = await traceability.MassBalanceAsync(new MassBalanceRequest
        {
            PlantId = "PL-YILI-01", LocalDate = firstDay.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        });
        // Its freezing point fails the acceptance test, so the plant sent it back: it is rejected milk, not received.
        var watered = balance.Discrepancies.Where(d => d.Kind == "watered_load").ToList();
        var load = Assert.Single(watered, d => d.Lot.Kind == LotKind.TankerLoad && d.Detail.Contains("freezing point", StringComparison.Ordinal));
        Assert.True(pasturesOfLoad.ContainsKey(load.Lot.Id));
        Assert.True(balance.RejectedKg > 0, "the watered load's receipt is rejected");
    }
}
