using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using Npgsql;

namespace HohhotCluster.Telemetry.IntegrationTests.Operations;

/// <summary>
/// PostgreSQL retention in a real platform process: quarantined payloads, alert events and access log entries past
/// their configured retention are deleted, newer ones stay, and what was removed is counted (log line and meter).
/// </summary>
public sealed class PostgresRetentionTests
{
    [Fact]
    public async Task Rows_past_their_retention_are_deleted_and_counted_newer_ones_stay()
    {
        await using var platform = await PlatformProcess.StartAsync(settings: new Dictionary<string, string>
        {
            ["Retention__PurgeInterval"] = "00:00:01",
            ["Retention__Quarantine"] = "30.00:00:00",
            ["Retention__AlertEvents"] = "60.00:00:00",
            ["Identity__AccessLogRetention"] = "90.00:00:00",
        });
        var now = DateTime.UtcNow;
        await using var data = NpgsqlDataSource.Create(platform.PostgresConnection);
        async Task<long> Scalar(string sql)
        {
            await using var command = data.CreateCommand(sql);
            return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
        }

        async Task Execute(string sql, params object[] values)
        {
            await using var command = data.CreateCommand(sql);
            foreach (var value in values)
            {
                command.Parameters.Add(new NpgsqlParameter { Value = value });
            }

            await command.ExecuteNonQueryAsync();
        }

        // Two of each past the retention, one within it (just inside: a day short of the limit). Each table's three
        // rows go in one statement, so a retention pass sees all of them or none (the log line counts one pass).
        await Execute("insert into quarantine (received_at, topic, reason, detail, payload) values " +
            "($1, 't', 'invalid_json', '', '\\x00'), ($2, 't', 'invalid_json', '', '\\x00'), ($3, 't', 'invalid_json', '', '\\x00')",
            now.AddDays(-31), now.AddDays(-45), now.AddDays(-29));

        var alertId = await Scalar(
            "insert into alert (alert_key, kind, severity, subject, message, since, raised_at, updated_at) " +
            "values ('k', 'cold_chain', 'warning', 's', 'm', now(), now(), now()) returning id");
        await Execute("insert into alert_event (alert_id, change, at) values ($1, 'raised', $2), ($1, 'raised', $3), ($1, 'raised', $4)",
            alertId, now.AddDays(-61), now.AddDays(-100), now.AddDays(-59));
        await Execute("insert into access_log (at, method, status, duration_ms) values ($1, '/x', 'OK', 1), ($2, '/x', 'OK', 1), ($3, '/x', 'OK', 1)",
            now.AddDays(-91), now.AddDays(-400), now.AddDays(-89));

        var left = await Eventually.WaitAsync(
            async () => (await Scalar("select count(*) from quarantine"), await Scalar("select count(*) from alert_event where alert_id = " + alertId),
                await Scalar("select count(*) from access_log where method = '/x'")),
            c => c == (1, 1, 1), TimeSpan.FromSeconds(30));
        Assert.Equal((1L, 1L, 1L), left);
        Assert.Equal(1, await Scalar("select count(*) from quarantine where received_at > now() - interval '30 days'"));

        var log = platform.LogTail(int.MaxValue);
        Assert.Contains("Retention deleted 2 rows of quarantine", log, StringComparison.Ordinal);
        Assert.Contains("Retention deleted 2 rows of alert_event", log, StringComparison.Ordinal);
        Assert.Contains("Retention deleted 2 rows of access_log", log, StringComparison.Ordinal);
        using var http = new HttpClient();
        var metrics = await http.GetStringAsync($"http://127.0.0.1:{platform.MetricsPort}/metrics");
        foreach (var table in new[] { "quarantine", "alert_event", "access_log" })
        {
            Assert.Matches($"hohhot_retention_rows_deleted_total\\{{[^}}]*table=\"{table}\"[^}}]*\\}} 2(\\s|$)", metrics);
        }
    }
}
