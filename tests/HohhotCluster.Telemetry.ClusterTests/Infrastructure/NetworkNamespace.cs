using System.Diagnostics;
using System.Globalization;

namespace HohhotCluster.Telemetry.ClusterTests.Infrastructure;

/// <summary>
/// A Linux network namespace this test creates, joined to the test's own namespace by a veth pair with a /30 of
/// private addresses (<see cref="OutsideAddress"/> on this side, <see cref="InsideAddress"/> inside). A host started in
/// it is reached only through the veth, so iptables DROP inside the namespace (<see cref="PartitionAsync"/>) cuts it
/// off from everything: the other hosts, HAProxy, PostgreSQL and InfluxDB. Disposing deletes the namespace, which
/// takes its veth end, its iptables rules and the other end of the pair with it.
/// </summary>
public sealed class NetworkNamespace : IAsyncDisposable
{
    private NetworkNamespace(string name, string outsideInterface, string insideInterface, string outside, string inside)
    {
        Name = name;
        OutsideInterface = outsideInterface;
        InsideInterface = insideInterface;
        OutsideAddress = outside;
        InsideAddress = inside;
    }

    public string Name { get; }
    public string OutsideInterface { get; }
    public string InsideInterface { get; }
    public string OutsideAddress { get; }
    public string InsideAddress { get; }

    /// <summary>Creates the namespace and its veth pair; throws with the command's own words when the sandbox forbids it.</summary>
    public static async Task<NetworkNamespace> CreateAsync()
    {
        var tag = Guid.NewGuid().ToString("N")[..6];
        // 10.213.x.y/30: x and the /30 from the tag, so two tests at once take different subnets.
        var third = Convert.ToInt32(tag[..2], 16);
        var fourth = Convert.ToInt32(tag[2..4], 16) / 4 * 4;
        var outside = string.Create(CultureInfo.InvariantCulture, $"10.213.{third}.{fourth + 1}");
        var inside = string.Create(CultureInfo.InvariantCulture, $"10.213.{third}.{fourth + 2}");
        var space = new NetworkNamespace("hohhot-" + tag, "hh" + tag + "o", "hh" + tag + "i", outside, inside);
        try
        {
            await RunAsync("ip", "netns", "add", space.Name);
            await RunAsync("ip", "link", "add", space.OutsideInterface, "type", "veth", "peer", "name", space.InsideInterface);
            await RunAsync("ip", "link", "set", space.InsideInterface, "netns", space.Name);
            await RunAsync("ip", "addr", "add", outside + "/30", "dev", space.OutsideInterface);
            await RunAsync("ip", "link", "set", space.OutsideInterface, "up");
            await space.ExecAsync("ip", "addr", "add", inside + "/30", "dev", space.InsideInterface);
            await space.ExecAsync("ip", "link", "set", space.InsideInterface, "up");
            await space.ExecAsync("ip", "link", "set", "lo", "up");
            // iptables is needed later; find out now that it runs here.
            await space.ExecAsync("iptables", "-L", "-n");
        }
        catch
        {
            await space.DisposeAsync();
            throw;
        }

        return space;
    }

    /// <summary>Drops every packet in and out of the namespace's veth end: the host inside is cut off from all others.</summary>
    public async Task PartitionAsync()
    {
        await ExecAsync("iptables", "-I", "INPUT", "-i", InsideInterface, "-j", "DROP");
        await ExecAsync("iptables", "-I", "OUTPUT", "-o", InsideInterface, "-j", "DROP");
    }

    /// <summary>Removes the DROP rules <see cref="PartitionAsync"/> added.</summary>
    public async Task HealAsync()
    {
        await ExecAsync("iptables", "-D", "INPUT", "-i", InsideInterface, "-j", "DROP");
        await ExecAsync("iptables", "-D", "OUTPUT", "-o", InsideInterface, "-j", "DROP");
    }

    /// <summary>The namespace's iptables rules, as iptables -S prints them.</summary>
    public Task<string> RulesAsync() => ExecAsync("iptables", "-S");

    public Task<string> ExecAsync(params string[] command) => RunAsync(["ip", "netns", "exec", Name, .. command]);

    public async ValueTask DisposeAsync()
    {
        // Deleting the namespace deletes its veth end, so the pair and the addresses go; its iptables rules go with it.
        await TryAsync("ip", "netns", "del", Name);
        await TryAsync("ip", "link", "del", OutsideInterface);
    }

    private static async Task TryAsync(params string[] command)
    {
        try
        {
            await RunAsync(command);
        }
        catch (InvalidOperationException)
        {
            // Already gone (the pair goes with the namespace).
        }
    }

    private static async Task<string> RunAsync(params string[] command)
    {
        var start = new ProcessStartInfo(command[0]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in command.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{command[0]} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await process.WaitForExitAsync(deadline.Token);
        var text = await stdout + await stderr;
        return process.ExitCode == 0
            ? text
            : throw new InvalidOperationException($"`{string.Join(' ', command)}` exited {process.ExitCode}: {text.Trim()}");
    }
}
