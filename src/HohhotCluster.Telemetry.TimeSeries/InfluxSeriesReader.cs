using System.Globalization;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.TimeSeries;

/// <summary>A sum over time read from InfluxDB: which retention policy answered, and one value per bucket.</summary>
public sealed record SeriesSum(string Policy, TimeSpan Bucket, IReadOnlyList<(DateTimeOffset Start, double Sum)> Buckets);

/// <summary>
/// Reads a field's sums per time bucket from the retention policy that holds the range asked at the least cost
/// (<see cref="ChoosePolicy"/>): raw points for a short recent range, the hourly aggregates (field <c>sum_{field}</c>)
/// for a longer one or one older than the raw points, the daily aggregates (China Standard Time days) beyond.
/// </summary>
public sealed class InfluxSeriesReader(InfluxRetention retention, IOptions<InfluxRetentionOptions> options, TimeProvider clock)
{
    /// <summary>The policy for [from, to) asked at <paramref name="now"/>: the finest that still holds all of it and is not too fine for its span.</summary>
    public static string ChoosePolicy(DateTimeOffset from, DateTimeOffset to, DateTimeOffset now, InfluxRetentionOptions options)
    {
        var span = to - from;
        if (from >= now - options.Raw && span <= options.RawQueryMaxSpan)
        {
            return InfluxRetention.RawPolicy;
        }

        return from >= now - options.Hourly && span <= options.HourlyQueryMaxSpan ? InfluxRetention.HourlyPolicy : InfluxRetention.DailyPolicy;
    }

    /// <summary>
    /// Sum of <paramref name="field"/> of <paramref name="measurement"/> per bucket over [from, to), with an optional
    /// tag filter. The bucket is at least the policy's resolution (an hour, a day).
    /// </summary>
    public async Task<SeriesSum> SumAsync(string measurement, string field, DateTimeOffset from, DateTimeOffset to, TimeSpan bucket,
        (string Tag, string Value)? where, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(to, from);
        var policy = ChoosePolicy(from, to, clock.GetUtcNow(), options.Value);
        var (column, minimum, offset) = policy switch
        {
            InfluxRetention.RawPolicy => (field, TimeSpan.FromSeconds(1), ""),
            InfluxRetention.HourlyPolicy => ("sum_" + field, TimeSpan.FromHours(1), ""),
            _ => ("sum_" + field, TimeSpan.FromDays(1), ", -8h"),
        };
        var size = bucket < minimum ? minimum : TimeSpan.FromTicks(bucket.Ticks - (bucket.Ticks % minimum.Ticks));
        var filter = where is { } w ? $" AND {InfluxRetention.Identifier(w.Tag)} = '{w.Value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal)}'" : "";
        var statement =
            $"SELECT sum({InfluxRetention.Identifier(column)}) FROM {InfluxRetention.Identifier(policy)}.{InfluxRetention.Identifier(measurement)}" +
            $" WHERE time >= {Milliseconds(from)}ms AND time < {Milliseconds(to)}ms{filter}" +
            $" GROUP BY time({((long)size.TotalSeconds).ToString(CultureInfo.InvariantCulture)}s{offset})";
        var reply = await retention.ExecuteAsync(statement, cancellationToken);
        var buckets = new List<(DateTimeOffset, double)>();
        var result = reply.GetProperty("results")[0];
        if (result.TryGetProperty("series", out var series))
        {
            foreach (var row in series[0].GetProperty("values").EnumerateArray())
            {
                if (row[1].ValueKind == System.Text.Json.JsonValueKind.Number)
                {
                    buckets.Add((DateTimeOffset.Parse(row[0].GetString()!, CultureInfo.InvariantCulture), row[1].GetDouble()));
                }
            }
        }

        return new SeriesSum(policy, size, buckets);
    }

    private static string Milliseconds(DateTimeOffset time) => time.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
}
