using System.Globalization;
using System.Text.Json;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>
/// What a platform answers about a simulated day: the city's throughput, a trace back of a product lot the ledger
/// holds, the city's pass rates for the day, and InfluxDB's point count per measurement and field (the hosts' own
/// health probe left out). Two platforms on the same data answer equal ones.
/// </summary>
public sealed record PlatformAnswers(DailyThroughput Throughput, TraceBackReply Trace, PassRateReport PassRates, IReadOnlyDictionary<string, long> PointCounts)
{
    public override string ToString() =>
        $"throughput {Throughput}, trace {Trace.Lots.Count} lots, pass rates {PassRates.Overall}, points {string.Join(", ", PointCounts.Select(p => $"{p.Key}={p.Value}"))}";

    /// <summary>
    /// The trace as a set: its root, then its lots and edges each sorted by their text. The reply's order is not part
    /// of its meaning (the recursive query has no ORDER BY), and a restored database lays its rows out anew.
    /// </summary>
    public string TraceAsSet() =>
        $"root {Trace.Root}\nlots\n{string.Join('\n', Trace.Lots.Select(l => l.ToString()).Order(StringComparer.Ordinal))}\n" +
        $"edges\n{string.Join('\n', Trace.Edges.Select(e => e.ToString()).Order(StringComparer.Ordinal))}";

    /// <summary>Asserts that <paramref name="after"/> (another platform on the same data) answers as this one did.</summary>
    public void AssertAnsweredAgainBy(PlatformAnswers after)
    {
        Assert.Equal(Throughput.ToString(), after.Throughput.ToString());
        Assert.Equal(TraceAsSet(), after.TraceAsSet());
        Assert.Equal(PassRates.ToString(), after.PassRates.ToString());
        Assert.Equal(PointCounts, after.PointCounts);
    }

    public static async Task<PlatformAnswers> ReadAsync(PlatformProcess platform, DateOnly day, string ledger)
    {
        var throughput = await ThroughputProbe.GetAsync(platform, day, ScopeKind.City);

        // A product lot the ledger holds, traced back through silo batches and tanker loads to bulk-tank lots.
        var productLot = (await File.ReadAllLinesAsync(ledger)).Select(l => JsonDocument.Parse(l).RootElement)
            .Where(l => !l.TryGetProperty("f", out _) && l.TryGetProperty("k", out var k) && k.GetString() == "production" && l.GetProperty("rc").GetInt32() is >= 0 and < 128)
            .Select(l => l.GetProperty("lot").GetString()!).First();
        var trace = await new TraceabilityService.TraceabilityServiceClient(platform.Channel).TraceBackAsync(new TraceBackRequest { ProductLotId = productLot });

        var dayText = day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var passRates = await new AuditService.AuditServiceClient(platform.Channel).GetPassRatesAsync(new AuditQuery
        {
            Scope = new AuditScope { Kind = AuditScopeKind.City }, FromDate = dayText, ToDate = dayText,
        });

        // Every measurement's points in the default policy but the hosts' own health probe (each host writes one).
        var measurements = (await platform.Influx.ExecuteAsync("SHOW MEASUREMENTS")).GetProperty("results")[0].GetProperty("series")[0].GetProperty("values")
            .EnumerateArray().Select(v => v[0].GetString()!).Where(m => m != "platform_health_probe").ToList();
        var counts = new SortedDictionary<string, long>(StringComparer.Ordinal);
        foreach (var measurement in measurements)
        {
            var series = (await platform.Influx.ExecuteAsync($"SELECT count(*) FROM \"{measurement}\"")).GetProperty("results")[0].GetProperty("series")[0];
            var columns = series.GetProperty("columns").EnumerateArray().Select(c => c.GetString()!).ToList();
            var values = series.GetProperty("values")[0];
            for (var i = 1; i < columns.Count; i++)
            {
                if (values[i].ValueKind == JsonValueKind.Number)
                {
                    counts[$"{measurement}.{columns[i]}"] = values[i].GetInt64();
                }
            }
        }

        return new PlatformAnswers(throughput, trace, passRates, counts);
    }
}
