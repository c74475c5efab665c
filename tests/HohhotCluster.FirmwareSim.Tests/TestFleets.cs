using System.Text.Json;
using HohhotCluster.FirmwareSim.Fleet;
using HohhotCluster.FirmwareSim.Publishing;
using HohhotCluster.FirmwareSim.Simulation;

namespace HohhotCluster.FirmwareSim.Tests;

internal static class TestFleets
{
    public static readonly DateTimeOffset Start = new(2026, 11, 29, 0, 0, 0, TimeSpan.FromHours(8));

    public static FleetModel Generate(string profile, long seed = 1) => FleetGenerator.Generate(FleetProfile.Load(profile), seed);

    /// <summary>The demo fleet with every seeded incident forced on its first day (antibiotic, cooling failure, winter aflatoxin, watered load, lead).</summary>
    public static FleetModel DemoWithEveryIncident(long seed)
    {
        var profile = FleetProfile.Load("demo");
        profile.Incidents.Forced = ["antibiotic", "cooling_failure", "aflatoxin", "watered_load", "lead"];
        return FleetGenerator.Generate(profile, seed);
    }

    /// <param name="warmupDays">Days simulated before the start and not published; null = the profile's.</param>
    public static List<OutboundMessage> Run(FleetModel fleet, TimeSpan duration, FaultOptions? faults = null, int? warmupDays = null)
    {
        var sink = new ListMessageSink();
        var options = new SimulationOptions { Start = Start, Duration = duration, Faults = faults ?? new FaultOptions(), WarmupDays = warmupDays };
        new SimulationRunner(fleet, options, TimeProvider.System).RunAsync(sink, CancellationToken.None).GetAwaiter().GetResult();
        return sink.Messages;
    }

    public static JsonElement Parse(OutboundMessage message)
    {
        using var document = JsonDocument.Parse(message.Payload);
        return document.RootElement.Clone();
    }

    /// <summary>X/shared/data beside the repository X/main: found by walking up, never hard-coded.</summary>
    public static string SharedDataDirectory()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            var candidate = Path.Combine(directory.FullName, "shared", "data");
            if (Directory.Exists(Path.Combine(candidate, "icar-ade")))
            {
                return candidate;
            }
        }
        throw new DirectoryNotFoundException($"no shared/data/icar-ade above {AppContext.BaseDirectory}");
    }

    public static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Directory.Packages.props")) && Directory.Exists(Path.Combine(directory.FullName, "firmware-sim")))
            {
                return directory.FullName;
            }
        }
        throw new DirectoryNotFoundException($"no repository root above {AppContext.BaseDirectory}");
    }
}
