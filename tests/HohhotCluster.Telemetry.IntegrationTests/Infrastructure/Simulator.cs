namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>hohhot-sim (firmware-sim), run as a user would, against a platform under test.</summary>
public static class Simulator
{
    public static Task<(int ExitCode, string Output)> RunAsync(params string[] args) =>
        CommandLine.RunAsync(Path.Combine("firmware-sim", "HohhotCluster.FirmwareSim"), "hohhot-sim", args);

    /// <summary>Runs a command that must succeed.</summary>
    public static async Task RequireAsync(params string[] args)
    {
        var (exitCode, output) = await RunAsync(args);
        Assert.True(exitCode == 0, $"hohhot-sim {args[0]} exited {exitCode}:\n{output}");
    }

    /// <summary>Registers a profile's fleet with the platform and its gateways' credentials with the broker.</summary>
    public static async Task RegisterFleetAsync(string profile, string seed, PlatformProcess platform, string workDirectory)
    {
        await RequireAsync("register", "--profile", profile, "--seed", seed, "--api", platform.ApiUrl, "--api-token", await platform.OperatorTokenAsync());
        var credentials = Path.Combine(workDirectory, "credentials.txt");
        await RequireAsync("credentials", "--profile", profile, "--seed", seed, "--out", credentials);
        foreach (var line in await File.ReadAllLinesAsync(credentials))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            await TestFleet.AddBrokerUserAsync(parts[0], parts[1]);
        }
    }
}
