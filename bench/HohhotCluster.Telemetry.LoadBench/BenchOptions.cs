using System.Globalization;

namespace HohhotCluster.Telemetry.LoadBench;

internal sealed class BenchOptions
{
    private readonly Dictionary<string, string> _values = new(StringComparer.Ordinal);

    public string Command { get; private set; } = "";

    public static BenchOptions Parse(string[] args)
    {
        var o = new BenchOptions { Command = args.Length > 0 ? args[0] : "" };
        for (var i = 1; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal))
            {
                throw new ArgumentException($"unexpected argument '{args[i]}'");
            }

            var key = args[i][2..];
            o._values[key] = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal) ? args[++i] : "true";
        }

        return o;
    }

    public string Get(string key) => _values.TryGetValue(key, out var v) ? v : throw new ArgumentException($"--{key} is required");

    public string Get(string key, string fallback) => _values.TryGetValue(key, out var v) ? v : fallback;

    public int GetInt(string key, int fallback) => _values.TryGetValue(key, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public bool Flag(string key) => _values.TryGetValue(key, out var v) && v == "true";
}
