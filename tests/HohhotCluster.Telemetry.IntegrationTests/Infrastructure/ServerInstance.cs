using System.Globalization;
using System.Text.RegularExpressions;

namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>
/// A second server instance (PostgreSQL, Mosquitto, InfluxDB) of deploy/servers.sh with its own data folder under
/// the test servers' and its own ports, driven only through the project's scripts (servers.sh, backup.sh), and
/// stopped by them (by PID) on dispose. Its data folder is deleted afterwards.
/// </summary>
public sealed partial class ServerInstance : IAsyncDisposable
{
    private readonly Dictionary<string, string> _environment;

    /// <param name="name">The data folder's name under HOHHOT_DATA_DIR.</param>
    /// <param name="firstPort">Four consecutive ports from here: PostgreSQL, MQTT, InfluxDB, InfluxDB RPC.</param>
    public ServerInstance(string name, int firstPort)
    {
        Directory = Path.Combine(TestServers.DataDir, name);
        _environment = new Dictionary<string, string>
        {
            ["HOHHOT_DATA_DIR"] = Directory,
            ["HOHHOT_PG_PORT"] = Port(0),
            ["HOHHOT_MQTT_PORT"] = Port(1),
            ["HOHHOT_INFLUX_PORT"] = Port(2),
            ["HOHHOT_INFLUX_RPC_PORT"] = Port(3),
        };

        string Port(int offset) => (firstPort + offset).ToString(CultureInfo.InvariantCulture);
    }

    public string Directory { get; }

    /// <summary>The instance's environment for the deploy scripts.</summary>
    public IReadOnlyDictionary<string, string> Environment => _environment;

    /// <summary>The instance's own <c>hohhot</c> databases, from <c>servers.sh env</c> (valid once its servers have started).</summary>
    public async Task<PlatformStores> StoresAsync()
    {
        var env = ParseEnv(await RunAsync("servers.sh", "env"));
        return new PlatformStores(env["HOHHOT_PG_CONNECTION"], env["HOHHOT_INFLUX_URL"], env["HOHHOT_INFLUX_DATABASE"]);
    }

    /// <summary>Runs a deploy script for this instance; it must succeed. Returns all it printed.</summary>
    public async Task<string> RunAsync(string script, params string[] arguments)
    {
        var (exitCode, output) = await TryRunAsync(script, arguments);
        Assert.True(exitCode == 0, $"{script} {string.Join(' ', arguments)} ({Directory}) exited {exitCode}:\n{output}");
        return output;
    }

    /// <summary>Runs a deploy script for this instance and returns its exit code and output, whatever they are.</summary>
    public Task<(int ExitCode, string Output)> TryRunAsync(string script, params string[] arguments) =>
        ChildProcess.RunAsync("bash", [Path.Combine(TestServers.RepoRoot, "deploy", script), .. arguments], _environment, WithoutVariables);

    // The test servers' own broker password must not leak into this instance (servers.sh would adopt it).
    private static readonly string[] WithoutVariables = ["HOHHOT_MQTT_INGEST_PASSWORD"];

    public async ValueTask DisposeAsync()
    {
        var (exitCode, output) = await TryRunAsync("servers.sh", "stop");
        Npgsql.NpgsqlConnection.ClearAllPools();
        Assert.True(exitCode == 0, $"servers.sh stop ({Directory}) exited {exitCode}:\n{output}");
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    /// <summary>servers.sh env's lines: <c>export NAME='value'</c>, single quotes escaped as <c>'\''</c>.</summary>
    private static Dictionary<string, string> ParseEnv(string output)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match match in ExportLine().Matches(output))
        {
            values[match.Groups[1].Value] = match.Groups[2].Value.Replace("'\\''", "'", StringComparison.Ordinal);
        }

        return values;
    }

    [GeneratedRegex(@"^export ([A-Z0-9_]+)='(.*)'$", RegexOptions.Multiline)]
    private static partial Regex ExportLine();
}
