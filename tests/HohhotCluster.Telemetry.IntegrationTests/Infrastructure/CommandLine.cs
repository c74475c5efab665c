using System.Diagnostics;

namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>Runs one of the repository's own command-line programs (built beside the tests) as a user would.</summary>
public static class CommandLine
{
    public static async Task<(int ExitCode, string Output)> RunAsync(string projectDirectory, string assemblyName, params string[] args)
    {
        var dll = Path.Combine(TestServers.RepoRoot, projectDirectory, "bin", TestServers.Configuration, "net10.0", assemblyName + ".dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }
}
