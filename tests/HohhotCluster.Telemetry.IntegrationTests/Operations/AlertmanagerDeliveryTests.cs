using System.Text.Json;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

namespace HohhotCluster.Telemetry.IntegrationTests.Operations;

/// <summary>
/// "Gets an alert when ingestion stops", to the end: a real platform with a gateway connected, a Prometheus that
/// deploy/servers.sh started with the shipped rules (shortened) and pointed at an Alertmanager that deploy/servers.sh
/// started, which routes to a webhook receiver in the test. Ingestion stops (InfluxDB is stopped, so nothing is
/// acknowledged) while the gateway stays connected: the rule fires and Alertmanager delivers it.
/// </summary>
public sealed class AlertmanagerDeliveryTests : IAsyncLifetime
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(120);
    private readonly TestFleet _fleet = new();
    private PlatformProcess _platform = null!;
    private AlertmanagerServer _alertmanager = null!;
    private PrometheusServer _prometheus = null!;

    public async Task InitializeAsync()
    {
        _platform = await PlatformProcess.StartAsync(settings: new Dictionary<string, string> { ["Operations__HealthPublishPeriod"] = "00:00:01" });
        await _fleet.RegisterAsync(_platform);
        _alertmanager = await AlertmanagerServer.StartAsync();
        _prometheus = await PrometheusServer.StartAsync(_alertmanager.Port, $"127.0.0.1:{_platform.MetricsPort}");
    }

    public async Task DisposeAsync()
    {
        await _prometheus.DisposeAsync();
        await _alertmanager.DisposeAsync();
        await _platform.DisposeAsync();
    }

    /// <summary>The alerts of every notification received: (status of the alert, its labels).</summary>
    private List<(string Status, Dictionary<string, string> Labels)> Delivered()
    {
        var alerts = new List<(string, Dictionary<string, string>)>();
        foreach (var body in _alertmanager.Received)
        {
            using var json = JsonDocument.Parse(body);
            foreach (var alert in json.RootElement.GetProperty("alerts").EnumerateArray())
            {
                alerts.Add((alert.GetProperty("status").GetString() ?? "",
                    alert.GetProperty("labels").EnumerateObject().ToDictionary(l => l.Name, l => l.Value.GetString() ?? "", StringComparer.Ordinal)));
            }
        }

        return alerts;
    }

    [Fact]
    public async Task Ingestion_stopping_while_a_gateway_is_connected_reaches_the_webhook_through_Alertmanager()
    {
        var instance = $"127.0.0.1:{_platform.MetricsPort}";
        await using var gateway = await Gateway.ConnectAsync(_platform, _fleet.Plant, _fleet.PasswordOf(_fleet.Plant));
        var topic = Payloads.Topic("plant", _fleet.Plant, _fleet.Weighbridge, "plant_intake");
        var day = ThroughputProbe.ChinaDay(1);
        string Intake(int seq) => Payloads.Intake(_fleet.Weighbridge, seq, ThroughputProbe.At(day, 9, 0).AddSeconds(seq), "TL-M" + seq, 1_000 + seq);
        Assert.True(await gateway.PublishAsync(topic, Intake(1)));
        var up = await Eventually.WaitAsync(() => _prometheus.QueryAsync($"up{{instance=\"{instance}\"}}"), r => r.Count == 1 && r[0].Value == 1, Within);
        Assert.True(up.Count == 1 && up[0].Value == 1, "Prometheus does not scrape the platform");
        // Prometheus knows its Alertmanager (the config deploy/servers.sh wrote), and nothing was delivered while ingestion ran.
        var managers = await Eventually.WaitAsync(() => _prometheus.AlertmanagersAsync(), m => m.Count == 1, Within);
        Assert.Equal([$"http://127.0.0.1:{_alertmanager.Port}/api/v2/alerts"], managers);
        Assert.DoesNotContain(Delivered(), a => a.Labels["alertname"] == "HohhotIngestionStopped");

        await ServerControl.StopAsync("influx");
        try
        {
            // The gateway stays connected; its reading waits for InfluxDB and is not acknowledged.
            var held = gateway.PublishAsync(topic, Intake(2));
            await _prometheus.WaitForFiringAsync("HohhotIngestionStopped", Within, ("instance", instance));
            var delivered = await Eventually.WaitAsync(() => Task.FromResult(Delivered()),
                d => d.Any(a => a.Status == "firing" && a.Labels["alertname"] == "HohhotIngestionStopped"), Within);
            var alert = Assert.Single(delivered, a => a.Status == "firing" && a.Labels["alertname"] == "HohhotIngestionStopped");
            Assert.Equal(instance, alert.Labels["instance"]);
            Assert.Equal("critical", alert.Labels["severity"]);
            Assert.False(held.IsCompleted, "a reading was acknowledged while InfluxDB was stopped");
        }
        finally
        {
            await ServerControl.StartAsync("influx");
        }
    }
}
