using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.Cli;

/// <summary><c>hohhot series</c>: a time series for a chart, read from the retention policy that holds the range.</summary>
internal static class SeriesCommands
{
    private static readonly Dictionary<string, SeriesMetric> Metrics = new(StringComparer.Ordinal)
    {
        ["bulk-tank-temperature"] = SeriesMetric.BulkTankTemperatureC,
        ["bulk-tank-volume"] = SeriesMetric.BulkTankVolumeL,
        ["milk"] = SeriesMetric.MilkYieldKg,
        ["plant-intake"] = SeriesMetric.PlantIntakeKg,
        ["tmr-loaded"] = SeriesMetric.TmrLoadedKg,
    };

    public static async Task<int> RunAsync(GrpcChannel channel, Dictionary<string, string?> options, TextWriter stdout)
    {
        var metricName = CliCommands.Required(options, "metric");
        if (!Metrics.TryGetValue(metricName, out var metric))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, $"--metric must be one of {string.Join(", ", Metrics.Keys)}"));
        }

        var request = new GetSeriesRequest
        {
            Metric = metric,
            PastureId = options.GetValueOrDefault("pasture") ?? "",
            HerdId = options.GetValueOrDefault("herd") ?? "",
            TankId = options.GetValueOrDefault("tank") ?? "",
            PlantId = options.GetValueOrDefault("plant") ?? "",
            From = CliCommands.Required(options, "from"),
            To = options.GetValueOrDefault("to") ?? "",
            IntervalSeconds = Seconds(CliCommands.Required(options, "interval")),
            Aggregation = (options.GetValueOrDefault("aggregation") ?? "") switch
            {
                "" => SeriesAggregation.Unspecified,
                "sum" => SeriesAggregation.Sum,
                "mean" => SeriesAggregation.Mean,
                "min" => SeriesAggregation.Min,
                "max" => SeriesAggregation.Max,
                var other => throw new RpcException(new Status(StatusCode.InvalidArgument, $"--aggregation must be sum, mean, min or max, not '{other}'")),
            },
        };
        var client = new SeriesService.SeriesServiceClient(channel);
        if (options.ContainsKey("json"))
        {
            return await CliCommands.PrintAsync(stdout, client.GetSeriesAsync(request));
        }

        var series = await client.GetSeriesAsync(request);
        stdout.WriteLine($"{metricName} ({series.Aggregation.ToString().ToLowerInvariant()}, {series.Unit}) every {series.IntervalSeconds} s from {series.From} to {series.To}");
        stdout.WriteLine($"read from the {series.Policy} policy: {series.PolicyReason}");
        stdout.WriteLine($"{"start",-30} {"value",14} {"readings",9}");
        foreach (var point in series.Points)
        {
            stdout.WriteLine($"{point.Start,-30} {point.Value.ToString("0.###", CultureInfo.InvariantCulture),14} {point.Count,9}");
        }

        return 0;
    }

    /// <summary>An interval as seconds: "90", "90s", "15m", "1h" or "1d".</summary>
    internal static long Seconds(string text)
    {
        var (number, unit) = text.Length > 0 && char.IsLetter(text[^1]) ? (text[..^1], text[^1]) : (text, 's');
        var factor = unit switch { 's' => 1L, 'm' => 60L, 'h' => 3600L, 'd' => 86400L, _ => 0L };
        return factor > 0 && long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0
            ? n * factor
            : throw new RpcException(new Status(StatusCode.InvalidArgument, $"--interval must be a number of seconds or end in s, m, h or d (e.g. 15m, 1h), not '{text}'"));
    }
}
