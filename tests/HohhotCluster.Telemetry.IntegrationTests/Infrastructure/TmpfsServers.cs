using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>
/// A server instance of its own (deploy/servers.sh: PostgreSQL, Mosquitto, InfluxDB, on free ports) whose data
/// directory is a size-capped tmpfs mounted under the test servers' data dir, so that a test can fill the disk under
/// the stores and free it again without touching the shared servers. Its processes are stopped by the script (by PID).
/// </summary>
public sealed partial class TmpfsServers : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(30) };
    private readonly Dictionary<string, string> _instance;
    private bool _mounted;

    private TmpfsServers(string directory)
    {
        Directory = directory;
        _instance = new Dictionary<string, string>
        {
            ["HOHHOT_DATA_DIR"] = directory,
            ["HOHHOT_PG_PORT"] = Port(),
            ["HOHHOT_MQTT_PORT"] = Port(),
            ["HOHHOT_INFLUX_PORT"] = Port(),
            ["HOHHOT_INFLUX_RPC_PORT"] = Port(),
        };

        static string Port() => PlatformProcess.FreePort().ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>The tmpfs mount point, which is also the instance's HOHHOT_DATA_DIR.</summary>
    public string Directory { get; }

    /// <summary>The instance's own database <c>hohhot</c> in PostgreSQL and in InfluxDB (the instance is new, so they are empty).</summary>
    public PlatformStores Stores { get; private set; } = null!;

    private string FillerPath => Path.Combine(Directory, "filler");

    /// <summary>
    /// Mounts a tmpfs of the given size and starts the three servers on it. Fails (never skips) when the tmpfs cannot
    /// be mounted: the disk-full scenario needs root.
    /// </summary>
    public static async Task<TmpfsServers> StartAsync(int sizeMegabytes)
    {
        var directory = Path.Combine(TestServers.DataDir, "diskfull-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(directory);
        var servers = new TmpfsServers(directory);
        try
        {
            var mount = await RunAsync("mount", ["-t", "tmpfs", "-o", $"size={sizeMegabytes}m", "tmpfs", directory]);
            Assert.True(mount.ExitCode == 0,
                $"Could not mount a size-capped tmpfs at {directory} (mount exited {mount.ExitCode}: {mount.Output.Trim()}). " +
                "The disk-full scenario needs root (CAP_SYS_ADMIN) to mount one; run the integration tests as root.");
            servers._mounted = true;
            await servers.ScriptAsync("start");
            var env = ParseEnv(await servers.ScriptAsync("env"));
            servers.Stores = new PlatformStores(env["HOHHOT_PG_CONNECTION"], env["HOHHOT_INFLUX_URL"], env["HOHHOT_INFLUX_DATABASE"]);
            return servers;
        }
        catch
        {
            await servers.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// Fills the disk: a filler file written until the file system has no page left (ENOSPC), then InfluxDB's open
    /// WAL segment for the shard that holds <paramref name="shardTime"/> up to the end of its last page. tmpfs
    /// allocates whole pages, so a WAL segment keeps a few KiB of room in its last page after the filler took the
    /// rest, which would let InfluxDB take some dozens of small writes more; topped up, its next write fails as on a
    /// real full disk. The top-up points go to a measurement of their own (<c>disk_filler</c>), never to the platform's.
    /// </summary>
    public async Task<DiskFill> FillAsync(DateTimeOffset shardTime)
    {
        // The filler's series and field are created while there is room (a new series writes InfluxDB's series
        // file, not only the WAL): afterwards each top-up point costs WAL bytes alone.
        var time = shardTime.ToUnixTimeMilliseconds() * 1_000_000;
        var first = await WriteInfluxAsync($"disk_filler value=0i {time}");
        Assert.True(first.Status == System.Net.HttpStatusCode.NoContent, $"InfluxDB refused the filler's first point ({first.Status}): {first.Body}");

        var chunk = new byte[1024 * 1024];
        long fillerBytes;
        // Unbuffered, so the write that fails is the one that reaches the file system (and no buffered rest fails again on dispose).
        using (var filler = new FileStream(FillerPath, FileMode.CreateNew, FileAccess.Write, FileShare.None, bufferSize: 0))
        {
            try
            {
                while (true)
                {
                    filler.Write(chunk);
                }
            }
            catch (IOException) when (AvailableBytes() == 0)
            {
                // ENOSPC: a short last write took the final page, the next one found none.
                fillerBytes = filler.Length;
            }
        }

        for (var point = 1; point <= 10_000; point++)
        {
            var (status, body) = await WriteInfluxAsync($"disk_filler value={point}i {time + point}");
            if (status == System.Net.HttpStatusCode.InternalServerError && body.Contains("no space left on device", StringComparison.Ordinal))
            {
                return new DiskFill(fillerBytes, point - 1);
            }

            Assert.True(status == System.Net.HttpStatusCode.NoContent, $"InfluxDB answered a filler point with {status}: {body}");
        }

        throw new InvalidOperationException($"InfluxDB took 10,000 points on a full disk ({Directory}): its WAL is not where the filler is.");
    }

    private async Task<(System.Net.HttpStatusCode Status, string Body)> WriteInfluxAsync(string line)
    {
        using var content = new StringContent(line);
        using var response = await Http.PostAsync($"{Stores.InfluxUrl}/write?db={Uri.EscapeDataString(Stores.InfluxDatabase)}&precision=ns", content);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Deletes the filler: the space is back at once (tmpfs).</summary>
    public void Free() => File.Delete(FillerPath);

    /// <summary>What the file system still offers to writers (statfs f_bavail).</summary>
    public long AvailableBytes() => new DriveInfo(Directory).AvailableFreeSpace;

    /// <summary>Whether the instance's server ("pg" or "influx") is running and answering, from <c>servers.sh status</c>.</summary>
    public async Task<bool> IsUpAsync(string server)
    {
        var status = await RunScriptAsync(["status"]);
        var line = status.Output.Split('\n').FirstOrDefault(l => l.StartsWith(server + ":", StringComparison.Ordinal)) ?? "";
        return line.Contains(", accepting connections", StringComparison.Ordinal) || line.Contains(", ping ok", StringComparison.Ordinal);
    }

    /// <summary>Stops one server of the instance ("pg" or "influx") and starts it again.</summary>
    public async Task RestartOneAsync(string server)
    {
        await ScriptAsync("stop-one", server);
        await StartOneAsync(server);
    }

    /// <summary>Starts one server of the instance again ("pg" or "influx"), e.g. after it exited.</summary>
    public async Task StartOneAsync(string server)
    {
        await ScriptAsync("start-one", server);
        if (server == "pg")
        {
            // This process's pooled connections died with the server (57P01 on first use): forget them.
            Npgsql.NpgsqlConnection.ClearAllPools();
        }
    }

    /// <summary>The last lines of a server's log ("pg" or "influx"), for the test's output.</summary>
    public string LogTail(string server, int lines = 15)
    {
        var path = server == "pg"
            ? Path.Combine(Directory, "pg-run", "postgresql.log")
            : Path.Combine(Directory, "influxdb", "influxd.log");
        try
        {
            var all = File.ReadAllLines(path);
            return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }

    /// <summary>Frees the space, stops the instance's servers (by PID, through the script) and unmounts the tmpfs.</summary>
    public async ValueTask DisposeAsync()
    {
        var problems = new List<string>();
        if (_mounted)
        {
            // The servers need room to shut down cleanly (a checkpoint, the script's own files).
            try
            {
                File.Delete(FillerPath);
            }
            catch (IOException exception)
            {
                problems.Add("filler: " + exception.Message);
            }

            var stop = await RunScriptAsync(["stop"]);
            if (stop.ExitCode != 0)
            {
                problems.Add($"servers.sh stop exited {stop.ExitCode}: {stop.Output}");
            }

            // A process just stopped may still hold a file open for a moment.
            var umount = (ExitCode: -1, Output: "");
            for (var attempt = 0; attempt < 20 && umount.ExitCode != 0; attempt++)
            {
                if (attempt > 0)
                {
                    await Task.Delay(500);
                }

                umount = await RunAsync("umount", [Directory]);
            }

            if (umount.ExitCode != 0)
            {
                problems.Add($"umount {Directory} exited {umount.ExitCode}: {umount.Output}");
            }
        }

        try
        {
            System.IO.Directory.Delete(Directory);
        }
        catch (IOException exception)
        {
            problems.Add("mount point: " + exception.Message);
        }

        if (problems.Count > 0)
        {
            throw new InvalidOperationException($"Cleaning up the tmpfs instance {Directory} left work to do:\n" + string.Join('\n', problems));
        }
    }

    private async Task<string> ScriptAsync(params string[] arguments)
    {
        var result = await RunScriptAsync(arguments);
        Assert.True(result.ExitCode == 0, $"servers.sh {string.Join(' ', arguments)} ({Directory}) exited {result.ExitCode}:\n{result.Output}");
        return result.Output;
    }

    private Task<(int ExitCode, string Output)> RunScriptAsync(string[] arguments) =>
        RunAsync("bash", [Path.Combine(TestServers.RepoRoot, "deploy", "servers.sh"), .. arguments], _instance);

    private static Task<(int ExitCode, string Output)> RunAsync(string program, string[] arguments, IReadOnlyDictionary<string, string>? environment = null) =>
        // The test servers' own broker password must not leak into this instance (servers.sh would adopt it).
        ChildProcess.RunAsync(program, arguments, environment, environment is null ? null : ["HOHHOT_MQTT_INGEST_PASSWORD"]);

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

/// <summary>What filling the disk took: the filler file's bytes and the points that topped up InfluxDB's WAL page.</summary>
public sealed record DiskFill(long FillerBytes, int WalTopUpPoints);
