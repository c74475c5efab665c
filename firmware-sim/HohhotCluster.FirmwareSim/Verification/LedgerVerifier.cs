using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.FirmwareSim.Verification;

internal sealed record VerifyOptions
{
    public required string LedgerPath { get; init; }
    public string? ApiAddress { get; init; }
    public string? ApiToken { get; init; }
    public string? InfluxAddress { get; init; }
    public string InfluxDatabase { get; init; } = "hohhot";
    public int ListLimit { get; init; } = 20;
}

/// <summary>
/// Compares the keys a ledger says were acknowledged with what the platform holds: daily totals
/// per pasture and plant through ThroughputService, and points per device in InfluxDB, where the
/// timestamp's sub-millisecond nanoseconds carry seq % 1,000,000 so keys can be matched one by one.
/// </summary>
internal sealed class LedgerVerifier(VerifyOptions options, TextWriter output)
{
    private const double ToleranceT = 0.0005;
    private static readonly string[] s_measurements = ["milking", "bulk_tank", "plant_intake"];
    private int _differences;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var ledger = LedgerSummary.Read(options.LedgerPath);
        var acked = new List<LedgerKey>();
        var unanswered = 0;
        var dropped = 0;
        var resent = 0;
        foreach (var entry in ledger.Keys.Values)
        {
            if (entry.SuccessfulPubacks > 0)
            {
                acked.Add(entry);
                resent += entry.SuccessfulPubacks > 1 ? 1 : 0;
            }
            else if (entry.Dropped)
            {
                dropped++;
            }
            else if (entry.RefusedPubacks == 0)
            {
                unanswered++;
            }
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ledger: {ledger.Lines} lines, {ledger.Keys.Count} keys, {acked.Count} acknowledged ({resent} acknowledged more than once), {unanswered} never acknowledged, {dropped} dropped (spool full), {ledger.FaultCopies} fault copies ({ledger.FaultCopiesAcked} acknowledged by the broker, none expected on the platform)"));

        if (options.ApiAddress is not null)
        {
            await CompareThroughputAsync(acked, cancellationToken).ConfigureAwait(false);
        }
        if (options.InfluxAddress is not null)
        {
            await ComparePointsAsync(acked, cancellationToken).ConfigureAwait(false);
        }
        output.WriteLine(_differences == 0 ? "verify: no difference" : string.Create(CultureInfo.InvariantCulture, $"verify: {_differences} difference(s)"));
        return _differences == 0 ? 0 : 1;
    }

    private sealed class DayTotals
    {
        public double MilkedKg;
        public double ProducedKg;
        public double ProcessedKg;
        public long Milkings;
        public long Collections;
        public long Intakes;
    }

    private async Task CompareThroughputAsync(List<LedgerKey> acked, CancellationToken cancellationToken)
    {
        var expected = new SortedDictionary<(string Owner, string Day), DayTotals>();
        var ownerIsPlant = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var entry in acked)
        {
            if (!expected.TryGetValue((entry.Owner, entry.LocalDay), out var totals))
            {
                totals = new DayTotals();
                expected.Add((entry.Owner, entry.LocalDay), totals);
            }
            switch (entry.Kind)
            {
                case "milking": totals.MilkedKg += entry.Kg; totals.Milkings++; ownerIsPlant[entry.Owner] = false; break;
                case "bulk_tank" when entry.IsCollection: totals.ProducedKg += entry.Kg; totals.Collections++; ownerIsPlant[entry.Owner] = false; break;
                case "plant_intake": totals.ProcessedKg += entry.Kg; totals.Intakes++; ownerIsPlant[entry.Owner] = true; break;
            }
        }

        using var channel = GrpcChannel.ForAddress(options.ApiAddress!);
        var client = new ThroughputService.ThroughputServiceClient(channel);
        var headers = new Metadata();
        if (options.ApiToken is { Length: > 0 } token)
        {
            headers.Add("authorization", "Bearer " + token);
        }
        var compared = 0;
        foreach (var ((owner, day), totals) in expected)
        {
            if (!ownerIsPlant.TryGetValue(owner, out var isPlant))
            {
                continue; // only level samples: nothing the throughput API counts
            }
            var reply = await client.GetDailyThroughputAsync(new GetDailyThroughputRequest
            {
                LocalDate = day,
                Scope = new Scope { Kind = isPlant ? ScopeKind.Plant : ScopeKind.Pasture, Id = owner },
            }, headers, cancellationToken: cancellationToken).ConfigureAwait(false);
            compared++;
            var where = $"{(isPlant ? "plant" : "pasture")} {owner} {day}";
            if (isPlant)
            {
                CompareTonnes(where, "processed_t", reply.ProcessedT, totals.ProcessedKg);
                CompareCount(where, "intake_count", reply.IntakeCount, totals.Intakes);
            }
            else
            {
                CompareTonnes(where, "milked_t", reply.MilkedT, totals.MilkedKg);
                CompareTonnes(where, "produced_t", reply.ProducedT, totals.ProducedKg);
                CompareCount(where, "milking_count", reply.MilkingCount, totals.Milkings);
                CompareCount(where, "collection_count", reply.CollectionCount, totals.Collections);
            }
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"throughput: compared {compared} owner-days"));
    }

    private void CompareTonnes(string where, string field, double platformT, double ledgerKg)
    {
        var ledgerT = ledgerKg / 1000.0;
        if (Math.Abs(platformT - ledgerT) > ToleranceT)
        {
            _differences++;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {where} {field}: platform {platformT:F4} t, ledger {ledgerT:F4} t ({(platformT < ledgerT ? "lost" : "duplicated or unexpected")} {Math.Abs(platformT - ledgerT):F4} t)"));
        }
    }

    private void CompareCount(string where, string field, long platform, long ledger)
    {
        if (platform != ledger)
        {
            _differences++;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {where} {field}: platform {platform}, ledger {ledger} ({(platform < ledger ? "lost" : "duplicated or unexpected")} {Math.Abs(platform - ledger)})"));
        }
    }

    private async Task ComparePointsAsync(List<LedgerKey> acked, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = new Uri(options.InfluxAddress!), Timeout = TimeSpan.FromMinutes(2) };
        foreach (var measurement in s_measurements)
        {
            var byDevice = new Dictionary<string, Dictionary<(long EventMs, long SeqFold), LedgerKey>>(StringComparer.Ordinal);
            long minMs = long.MaxValue, maxMs = long.MinValue;
            foreach (var entry in acked)
            {
                if (entry.Kind != measurement)
                {
                    continue;
                }
                if (!byDevice.TryGetValue(entry.Key.DeviceId, out var keys))
                {
                    keys = [];
                    byDevice.Add(entry.Key.DeviceId, keys);
                }
                keys[(entry.EventUnixMs, entry.Key.Seq % 1_000_000)] = entry;
                minMs = Math.Min(minMs, entry.EventUnixMs);
                maxMs = Math.Max(maxMs, entry.EventUnixMs);
            }
            if (byDevice.Count == 0)
            {
                continue;
            }
            var window = string.Create(CultureInfo.InvariantCulture, $"time >= {minMs * 1_000_000} AND time < {(maxMs + 1) * 1_000_000}");
            var counts = await QueryCountsAsync(http, $"SELECT count(*) FROM \"{measurement}\" WHERE {window} GROUP BY \"device\"", cancellationToken).ConfigureAwait(false);
            long expectedTotal = 0, platformTotal = 0;
            var lost = new List<string>();
            var unexpected = new List<string>();
            foreach (var (device, keys) in byDevice)
            {
                expectedTotal += keys.Count;
                var platform = counts.GetValueOrDefault(device);
                if (platform == keys.Count)
                {
                    continue;
                }
                // Counts differ: fetch the device's timestamps and match keys one by one.
                var times = await QueryTimesAsync(http, $"SELECT * FROM \"{measurement}\" WHERE \"device\" = '{device.Replace("'", "", StringComparison.Ordinal)}' AND {window}", cancellationToken).ConfigureAwait(false);
                var seen = new HashSet<(long, long)>();
                foreach (var ns in times)
                {
                    var point = (ns / 1_000_000, ns % 1_000_000);
                    if (!keys.ContainsKey(point) || !seen.Add(point))
                    {
                        unexpected.Add(string.Create(CultureInfo.InvariantCulture, $"{measurement} {device} time {point.Item1} ms seq%1e6 {point.Item2}"));
                    }
                }
                foreach (var (point, entry) in keys)
                {
                    if (!seen.Contains(point))
                    {
                        lost.Add(string.Create(CultureInfo.InvariantCulture, $"{measurement} ({entry.Key.DeviceId}, {entry.Key.BootEpoch}, {entry.Key.Seq})"));
                    }
                }
            }
            foreach (var (device, count) in counts)
            {
                platformTotal += count;
                if (!byDevice.ContainsKey(device))
                {
                    unexpected.Add(string.Create(CultureInfo.InvariantCulture, $"{measurement} {device}: {count} points, none in the ledger"));
                }
            }
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"influx {measurement}: ledger {expectedTotal} keys, platform {platformTotal} points, {lost.Count} lost, {unexpected.Count} duplicated or unexpected"));
            _differences += lost.Count + unexpected.Count;
            PrintList("lost", lost);
            PrintList("duplicated or unexpected", unexpected);
        }
    }

    private void PrintList(string title, List<string> items)
    {
        for (var i = 0; i < items.Count && i < options.ListLimit; i++)
        {
            output.WriteLine($"  {title}: {items[i]}");
        }
        if (items.Count > options.ListLimit)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  ... and {items.Count - options.ListLimit} more {title}"));
        }
    }

    private async Task<JsonElement> QueryAsync(HttpClient http, string query, CancellationToken cancellationToken)
    {
        var uri = $"query?db={Uri.EscapeDataString(options.InfluxDatabase)}&epoch=ns&q={Uri.EscapeDataString(query)}";
        using var response = await http.GetAsync(new Uri(uri, UriKind.Relative), cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken).ConfigureAwait(false);
        var result = body.GetProperty("results")[0];
        if (result.TryGetProperty("error", out var error))
        {
            throw new InvalidOperationException($"InfluxDB: {error.GetString()} (query: {query})");
        }
        return result;
    }

    /// <summary>count(*) gives one count per field: a point's count is the largest of them.</summary>
    private async Task<Dictionary<string, long>> QueryCountsAsync(HttpClient http, string query, CancellationToken cancellationToken)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var result = await QueryAsync(http, query, cancellationToken).ConfigureAwait(false);
        if (!result.TryGetProperty("series", out var series))
        {
            return counts;
        }
        foreach (var item in series.EnumerateArray())
        {
            var device = item.TryGetProperty("tags", out var tags) && tags.TryGetProperty("device", out var tag) ? tag.GetString() ?? "" : "";
            long max = 0;
            foreach (var row in item.GetProperty("values").EnumerateArray())
            {
                for (var i = 1; i < row.GetArrayLength(); i++)
                {
                    if (row[i].ValueKind == JsonValueKind.Number)
                    {
                        max = Math.Max(max, row[i].GetInt64());
                    }
                }
            }
            counts[device] = counts.GetValueOrDefault(device) + max;
        }
        return counts;
    }

    private async Task<List<long>> QueryTimesAsync(HttpClient http, string query, CancellationToken cancellationToken)
    {
        var times = new List<long>();
        var result = await QueryAsync(http, query, cancellationToken).ConfigureAwait(false);
        if (result.TryGetProperty("series", out var series))
        {
            foreach (var item in series.EnumerateArray())
            {
                foreach (var row in item.GetProperty("values").EnumerateArray())
                {
                    times.Add(row[0].GetInt64());
                }
            }
        }
        return times;
    }
}
