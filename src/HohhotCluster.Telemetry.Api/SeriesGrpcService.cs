using System.Globalization;
using Grpc.Core;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Protos.V1;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.TimeSeries;

namespace HohhotCluster.Telemetry.Api;

/// <summary>
/// Time series for charts from InfluxDB (<see cref="InfluxSeriesReader"/>): a pasture's bulk tanks, a pasture's or
/// herd's milk, a plant's intake, a pasture's TMR mixer loads, for a scope the caller sees (else NOT_FOUND, as an
/// unregistered one), over [from, to) in buckets of interval_seconds, read from the retention policy that holds the
/// range; the answer names the policy and why.
/// </summary>
public sealed class SeriesGrpcService(InfluxSeriesReader reader, RegistryStore registry, KnownScopes scopes, TimeProvider clock)
    : SeriesService.SeriesServiceBase
{
    /// <summary>The most buckets one answer holds: a range longer than this many intervals is refused.</summary>
    public const int MaxBuckets = 5000;

    /// <summary>What each metric reads: measurement, field, unit, whether it is a quantity (summable), and a fixed tag filter.</summary>
    private sealed record MetricShape(string Measurement, string Field, string Unit, bool Quantity, (string Tag, string Value)? Fixed);

    private static readonly Dictionary<SeriesMetric, MetricShape> Shapes = new()
    {
        [SeriesMetric.BulkTankTemperatureC] = new("bulk_tank", "temperature_c", "degC", false, null),
        [SeriesMetric.BulkTankVolumeL] = new("bulk_tank", "volume_l", "L", false, ("event", "level")),
        [SeriesMetric.MilkYieldKg] = new("milking", "yield_kg", "kg", true, null),
        [SeriesMetric.PlantIntakeKg] = new("plant_intake", "net_kg", "kg", true, null),
        [SeriesMetric.TmrLoadedKg] = new("tmr", "loaded_kg", "kg", true, ("event", "load")),
    };

    public override async Task<Series> GetSeries(GetSeriesRequest request, ServerCallContext context)
    {
        if (!Shapes.TryGetValue(request.Metric, out var shape))
        {
            throw Invalid("metric is required: one of " + string.Join(", ", Shapes.Keys.Select(k => MetricName(k))) + ".");
        }

        var aggregation = request.Aggregation switch
        {
            SeriesAggregation.Unspecified => shape.Quantity ? SeriesAggregation.Sum : SeriesAggregation.Mean,
            SeriesAggregation.Sum when !shape.Quantity => throw Invalid($"aggregation SUM is not meaningful for {MetricName(request.Metric)} (a level, not a quantity); ask MEAN, MIN or MAX."),
            var a and (SeriesAggregation.Sum or SeriesAggregation.Mean or SeriesAggregation.Min or SeriesAggregation.Max) => a,
            _ => throw Invalid("aggregation must be SUM, MEAN, MIN or MAX."),
        };

        var now = clock.GetUtcNow();
        var from = RequestValues.OptionalTime(request.From, "from") ?? throw Invalid("from is required (RFC 3339).");
        var to = RequestValues.OptionalTime(request.To, "to") ?? now;
        if (to <= from)
        {
            throw Invalid("to must be after from.");
        }

        if (request.IntervalSeconds <= 0)
        {
            throw Invalid("interval_seconds is required and positive.");
        }

        var interval = TimeSpan.FromSeconds(request.IntervalSeconds);
        var choice = reader.Choose(from, to);
        if (interval < choice.Resolution || interval.Ticks % choice.Resolution.Ticks != 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument,
                $"interval_seconds {request.IntervalSeconds} does not fit the {choice.Policy} policy this range is read from ({choice.Reason}): " +
                $"ask a whole multiple of {(long)choice.Resolution.TotalSeconds} s, or a shorter, more recent range."));
        }

        var buckets = (long)Math.Ceiling((to - from).Ticks / (double)interval.Ticks);
        if (buckets > MaxBuckets)
        {
            var least = (long)Math.Ceiling((to - from).TotalSeconds / MaxBuckets / choice.Resolution.TotalSeconds) * (long)choice.Resolution.TotalSeconds;
            throw Invalid($"The range from {RequestValues.UtcText(from)} to {RequestValues.UtcText(to)} is {buckets} intervals of interval_seconds {request.IntervalSeconds}, " +
                $"more than {MaxBuckets}; ask interval_seconds {least} or more, or a shorter range.");
        }

        var where = new List<(string Tag, string Value)>();
        await ScopeAsync(request, where, context);
        if (shape.Fixed is { } fixedTag)
        {
            where.Add(fixedTag);
        }

        var aggregate = aggregation switch
        {
            SeriesAggregation.Sum => SeriesAggregate.Sum,
            SeriesAggregation.Min => SeriesAggregate.Min,
            SeriesAggregation.Max => SeriesAggregate.Max,
            _ => SeriesAggregate.Mean,
        };
        var read = await reader.ReadAsync(choice, shape.Measurement, shape.Field, aggregate, from, to, interval, where, context.CancellationToken);
        var reply = new Series
        {
            Metric = request.Metric,
            Aggregation = aggregation,
            Unit = shape.Unit,
            Policy = read.Policy,
            PolicyReason = read.Reason,
            IntervalSeconds = (long)read.Bucket.TotalSeconds,
            From = ChinaText(from),
            To = ChinaText(to),
        };
        reply.Points.AddRange(read.Buckets.Select(b => new SeriesPoint { Start = ChinaText(b.Start), Value = b.Value, Count = b.Count }));
        return reply;
    }

    /// <summary>The tag filter of the scope asked, once the caller is known to see it; fields that do not belong to the metric are refused.</summary>
    private async Task ScopeAsync(GetSeriesRequest request, List<(string Tag, string Value)> where, ServerCallContext context)
    {
        var caller = context.Caller();
        var ct = context.CancellationToken;
        var metric = MetricName(request.Metric);
        void Forbid(string field, string value)
        {
            if (value.Length > 0)
            {
                throw Invalid($"{field} does not apply to {metric}.");
            }
        }

        switch (request.Metric)
        {
            case SeriesMetric.PlantIntakeKg:
                Forbid("pasture_id", request.PastureId);
                Forbid("herd_id", request.HerdId);
                Forbid("tank_id", request.TankId);
                if (request.PlantId.Length == 0)
                {
                    throw Invalid($"plant_id is required for {metric}.");
                }

                await scopes.RequireAsync(caller, ScopeKind.Plant, request.PlantId, ct);
                where.Add(("plant", request.PlantId));
                return;

            case SeriesMetric.BulkTankTemperatureC or SeriesMetric.BulkTankVolumeL:
                Forbid("plant_id", request.PlantId);
                Forbid("herd_id", request.HerdId);
                await PastureAsync(request.PastureId, metric, caller, ct);
                where.Add(("pasture", request.PastureId));
                if (request.TankId.Length > 0)
                {
                    where.Add(("tank", request.TankId));
                }

                return;

            default:
                Forbid("plant_id", request.PlantId);
                Forbid("tank_id", request.TankId);
                if (request.HerdId.Length > 0)
                {
                    Forbid("pasture_id", request.PastureId);
                    // A herd is seen through its pasture; one the caller may not see is answered as an unknown one.
                    var herd = await registry.FindHerdAsync(request.HerdId, ct);
                    if (herd is null || !await scopes.SeesAsync(caller, ScopeKind.Pasture, herd.PastureId, ct))
                    {
                        throw new RpcException(new Status(StatusCode.NotFound, $"No herd '{TextLimits.Shorten(request.HerdId, 64)}' is registered that you may see."));
                    }

                    where.Add(("pasture", herd.PastureId));
                    where.Add(("herd", herd.Id));
                    return;
                }

                await PastureAsync(request.PastureId, metric, caller, ct);
                where.Add(("pasture", request.PastureId));
                return;
        }
    }

    private async Task PastureAsync(string pastureId, string metric, Identity.Caller caller, CancellationToken ct)
    {
        if (pastureId.Length == 0)
        {
            throw Invalid($"pasture_id is required for {metric}.");
        }

        await scopes.RequireAsync(caller, ScopeKind.Pasture, pastureId, ct);
    }

    private static string MetricName(SeriesMetric metric) => metric switch
    {
        SeriesMetric.BulkTankTemperatureC => "SERIES_METRIC_BULK_TANK_TEMPERATURE_C",
        SeriesMetric.BulkTankVolumeL => "SERIES_METRIC_BULK_TANK_VOLUME_L",
        SeriesMetric.MilkYieldKg => "SERIES_METRIC_MILK_YIELD_KG",
        SeriesMetric.PlantIntakeKg => "SERIES_METRIC_PLANT_INTAKE_KG",
        SeriesMetric.TmrLoadedKg => "SERIES_METRIC_TMR_LOADED_KG",
        _ => metric.ToString(),
    };

    private static string ChinaText(DateTimeOffset time) =>
        time.ToOffset(ChinaTime.Offset).ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture);

    private static RpcException Invalid(string detail) => new(new Status(StatusCode.InvalidArgument, detail));
}
