namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>hohhot-sim (firmware-sim), run as a user would, against a platform under test.</summary>
public static class Simulator
{
    /// <summary>
    /// Every kind but <c>animal_event</c> (issue 17): for a platform without the animal registry (release 0.14), and a
    /// second run of one seed on one platform (the simulator starts each run from the generated herd, so a second run's
    /// births would repeat the first's ear tags).
    /// </summary>
    public const string KindsWithoutAnimals = "milking,bulk_tank,plant_intake,tanker_pickup,silo_transfer,production,quality,manure,health,tmr,feed_stock,tanker_log";

    public static Task<(int ExitCode, string Output)> RunAsync(params string[] args) =>
        CommandLine.RunAsync(Path.Combine("firmware-sim", "HohhotCluster.FirmwareSim"), "hohhot-sim", args);

    /// <summary>Runs a command that must succeed.</summary>
    public static async Task RequireAsync(params string[] args)
    {
        var (exitCode, output) = await RunAsync(args);
        Assert.True(exitCode == 0, $"hohhot-sim {args[0]} exited {exitCode}:\n{output}");
    }

    /// <summary>
    /// Registers a profile's fleet with the platform; <c>register</c> also issues each gateway's credential (the sim's
    /// derived password) in the platform's registry, which the platform's MQTT endpoint checks at login.
    /// <paramref name="workDirectory"/> is no longer needed (the credentials went to the broker through a file) and is
    /// kept so callers stay as they are.
    /// </summary>
    public static async Task RegisterFleetAsync(string profile, string seed, PlatformProcess platform, string workDirectory) =>
        await RequireAsync("register", "--profile", profile, "--seed", seed, "--api", platform.ApiUrl, "--api-token", await platform.OperatorTokenAsync());

    /// <summary>
    /// Publishes one China day of the demo profile's readings into <paramref name="platform"/> over MQTT (boot epoch
    /// now), recording them in <paramref name="ledger"/>, with <paramref name="more"/> options; the run must succeed.
    /// </summary>
    public static Task RunDemoDayAsync(PlatformProcess platform, string seed, DateOnly day, string ledger, string spool, params string[] more) =>
        RequireAsync(["run", "--profile", "demo", "--seed", seed, "--start", day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture) + "T00:00:00+08:00",
            "--duration", "1d", "--boot-epoch", "now", "--mqtt", $"mqtt://127.0.0.1:{platform.MqttPort}", "--ledger", ledger, "--spool", spool, .. more]);

    /// <summary>
    /// Runs <c>hohhot-sim verify</c> against the platform until it finds no difference (up to a minute: the last
    /// PUBACKs may still be on their way to the ledger's readers); returns the last exit code and output.
    /// </summary>
    /// <param name="profile">With a profile, verify also fails when a kind it promises is absent.</param>
    public static async Task<(int ExitCode, string Output)> VerifyAsync(string ledger, PlatformProcess platform, string? profile = null)
    {
        var (exitCode, output) = (1, "");
        for (var attempt = 0; attempt < 30 && exitCode != 0; attempt++)
        {
            await Task.Delay(attempt == 0 ? 500 : 2000);
            string[] arguments = ["verify", "--ledger", ledger, "--api", $"http://127.0.0.1:{platform.ApiPort}",
                "--api-token", await platform.OperatorTokenAsync(), "--influx", platform.InfluxUrl, "--db", platform.InfluxDatabase];
            (exitCode, output) = await RunAsync(profile is null ? arguments : [.. arguments, "--profile", profile]);
        }

        return (exitCode, output);
    }
}
