using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>
/// A Prometheus of its own, started by <c>deploy/servers.sh start-one prom</c> (its data under the test servers' data
/// folder, a port of its own, stopped by PID), scraping the given platforms every second with the shipped alert rules,
/// every range and <c>for:</c> shortened so a condition fires within seconds.
/// </summary>
public sealed partial class PrometheusServer : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly Dictionary<string, string> _instance;

    private PrometheusServer(Dictionary<string, string> instance, int port, string directory)
    {
        _instance = instance;
        Url = $"http://127.0.0.1:{port}";
        Directory = directory;
    }

    public string Url { get; }

    /// <summary>The instance's HOHHOT_DATA_DIR (Prometheus' files are under prometheus/).</summary>
    public string Directory { get; }

    /// <summary>The shipped rules file.</summary>
    public static string ShippedRules => Path.Combine(TestServers.RepoRoot, "deploy", "prometheus", "hohhot-alerts.yml");

    /// <summary>The shipped rules with every range vector as [15s] and every <c>for:</c> as 2s (scrapes each second).</summary>
    public static string ShortenedRules() =>
        ForClause().Replace(RangeVector().Replace(File.ReadAllText(ShippedRules), "[15s]"), "for: 2s");

    public static Task<PrometheusServer> StartAsync(params string[] targets) => StartAsync(null, targets);

    /// <summary>As <see cref="StartAsync(string[])"/>, sending its alerts to the Alertmanager on <paramref name="alertmanagerPort"/>.</summary>
    public static async Task<PrometheusServer> StartAsync(int? alertmanagerPort, params string[] targets)
    {
        var name = TestServers.UniqueName("prom");
        var directory = System.IO.Directory.CreateDirectory(Path.Combine(TestServers.DataDir, name)).FullName;
        var rules = Path.Combine(directory, "hohhot-alerts.test.yml");
        await File.WriteAllTextAsync(rules, ShortenedRules());
        var port = PlatformProcess.FreePort();
        var instance = new Dictionary<string, string>
        {
            ["HOHHOT_DATA_DIR"] = directory,
            ["HOHHOT_PROM_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["HOHHOT_METRICS_TARGETS"] = string.Join(',', targets),
            ["HOHHOT_PROM_SCRAPE_INTERVAL"] = "1s",
            ["HOHHOT_PROM_RULES"] = rules,
        };
        if (alertmanagerPort is { } alertmanager)
        {
            instance["HOHHOT_ALERTMANAGER_PORT"] = alertmanager.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var server = new PrometheusServer(instance, port, directory);
        await ChildProcess.RequireDeployScriptAsync("servers.sh", ["start-one", "prom"], instance);
        return server;
    }

    /// <summary>One more target, through the file_sd folder the scrape config watches.</summary>
    public Task AddTargetAsync(string name, string target) =>
        File.WriteAllTextAsync(Path.Combine(Directory, "prometheus", "targets", name + ".json"), $$"""[{"targets": ["{{target}}"]}]""");

    /// <summary>The alerts Prometheus holds now (<c>/api/v1/alerts</c>): name, state (pending, firing) and labels.</summary>
    public async Task<IReadOnlyList<PrometheusAlert>> AlertsAsync()
    {
        using var document = JsonDocument.Parse(await Http.GetStringAsync(Url + "/api/v1/alerts"));
        var alerts = new List<PrometheusAlert>();
        foreach (var alert in document.RootElement.GetProperty("data").GetProperty("alerts").EnumerateArray())
        {
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var label in alert.GetProperty("labels").EnumerateObject())
            {
                labels[label.Name] = label.Value.GetString() ?? "";
            }

            alerts.Add(new PrometheusAlert(labels["alertname"], alert.GetProperty("state").GetString() ?? "", labels));
        }

        return alerts;
    }

    /// <summary>Waits until the alert fires (with the labels given) and returns it; fails with what Prometheus holds.</summary>
    public async Task<PrometheusAlert> WaitForFiringAsync(string alertName, TimeSpan timeout, params (string Label, string Value)[] labels)
    {
        bool Matches(PrometheusAlert a) =>
            a.Name == alertName && a.State == "firing" && labels.All(l => a.Labels.TryGetValue(l.Label, out var v) && v == l.Value);
        var alerts = await Eventually.WaitAsync(AlertsAsync, all => all.Any(Matches), timeout);
        var firing = alerts.FirstOrDefault(Matches);
        Assert.True(firing is not null,
            $"{alertName} did not fire within {timeout.TotalSeconds} s; alerts: " +
            string.Join("; ", alerts.Select(a => $"{a.Name} {a.State} {string.Join(',', a.Labels.Select(l => l.Key + "=" + l.Value))}")));
        return firing!;
    }

    /// <summary>The Alertmanagers Prometheus sends to (<c>/api/v1/alertmanagers</c>, the active ones' URLs).</summary>
    public async Task<IReadOnlyList<string>> AlertmanagersAsync()
    {
        var reply = await Http.GetFromJsonAsync<JsonElement>(Url + "/api/v1/alertmanagers");
        return reply.GetProperty("data").GetProperty("activeAlertmanagers").EnumerateArray().Select(a => a.GetProperty("url").GetString() ?? "").ToList();
    }

    /// <summary>An instant query's result as (labels, value) pairs.</summary>
    public async Task<IReadOnlyList<(IReadOnlyDictionary<string, string> Labels, double Value)>> QueryAsync(string promql)
    {
        var reply = await Http.GetFromJsonAsync<JsonElement>(Url + "/api/v1/query?query=" + Uri.EscapeDataString(promql));
        var results = new List<(IReadOnlyDictionary<string, string>, double)>();
        foreach (var series in reply.GetProperty("data").GetProperty("result").EnumerateArray())
        {
            var labels = series.GetProperty("metric").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString() ?? "");
            var value = double.Parse(series.GetProperty("value")[1].GetString()!, System.Globalization.CultureInfo.InvariantCulture);
            results.Add((labels, value));
        }

        return results;
    }

    public async ValueTask DisposeAsync() => await ChildProcess.RequireDeployScriptAsync("servers.sh", ["stop-one", "prom"], _instance);

    [GeneratedRegex(@"\[\d+[smhd]\]")]
    private static partial Regex RangeVector();

    [GeneratedRegex(@"for: \d+[smhd]")]
    private static partial Regex ForClause();
}

public sealed record PrometheusAlert(string Name, string State, IReadOnlyDictionary<string, string> Labels);
