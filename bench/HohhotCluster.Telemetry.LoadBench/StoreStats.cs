using System.Globalization;
using System.Text.Json;
using Npgsql;

namespace HohhotCluster.Telemetry.LoadBench;

/// <summary>
/// PostgreSQL's own counters around a measurement: commits of the platform's database (<c>pg_stat_database</c>) and
/// the cluster's WAL syncs and bytes (<c>pg_stat_wal</c>), so the run shows how many readings each commit, and each
/// flush to disk, carried (the group commit at work).
/// </summary>
internal sealed class PostgresStats(string connectionString) : IDisposable
{
    private readonly NpgsqlDataSource _dataSource = NpgsqlDataSource.Create(connectionString);

    internal sealed record Sample(long Commits, long WalSyncs, long WalBytes)
    {
        public static Sample operator -(Sample a, Sample b) => new(a.Commits - b.Commits, a.WalSyncs - b.WalSyncs, a.WalBytes - b.WalBytes);

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Commits:N0} commits, {WalSyncs:N0} WAL syncs, {WalBytes / 1e6:N0} MB WAL");
    }

    public async Task<Sample> SampleAsync()
    {
        // Backends report their counters when they go idle, an idle one within 10 s (PostgreSQL 15): the wait makes
        // the sample include what was just written.
        await Task.Delay(TimeSpan.FromSeconds(11));
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand(
            "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()), wal_sync, wal_bytes::bigint FROM pg_stat_wal", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return new Sample(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
    }

    /// <summary>Rows inserted, updated and deleted per table of the platform's database so far (pg_stat_user_tables).</summary>
    public async Task<Dictionary<string, (long Inserted, long Updated, long Deleted)>> TableWritesAsync()
    {
        var tables = new Dictionary<string, (long, long, long)>(StringComparer.Ordinal);
        await using var connection = await _dataSource.OpenConnectionAsync();
        await using var command = new NpgsqlCommand("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables", connection);
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            tables[reader.GetString(0)] = (reader.GetInt64(1), reader.GetInt64(2), reader.GetInt64(3));
        }

        return tables;
    }

    /// <summary>The tables most written between two samples, e.g. "reading_digest +894,522 ins".</summary>
    public static string Busiest(Dictionary<string, (long Inserted, long Updated, long Deleted)> before, Dictionary<string, (long Inserted, long Updated, long Deleted)> after, int count)
    {
        var deltas = new List<(string Table, long Ins, long Upd, long Del)>();
        foreach (var (table, a) in after)
        {
            var b = before.GetValueOrDefault(table);
            deltas.Add((table, a.Inserted - b.Inserted, a.Updated - b.Updated, a.Deleted - b.Deleted));
        }

        return string.Join(", ", deltas.OrderByDescending(d => d.Ins + d.Upd + d.Del).Take(count)
            .Select(d => string.Create(CultureInfo.InvariantCulture, $"{d.Table} {d.Ins:N0} ins {d.Upd:N0} upd {d.Del:N0} del")));
    }

    public void Dispose() => _dataSource.Dispose();
}

/// <summary>InfluxDB 1.x's HTTP write counters (<c>/debug/vars</c>, the <c>httpd</c> statistics): write requests and points.</summary>
internal static class InfluxStats
{
    internal sealed record Sample(long WriteRequests, long PointsWritten)
    {
        public static Sample operator -(Sample a, Sample b) => new(a.WriteRequests - b.WriteRequests, a.PointsWritten - b.PointsWritten);

        public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{WriteRequests:N0} write requests, {PointsWritten:N0} points");
    }

    public static async Task<Sample> SampleAsync(string url)
    {
        try
        {
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            using var json = JsonDocument.Parse(await http.GetStringAsync(url.TrimEnd('/') + "/debug/vars"));
            long requests = 0, points = 0;
            foreach (var entry in json.RootElement.EnumerateObject())
            {
                if (entry.Value.ValueKind == JsonValueKind.Object && entry.Value.TryGetProperty("name", out var name) && name.ValueKind == JsonValueKind.String
                    && name.GetString() == "httpd" && entry.Value.TryGetProperty("values", out var values))
                {
                    requests += values.TryGetProperty("writeReq", out var w) ? w.GetInt64() : 0;
                    points += values.TryGetProperty("pointsWrittenOK", out var p) ? p.GetInt64() : 0;
                }
            }

            return new Sample(requests, points);
        }
        catch (Exception exception) when (exception is HttpRequestException or JsonException or TaskCanceledException)
        {
            return new Sample(0, 0);
        }
    }
}
