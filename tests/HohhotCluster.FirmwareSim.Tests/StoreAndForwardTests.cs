using System.Diagnostics;
using System.Globalization;
using HohhotCluster.FirmwareSim.Fleet;
using HohhotCluster.FirmwareSim.Publishing;
using HohhotCluster.FirmwareSim.Simulation;
using HohhotCluster.FirmwareSim.Verification;

namespace HohhotCluster.FirmwareSim.Tests;

/// <summary>
/// Against the real Mosquitto that deploy/servers.sh runs (HOHHOT_MQTT_HOST, HOHHOT_MQTT_PORT and
/// the scripts' own HOHHOT_DATA_DIR): a site broker is an MQTT endpoint the simulator publishes to as it does to the
/// platform's (its success codes, 0x10 included, count as acknowledged). Missing settings fail the test: it is never skipped.
/// </summary>
public class StoreAndForwardTests
{
    [Fact]
    public async Task Broker_stopped_and_restarted_mid_run_loses_nothing_and_the_ledger_shows_every_key_acked_once()
    {
        var host = RequireEnvironment("HOHHOT_MQTT_HOST");
        var port = int.Parse(RequireEnvironment("HOHHOT_MQTT_PORT"), CultureInfo.InvariantCulture);
        var repository = TestFleets.RepositoryRoot();
        var fleet = TestFleets.Generate("demo", seed: 7001);
        foreach (var gateway in fleet.Gateways)
        {
            await RunScriptAsync(repository, "deploy/broker-user.sh", "add", gateway.OwnerId, GatewayCredentials.Password(fleet.Seed, gateway.OwnerId));
        }

        var work = Directory.CreateTempSubdirectory("hohhot-sim-saf-");
        var ledgerPath = Path.Combine(work.FullName, "ledger.jsonl");
        var stats = new RunStats();
        var runner = new SimulationRunner(fleet, new SimulationOptions
        {
            Start = TestFleets.Start,
            Duration = TimeSpan.FromDays(1),
            Speed = 86_400 / 12.0, // the demo day in about 12 s
            BootEpoch = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        }, TimeProvider.System);
        long spooledDuringOutage;
        bool drained;
        var brokerStopped = false;
        using (var ledger = new PublishLedger(ledgerPath))
        {
            var publisher = new FleetPublisher(new MqttEndpoint(host, port),
                new GatewayPublisherOptions { SpoolDirectory = Path.Combine(work.FullName, "spool"), MaxInflight = 32 },
                owner => GatewayCredentials.Password(fleet.Seed, owner), ledger, stats);
            await using (publisher)
            {
                var run = runner.RunAsync(publisher, CancellationToken.None);
                try
                {
                    await WaitUntilAsync(() => stats.Acked > 100, TimeSpan.FromSeconds(30), "no PUBACKs before the outage");
                    await RunScriptAsync(repository, "deploy/servers.sh", "stop-one", "mqtt");
                    brokerStopped = true;
                    await Task.Delay(TimeSpan.FromSeconds(3));
                    spooledDuringOutage = stats.Spooled;
                    await RunScriptAsync(repository, "deploy/servers.sh", "start-one", "mqtt");
                    brokerStopped = false;
                    await run;
                    drained = await publisher.CompleteAsync(TimeSpan.FromSeconds(90));
                }
                finally
                {
                    if (brokerStopped)
                    {
                        await RunScriptAsync(repository, "deploy/servers.sh", "start-one", "mqtt");
                    }
                }
            }
        }

        Assert.True(spooledDuringOutage > 0, "the outage should have sent messages to the disk spool");
        Assert.True(drained, "every message should be answered after the broker came back");
        Assert.True(stats.Batches > 0, "the spool should drain in batch publishes after the outage");
        var summary = LedgerSummary.Read(ledgerPath);
        Assert.Equal(runner.Generated, summary.Keys.Count);
        var notOnce = summary.Keys.Values.Where(k => k.SuccessfulPubacks != 1).Select(k => $"{k.Key} acked {k.SuccessfulPubacks}x").ToList();
        Assert.True(notOnce.Count == 0, string.Join(", ", notOnce.Take(10)));
        Assert.Equal(0, stats.Spooled);
        work.Delete(recursive: true);
    }

    private static string RequireEnvironment(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{name} is not set: this integration test needs the broker started by deploy/servers.sh (export HOHHOT_MQTT_HOST, HOHHOT_MQTT_PORT and the same HOHHOT_DATA_DIR).");

    private static async Task RunScriptAsync(string repository, string script, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash") { WorkingDirectory = repository, RedirectStandardError = true, RedirectStandardOutput = true };
        start.ArgumentList.Add(Path.Combine(repository, script));
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        Assert.True(process.ExitCode == 0, $"{script} {string.Join(' ', arguments[..1])} failed ({process.ExitCode}): {await stdout}{await stderr}");
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan timeout, string failure)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(deadline.Elapsed < timeout, failure);
            await Task.Delay(50);
        }
    }
}
