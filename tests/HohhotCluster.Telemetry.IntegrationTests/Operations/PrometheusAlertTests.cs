using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using MQTTnet;
using Xunit.Abstractions;

namespace HohhotCluster.Telemetry.IntegrationTests.Operations;

/// <summary>
/// One platform process, scraped every second by a Prometheus that deploy/servers.sh started with the shipped alert
/// rules (ranges and <c>for:</c> shortened), and a size-capped tmpfs the platform watches as a store's disk.
/// </summary>
public sealed class PrometheusFixture : IAsyncLifetime
{
    public PlatformProcess Platform { get; private set; } = null!;
    public PrometheusServer Prometheus { get; private set; } = null!;
    public TestFleet Fleet { get; } = new();

    /// <summary>A 16 MiB tmpfs given to the platform in Operations:DiskPaths.</summary>
    public string Disk { get; } = Path.Combine(Path.GetTempPath(), TestServers.UniqueName("disk"));

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(Disk);
        var mount = await ChildProcess.RunAsync("mount", ["-t", "tmpfs", "-o", "size=16m", "tmpfs", Disk]);
        Assert.True(mount.ExitCode == 0, $"mount tmpfs at {Disk} exited {mount.ExitCode} (the disk-filling alert test needs root): {mount.Output}");
        Platform = await PlatformProcess.StartAsync(settings: new Dictionary<string, string>
        {
            ["Operations__HealthPublishPeriod"] = "00:00:01",
            ["Operations__DiskPaths__0"] = Disk,
        });
        await Fleet.RegisterAsync(Platform);
        Prometheus = await PrometheusServer.StartAsync($"127.0.0.1:{Platform.MetricsPort}");
    }

    public async Task DisposeAsync()
    {
        await Prometheus.DisposeAsync();
        await Platform.DisposeAsync();
        await ChildProcess.RunAsync("umount", [Disk]);
        Directory.Delete(Disk, recursive: true);
    }
}

/// <summary>Each alert rule of deploy/prometheus/hohhot-alerts.yml fires when its condition is caused for real.</summary>
public sealed class PrometheusAlertTests(PrometheusFixture fixture, ITestOutputHelper log) : IClassFixture<PrometheusFixture>
{
    private static readonly TimeSpan FireWithin = TimeSpan.FromSeconds(90);
    private PlatformProcess Platform => fixture.Platform;
    private PrometheusServer Prometheus => fixture.Prometheus;
    private TestFleet Fleet => fixture.Fleet;

    [Fact]
    public async Task Shipped_and_shortened_alert_rules_pass_promtool_check()
    {
        var shortened = Path.Combine(Prometheus.Directory, "hohhot-alerts.test.yml");
        foreach (var file in new[] { PrometheusServer.ShippedRules, shortened })
        {
            var (exitCode, output) = await ChildProcess.RunAsync("promtool", ["check", "rules", file]);
            Assert.True(exitCode == 0, $"promtool check rules {file}: {output}");
            Assert.Contains("SUCCESS: 6 rules found", output, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Platform_down_fires_for_a_platform_address_nothing_answers_on()
    {
        // Healthy first: the platform itself is up.
        var up = await Eventually.WaitAsync(() => Prometheus.QueryAsync($"up{{instance=\"127.0.0.1:{Platform.MetricsPort}\"}}"), r => r.Count == 1 && r[0].Value == 1, FireWithin);
        Assert.True(up.Count == 1 && up[0].Value == 1, "Prometheus does not scrape the platform");
        var dead = $"127.0.0.1:{PlatformProcess.FreePort()}";
        await Prometheus.AddTargetAsync("gone", dead);
        await Prometheus.WaitForFiringAsync("HohhotPlatformDown", FireWithin, ("instance", dead));
        Assert.DoesNotContain(await Prometheus.AlertsAsync(), a => a.Name == "HohhotPlatformDown" && a.Labels["instance"] != dead);
    }

    [Fact]
    public async Task Quarantine_rate_spike_fires_when_a_gateway_sends_malformed_readings()
    {
        await using var gateway = await Gateway.ConnectAsync(Platform, Fleet.Plant, Fleet.PasswordOf(Fleet.Plant));
        var topic = Payloads.Topic("plant", Fleet.Plant, Fleet.Weighbridge, "plant_intake");
        for (var i = 0; i < 40; i++)
        {
            var result = await gateway.PublishForResultAsync(topic, "{\"deviceId\": \"" + Fleet.Weighbridge + "\", truncated " + i);
            Assert.Equal(MqttClientPublishReasonCode.PayloadFormatInvalid, result.ReasonCode);
        }

        var alert = await Prometheus.WaitForFiringAsync("HohhotQuarantineRateSpike", FireWithin, ("instance", $"127.0.0.1:{Platform.MetricsPort}"));
        log.WriteLine($"{alert.Name} {alert.State}");
    }

    [Fact]
    public async Task Disk_filling_fires_when_a_watched_file_system_is_nearly_full()
    {
        var instance = ("instance", $"127.0.0.1:{Platform.MetricsPort}");
        var free = await Eventually.WaitAsync(() => Prometheus.QueryAsync("hohhot_disk_free_ratio"), r => r.Count == 1, FireWithin);
        Assert.True(free.Count == 1 && free[0].Value > 0.9, $"the empty tmpfs reads as {string.Join(",", free.Select(f => f.Value))} free");
        Assert.DoesNotContain(await Prometheus.AlertsAsync(), a => a.Name == "HohhotDiskFilling");
        var filler = Path.Combine(fixture.Disk, "filler");
        await File.WriteAllBytesAsync(filler, new byte[15 * 1024 * 1024]);
        try
        {
            await Prometheus.WaitForFiringAsync("HohhotDiskFilling", FireWithin, instance, ("path", fixture.Disk));
        }
        finally
        {
            File.Delete(filler);
        }
    }

    [Fact]
    public async Task Store_down_and_ingestion_stopped_fire_while_InfluxDB_is_stopped_and_puback_latency_high_once_it_is_back()
    {
        var instance = ("instance", $"127.0.0.1:{Platform.MetricsPort}");
        await using var gateway = await Gateway.ConnectAsync(Platform, Fleet.Plant, Fleet.PasswordOf(Fleet.Plant));
        var topic = Payloads.Topic("plant", Fleet.Plant, Fleet.Weighbridge, "plant_intake");
        var day = ThroughputProbe.ChinaDay(1);
        string Intake(int seq) => Payloads.Intake(Fleet.Weighbridge, seq, ThroughputProbe.At(day, 9, 0).AddSeconds(seq), "TL-A" + seq, 1_000 + seq);
        Assert.True(await gateway.PublishAsync(topic, Intake(1)));
        var healthy = await Eventually.WaitAsync(() => Prometheus.QueryAsync("hohhot_health_status{component=\"influxdb\"}"), r => r.Count == 1 && r[0].Value == 1, FireWithin);
        Assert.True(healthy.Count == 1 && healthy[0].Value == 1, "InfluxDB's health is not published as 1 while it runs");
        Assert.DoesNotContain(await Prometheus.AlertsAsync(), a => a.Name is "HohhotStoreDown" or "HohhotIngestionStopped" && a.State == "firing");

        await ServerControl.StopAsync("influx");
        Task<bool> held;
        try
        {
            // The gateway stays connected and its next reading waits for InfluxDB: no PUBACK, nothing acknowledged.
            held = gateway.PublishAsync(topic, Intake(2));
            await Prometheus.WaitForFiringAsync("HohhotStoreDown", FireWithin, instance, ("component", "influxdb"));
            await Prometheus.WaitForFiringAsync("HohhotIngestionStopped", FireWithin, instance);
            Assert.False(held.IsCompleted, "a reading was acknowledged while InfluxDB was stopped");
        }
        finally
        {
            await ServerControl.StartAsync("influx");
        }

        Assert.True(await held.WaitAsync(TimeSpan.FromSeconds(60)), "the held reading was not acknowledged after InfluxDB came back");
        // That PUBACK took as long as the outage: the PUBACK latency's p99 is far above 2 s.
        await Prometheus.WaitForFiringAsync("HohhotPubackLatencyHigh", FireWithin, instance);
    }
}
