using System.Diagnostics;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

namespace HohhotCluster.Telemetry.BrowserTests;

/// <summary>
/// hohhot-dashboard run as a real child process (HTTPS with deploy/certs.sh's certificate, a free port) against a
/// platform under test; stopped by its PID.
/// </summary>
public sealed class DashboardProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _logPath;

    private DashboardProcess(Process process, string url, string logPath)
    {
        _process = process;
        Url = url;
        _logPath = logPath;
    }

    public string Url { get; }

    public static async Task<DashboardProcess> StartAsync(string apiUrl, string tlsDirectory, string workDirectory, IReadOnlyDictionary<string, string>? settings = null)
    {
        var dll = Path.Combine(TestServers.RepoRoot, "src", "HohhotCluster.Telemetry.Dashboard", "bin", TestServers.Configuration, "net10.0", "hohhot-dashboard.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException("Build the solution first: the dashboard was not found", dll);
        }

        var url = $"https://127.0.0.1:{PlatformProcess.FreePort()}";
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        start.Environment["Dashboard__Url"] = url;
        start.Environment["Dashboard__ApiUrl"] = apiUrl;
        start.Environment["Dashboard__TlsCertificateFile"] = Path.Combine(tlsDirectory, "server.pem");
        start.Environment["Dashboard__TlsKeyFile"] = Path.Combine(tlsDirectory, "server.key");
        start.Environment["Dashboard__DataProtectionKeysDir"] = Directory.CreateDirectory(Path.Combine(workDirectory, "dashboard-keys")).FullName;
        start.Environment["Dashboard__LiveRefresh"] = "00:00:02";
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        var logPath = Path.Combine(workDirectory, "dashboard.log");
        var log = new StreamWriter(new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (log) { log.WriteLine(e.Data); } } };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var dashboard = new DashboardProcess(process, url, logPath);

        using var handler = new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator };
        using var http = new HttpClient(handler) { Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(90);
        while (true)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"The dashboard exited with {process.ExitCode} during start-up:\n{dashboard.LogTail()}");
            }

            try
            {
                using var reply = await http.GetAsync(url + "/login");
                if (reply.IsSuccessStatusCode)
                {
                    return dashboard;
                }
            }
            catch (Exception notYet) when (notYet is HttpRequestException or TaskCanceledException)
            {
                // not listening yet
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The dashboard did not answer /login within 90 s:\n{dashboard.LogTail()}");
            }

            await Task.Delay(250);
        }
    }

    public string LogTail(int lines = 60)
    {
        try
        {
            using var stream = new FileStream(_logPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return string.Join('\n', reader.ReadToEnd().Split('\n').TakeLast(lines));
        }
        catch (IOException)
        {
            return "";
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            using var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
            await kill.WaitForExitAsync();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            try
            {
                await _process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        _process.Dispose();
    }
}
