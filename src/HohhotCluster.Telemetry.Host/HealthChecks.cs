using HohhotCluster.Telemetry.Ingestion;
using HohhotCluster.Telemetry.MqttEndpoint;
using HohhotCluster.Telemetry.TimeSeries;
using InfluxDB.Client;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.Host;

/// <summary>
/// PostgreSQL answers, and ingestion is not waiting out a PostgreSQL failure: a server that answers <c>select 1</c>
/// but refuses writes (its disk full: 53100) is reported too, with its message.
/// </summary>
public class PostgresHealthCheck(NpgsqlDataSource dataSource, IngestionPipeline pipeline, bool readsOnly = false) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var command = dataSource.CreateCommand("select 1");
            await command.ExecuteScalarAsync(cancellationToken);
            if (!readsOnly && pipeline.CurrentStoreFailure is { Postgres: true } failure)
            {
                return HealthCheckResult.Unhealthy("PostgreSQL answers but refuses ingestion's writes; readings wait unacknowledged: " + failure.Message);
            }

            return HealthCheckResult.Healthy();
        }
        catch (Exception exception) when (exception is NpgsqlException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("PostgreSQL is unreachable; ingestion is holding messages unacknowledged.");
        }
    }
}

/// <summary>PostgreSQL answers: what the API as a whole needs (the gRPC health service's "" entry).</summary>
public sealed class PostgresReachableHealthCheck(NpgsqlDataSource dataSource, IngestionPipeline pipeline)
    : PostgresHealthCheck(dataSource, pipeline, readsOnly: true);

/// <summary>InfluxDB's <c>/ping</c> through InfluxDB.Client (it works against 1.x), plus the writer's own view.</summary>
public sealed class InfluxHealthCheck(IOptions<InfluxOptions> options, InfluxLineWriter writer) : IHealthCheck, IDisposable
{
    private readonly InfluxDBClient _client = new(options.Value.Url);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        // Unhealthy here marks the component NOT_SERVING; the platform as a whole keeps serving (see AddGrpcHealthChecks).
        var reachable = await _client.PingAsync();
        if (!reachable)
        {
            return HealthCheckResult.Unhealthy("InfluxDB does not answer /ping; messages wait unacknowledged and their points are written on recovery.");
        }

        return writer.ConsecutiveFailures > 0
            ? HealthCheckResult.Unhealthy($"InfluxDB writes are failing ({writer.ConsecutiveFailures} in a row): {writer.LastError}")
            : HealthCheckResult.Healthy();
    }

    public void Dispose() => _client.Dispose();
}

public sealed class MqttHealthCheck(TelemetryEndpoint endpoint) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(endpoint.Started
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("The MQTT endpoint is not accepting connections."));
}
