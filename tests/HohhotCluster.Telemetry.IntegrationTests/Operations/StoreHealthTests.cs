using System.Text.Json;
using Grpc.Health.V1;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using Npgsql;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace HohhotCluster.Telemetry.IntegrationTests.Operations;

/// <summary>
/// Health that tells the truth: a store that answers reads but refuses writes is reported NOT_SERVING component by
/// component (the platform itself still serves reads), and the operator's page (<c>/health</c> on the loopback scrape
/// endpoint) says why.
/// </summary>
public sealed class StoreHealthTests(PlatformFixture fixture) : IClassFixture<PlatformFixture>
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(30);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private PlatformProcess Platform => fixture.Platform;

    private async Task<ServingStatus> StatusOf(string service) =>
        (await new Health.HealthClient(Platform.Channel).CheckAsync(new HealthCheckRequest { Service = service })).Status;

    private async Task<JsonElement> HealthPageAsync()
    {
        using var reply = await Http.GetAsync($"http://127.0.0.1:{Platform.MetricsPort}/health");
        return JsonDocument.Parse(await reply.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    [Fact]
    public async Task Postgres_is_not_serving_while_its_database_is_read_only_though_select_1_still_answers()
    {
        Assert.Equal(ServingStatus.Serving, await StatusOf("postgres"));
        var database = new NpgsqlConnectionStringBuilder(Platform.PostgresConnection).Database!;
        await SetReadOnlyAsync(database, true);
        try
        {
            var status = await Eventually.WaitAsync(() => StatusOf("postgres"), s => s == ServingStatus.NotServing, Within);
            Assert.Equal(ServingStatus.NotServing, status);
            // Reads go on: the API as a whole serves.
            Assert.Equal(ServingStatus.Serving, await StatusOf(""));
            var page = await HealthPageAsync();
            var postgres = page.GetProperty("components").GetProperty("postgres");
            Assert.Equal("Unhealthy", postgres.GetProperty("status").GetString());
            Assert.Contains("25006", postgres.GetProperty("description").GetString(), StringComparison.Ordinal);
            Assert.Equal("Healthy", page.GetProperty("components").GetProperty("postgres-reachable").GetProperty("status").GetString());
        }
        finally
        {
            await SetReadOnlyAsync(database, false);
        }

        Assert.Equal(ServingStatus.Serving, await Eventually.WaitAsync(() => StatusOf("postgres"), s => s == ServingStatus.Serving, Within));
    }

    [Fact]
    public async Task Influxdb_is_not_serving_while_it_answers_ping_but_refuses_writes()
    {
        Assert.Equal(ServingStatus.Serving, await StatusOf("influxdb"));
        // The platform's database gone: /ping answers 204, every write 404 "database not found".
        await Platform.Influx.ExecuteAsync($"DROP DATABASE \"{Platform.InfluxDatabase}\"");
        try
        {
            var status = await Eventually.WaitAsync(() => StatusOf("influxdb"), s => s == ServingStatus.NotServing, Within);
            Assert.Equal(ServingStatus.NotServing, status);
            var influx = (await HealthPageAsync()).GetProperty("components").GetProperty("influxdb");
            Assert.Contains("refuses writes", influx.GetProperty("description").GetString(), StringComparison.Ordinal);
        }
        finally
        {
            await Platform.Influx.ExecuteAsync($"CREATE DATABASE \"{Platform.InfluxDatabase}\"");
        }

        Assert.Equal(ServingStatus.Serving, await Eventually.WaitAsync(() => StatusOf("influxdb"), s => s == ServingStatus.Serving, Within));
    }

    /// <summary>
    /// default_transaction_read_only for the platform's database, then its sessions ended so the pool reconnects
    /// with it (what a failover to a standby or an operator's emergency switch does to the platform).
    /// </summary>
    private static async Task SetReadOnlyAsync(string database, bool readOnly)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(TestServers.PostgresConnection) { Pooling = false }.ConnectionString);
        await connection.OpenAsync();
        var setting = readOnly ? "set default_transaction_read_only = on" : "reset default_transaction_read_only";
        await using (var alter = new NpgsqlCommand($"alter database \"{database}\" {setting}", connection))
        {
            await alter.ExecuteNonQueryAsync();
        }

        await using var terminate = new NpgsqlCommand("select count(pg_terminate_backend(pid)) from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()", connection);
        terminate.Parameters.Add(new NpgsqlParameter<string> { TypedValue = database });
        await terminate.ExecuteScalarAsync();
    }
}
