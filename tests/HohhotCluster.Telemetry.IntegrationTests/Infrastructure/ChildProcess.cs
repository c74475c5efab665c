using System.Diagnostics;

namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>Runs a program (the deploy scripts, mount) to its end and returns its exit code and all it printed.</summary>
public static class ChildProcess
{
    public static async Task<(int ExitCode, string Output)> RunAsync(
        string program, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null, IEnumerable<string>? withoutVariables = null)
    {
        var start = new ProcessStartInfo(program, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var name in withoutVariables ?? [])
        {
            start.Environment.Remove(name);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return (process.ExitCode, await output + await errors);
    }

    /// <summary>Runs a script of <c>deploy/</c> that must succeed.</summary>
    public static async Task<string> RequireDeployScriptAsync(string script, IEnumerable<string> arguments, IReadOnlyDictionary<string, string>? environment = null)
    {
        var all = arguments.ToList();
        var (exitCode, output) = await RunAsync("bash", [Path.Combine(TestServers.RepoRoot, "deploy", script), .. all], environment);
        Assert.True(exitCode == 0, $"{script} {string.Join(' ', all)} exited {exitCode}:\n{output}");
        return output;
    }
}
