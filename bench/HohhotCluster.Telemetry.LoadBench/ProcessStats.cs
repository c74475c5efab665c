using System.Globalization;

namespace HohhotCluster.Telemetry.LoadBench;

/// <summary>CPU seconds and memory of processes, read from /proc (dotnet-counters is not available here).</summary>
internal static class ProcessStats
{
    // USER_HZ: 100 on every Linux this runs on (sysconf(_SC_CLK_TCK)).
    private const double TicksPerSecond = 100.0;

    /// <summary>utime + stime of the process (and, with <paramref name="withReapedChildren"/>, of its exited, reaped children).</summary>
    public static double CpuSeconds(int pid, bool withReapedChildren = false)
    {
        var fields = StatFields(pid);
        if (fields is null)
        {
            return double.NaN;
        }

        long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        if (withReapedChildren)
        {
            ticks += long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture);
        }

        return ticks / TicksPerSecond;
    }

    /// <summary>A process tree's CPU: the root (with its reaped children) plus every live child, e.g. the postmaster and its backends.</summary>
    public static double TreeCpuSeconds(int rootPid)
    {
        var total = CpuSeconds(rootPid, withReapedChildren: true);
        foreach (var child in ChildrenOf(rootPid))
        {
            var c = CpuSeconds(child);
            if (!double.IsNaN(c))
            {
                total += c;
            }
        }

        return total;
    }

    /// <summary>CPU of the process's exited children it has waited for (cutime + cstime), e.g. a finished hohhot-sim.</summary>
    public static double ReapedChildrenCpuSeconds(int pid)
    {
        var fields = StatFields(pid);
        return fields is null ? double.NaN
            : (long.Parse(fields[13], CultureInfo.InvariantCulture) + long.Parse(fields[14], CultureInfo.InvariantCulture)) / TicksPerSecond;
    }

    public static List<int> ChildrenOf(int parent)
    {
        var children = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
            {
                continue;
            }

            var fields = StatFields(pid);
            if (fields is not null && fields[1] == parent.ToString(CultureInfo.InvariantCulture))
            {
                children.Add(pid);
            }
        }

        return children;
    }

    /// <summary>VmRSS and VmHWM (peak) in MiB.</summary>
    public static (double RssMiB, double PeakMiB) Memory(int pid)
    {
        double rss = double.NaN, peak = double.NaN;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/status"))
            {
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                {
                    rss = Kb(line) / 1024.0;
                }
                else if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                {
                    peak = Kb(line) / 1024.0;
                }
            }
        }
        catch (IOException)
        {
        }

        return (rss, peak);
    }

    /// <summary>Bytes the process caused to be written to storage, and its write system calls (/proc/PID/io).</summary>
    public static (long WriteBytes, long WriteCalls) Io(int pid)
    {
        long bytes = -1, calls = -1;
        try
        {
            foreach (var line in File.ReadLines($"/proc/{pid}/io"))
            {
                if (line.StartsWith("write_bytes:", StringComparison.Ordinal))
                {
                    bytes = long.Parse(line.AsSpan(12).Trim(), CultureInfo.InvariantCulture);
                }
                else if (line.StartsWith("syscw:", StringComparison.Ordinal))
                {
                    calls = long.Parse(line.AsSpan(6).Trim(), CultureInfo.InvariantCulture);
                }
            }
        }
        catch (IOException)
        {
        }

        return (bytes, calls);
    }

    public static string LoadAverage()
    {
        try
        {
            var parts = File.ReadAllText("/proc/loadavg").Split(' ');
            return $"{parts[0]} {parts[1]} {parts[2]}";
        }
        catch (IOException)
        {
            return "?";
        }
    }

    public static int? ReadPidFile(string path)
    {
        try
        {
            var first = File.ReadLines(path).FirstOrDefault();
            return int.TryParse(first?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid) && Directory.Exists($"/proc/{pid}") ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static double Kb(string line) =>
        double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);

    /// <summary>Fields after "(comm) ": [0] state, [1] ppid, ... [11] utime, [12] stime, [13] cutime, [14] cstime.</summary>
    private static string[]? StatFields(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var close = stat.LastIndexOf(')');
            return stat[(close + 2)..].Split(' ');
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}

/// <summary>The processes whose CPU a measurement charges, sampled together.</summary>
internal sealed class CpuMeter
{
    private readonly List<(string Name, Func<double> Read)> _sources = [];

    public void Add(string name, Func<double> read) => _sources.Add((name, read));

    public IReadOnlyList<string> Names => _sources.ConvertAll(s => s.Name);

    public double[] Sample()
    {
        var values = new double[_sources.Count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = _sources[i].Read();
        }

        return values;
    }

    public static double[] Delta(double[] before, double[] after)
    {
        var d = new double[before.Length];
        for (var i = 0; i < d.Length; i++)
        {
            d[i] = after[i] - before[i];
        }

        return d;
    }
}
