using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.TimeSeries;

/// <summary>A sum over time read from InfluxDB: which retention policy answered, and one value per bucket.</summary>
public sealed record SeriesSum(string Policy, TimeSpan Bucket, IReadOnlyList<(DateTimeOffset Start, double Sum)> Buckets);

/// <summary>How a bucket's readings are combined into its value.</summary>
public enum SeriesAggregate
{
    Sum,
    Mean,
    Min,
    Max,
}

/// <summary>One bucket of a series: its start, its value and how many raw readings it holds.</summary>
public readonly record struct SeriesBucket(DateTimeOffset Start, double Value, long Count);

/// <summary>A series read from one retention policy, with the reason that policy was chosen.</summary>
public sealed record SeriesRead(string Policy, string Reason, TimeSpan Bucket, IReadOnlyList<SeriesBucket> Buckets);

/// <summary>The policy that holds a range, why, and the finest bucket it can answer.</summary>
public readonly record struct PolicyChoice(string Policy, string Reason, TimeSpan Resolution);

/// <summary>
/// Reads a field's sums per time bucket from the retention policy that holds the range asked at the least cost
/// (<see cref="ChoosePolicy"/>): raw points for a short recent range, the hourly aggregates (field <c>sum_{field}</c>)
/// for a longer one or one older than the raw points, the daily aggregates (China Standard Time days) beyond.
/// </summary>
public sealed class InfluxSeriesReader(InfluxRetention retention, IOptions<InfluxRetentionOptions> options, TimeProvider clock)
{
    /// <summary>The policy for [from, to) asked at <paramref name="now"/>: the finest that still holds all of it and is not too fine for its span.</summary>
    public static string ChoosePolicy(DateTimeOffset from, DateTimeOffset to, DateTimeOffset now, InfluxRetentionOptions options) =>
        Choose(from, to, now, options).Policy;

    /// <summary><see cref="ChoosePolicy"/> with the reason in words and the policy's resolution (1 s, an hour, a day).</summary>
    public static PolicyChoice Choose(DateTimeOffset from, DateTimeOffset to, DateTimeOffset now, InfluxRetentionOptions options)
    {
        var span = to - from;
        var withinRaw = from >= now - options.Raw;
        if (withinRaw && span <= options.RawQueryMaxSpan)
        {
            return new(InfluxRetention.RawPolicy,
                $"raw points: the range starts within their retention ({Words(options.Raw)}) and spans {Words(span)}, at most {Words(options.RawQueryMaxSpan)}",
                TimeSpan.FromSeconds(1));
        }

        var notRaw = withinRaw
            ? $"spans {Words(span)}, more than the {Words(options.RawQueryMaxSpan)} raw points are read for"
            : $"starts before the raw points' retention ({Words(options.Raw)})";
        if (from >= now - options.Hourly && span <= options.HourlyQueryMaxSpan)
        {
            return new(InfluxRetention.HourlyPolicy, $"hourly aggregates: the range {notRaw}", TimeSpan.FromHours(1));
        }

        var notHourly = from >= now - options.Hourly
            ? $"spans {Words(span)}, more than the {Words(options.HourlyQueryMaxSpan)} hourly aggregates are read for"
            : $"starts before the hourly aggregates' retention ({Words(options.Hourly)})";
        return new(InfluxRetention.DailyPolicy, $"daily aggregates (China Standard Time days): the range {notHourly}", TimeSpan.FromDays(1));
    }

    /// <summary>
    /// Sum of <paramref name="field"/> of <paramref name="measurement"/> per bucket over [from, to), with an optional
    /// tag filter. The bucket is at least the policy's resolution (an hour, a day).
    /// </summary>
    public async Task<SeriesSum> SumAsync(string measurement, string field, DateTimeOffset from, DateTimeOffset to, TimeSpan bucket,
        (string Tag, string Value)? where, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(to, from);
        var choice = Choose(from, to, clock.GetUtcNow(), options.Value);
        var size = bucket < choice.Resolution ? choice.Resolution : TimeSpan.FromTicks(bucket.Ticks - (bucket.Ticks % choice.Resolution.Ticks));
        var read = await ReadAsync(choice, measurement, field, SeriesAggregate.Sum, from, to, size, where is { } w ? [w] : [], cancellationToken);
        return new SeriesSum(read.Policy, read.Bucket, read.Buckets.Select(b => (b.Start, b.Value)).ToList());
    }

    /// <summary>The policy <see cref="ReadAsync(PolicyChoice, string, string, SeriesAggregate, DateTimeOffset, DateTimeOffset, TimeSpan, IReadOnlyList{ValueTuple{string, string}}, CancellationToken)"/> would read now.</summary>
    public PolicyChoice Choose(DateTimeOffset from, DateTimeOffset to) => Choose(from, to, clock.GetUtcNow(), options.Value);

    /// <summary>
    /// <paramref name="aggregate"/> of <paramref name="field"/> per bucket of <paramref name="bucket"/> (a whole multiple
    /// of the policy's resolution) over [from, to), from the policy chosen, for the points whose tags equal every
    /// <paramref name="where"/> pair. From the aggregates: a sum is the sum of the stored sums, a mean the stored sums
    /// over the stored counts (never a mean of means), a minimum or maximum that of the stored ones. Buckets without a
    /// reading are left out (<c>fill(none)</c>); buckets of whole days are China Standard Time days.
    /// </summary>
    public async Task<SeriesRead> ReadAsync(PolicyChoice choice, string measurement, string field, SeriesAggregate aggregate,
        DateTimeOffset from, DateTimeOffset to, TimeSpan bucket, IReadOnlyList<(string Tag, string Value)> where, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(to, from);
        if (bucket < choice.Resolution || bucket.Ticks % choice.Resolution.Ticks != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(bucket), bucket, $"A bucket of the {choice.Policy} policy is a whole multiple of {choice.Resolution}.");
        }

        var raw = choice.Policy == InfluxRetention.RawPolicy;
        string Column(string prefix) => InfluxRetention.Identifier(raw ? field : prefix + "_" + field);
        var f = InfluxRetention.Identifier(field);
        var (value, count) = (aggregate, raw) switch
        {
            (SeriesAggregate.Sum, true) => ($"sum({f})", $"count({f})"),
            (SeriesAggregate.Mean, true) => ($"mean({f})", $"count({f})"),
            (SeriesAggregate.Min, true) => ($"min({f})", $"count({f})"),
            (SeriesAggregate.Max, true) => ($"max({f})", $"count({f})"),
            (SeriesAggregate.Sum or SeriesAggregate.Mean, false) => ($"sum({Column("sum")})", $"sum({Column("count")})"),
            (SeriesAggregate.Min, false) => ($"min({Column("min")})", $"sum({Column("count")})"),
            (SeriesAggregate.Max, false) => ($"max({Column("max")})", $"sum({Column("count")})"),
            _ => throw new ArgumentOutOfRangeException(nameof(aggregate), aggregate, null),
        };
        var filter = new StringBuilder();
        foreach (var (tag, text) in where)
        {
            filter.Append(" AND ").Append(InfluxRetention.Identifier(tag)).Append(" = '")
                .Append(text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal)).Append('\'');
        }

        // A bucket of whole days starts at midnight China Standard Time (16:00 UTC), as the daily aggregates do.
        var offset = bucket.Ticks % TimeSpan.TicksPerDay == 0 ? ", -8h" : "";
        var statement =
            $"SELECT {value}, {count} FROM {InfluxRetention.Identifier(choice.Policy)}.{InfluxRetention.Identifier(measurement)}" +
            $" WHERE time >= {Milliseconds(from)}ms AND time < {Milliseconds(to)}ms{filter}" +
            $" GROUP BY time({((long)bucket.TotalSeconds).ToString(CultureInfo.InvariantCulture)}s{offset}) fill(none)";
        var reply = await retention.ExecuteAsync(statement, cancellationToken);
        var buckets = new List<SeriesBucket>();
        var result = reply.GetProperty("results")[0];
        if (result.TryGetProperty("series", out var series))
        {
            foreach (var row in series[0].GetProperty("values").EnumerateArray())
            {
                if (row[1].ValueKind != JsonValueKind.Number)
                {
                    continue;
                }

                var n = row[2].ValueKind == JsonValueKind.Number ? (long)row[2].GetDouble() : 0;
                var v = row[1].GetDouble();
                if (aggregate == SeriesAggregate.Mean && !raw)
                {
                    if (n == 0)
                    {
                        continue;
                    }

                    v /= n;
                }

                buckets.Add(new SeriesBucket(DateTimeOffset.Parse(row[0].GetString()!, CultureInfo.InvariantCulture), v, n));
            }
        }

        return new SeriesRead(choice.Policy, choice.Reason, bucket, buckets);
    }

    private static string Words(TimeSpan span) =>
        span.Ticks % TimeSpan.TicksPerDay == 0 ? $"{span.TotalDays.ToString(CultureInfo.InvariantCulture)} days"
        : span.Ticks % TimeSpan.TicksPerHour == 0 ? $"{span.TotalHours.ToString(CultureInfo.InvariantCulture)} h"
        : $"{span.TotalHours.ToString("0.##", CultureInfo.InvariantCulture)} h";

    private static string Milliseconds(DateTimeOffset time) => time.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
}
