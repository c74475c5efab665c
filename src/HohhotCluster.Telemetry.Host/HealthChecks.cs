using HohhotCluster.Telemetry.Ingestion;
using HohhotCluster.Telemetry.MqttEndpoint;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.TimeSeries;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.Host;

/// <summary>
/// PostgreSQL answers and takes writes: <c>select 1</c>, then the write probe (<see cref="StoreWriteProbe"/>: a server in
/// read-only mode or out of disk refuses it), and ingestion is not waiting out a PostgreSQL failure (its disk full:
/// 53100 on a batch even while the probe's one row still fits).
/// </summary>
public class PostgresHealthCheck(NpgsqlDataSource dataSource, IngestionPipeline pipeline, StoreWriteProbe probe, IOptions<PlatformHostOptions> host, bool readsOnly = false) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var command = dataSource.CreateCommand("select 1");
            await command.ExecuteScalarAsync(cancellationToken);
            if (readsOnly)
            {
                return HealthCheckResult.Healthy();
            }

            if (await probe.ProbeAsync(ProbeHost(host.Value), cancellationToken) is { } refusal)
            {
                return HealthCheckResult.Unhealthy("PostgreSQL answers but refuses writes; readings wait unacknowledged: " + refusal);
            }

            if (pipeline.CurrentStoreFailure is { Postgres: true } failure)
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

    /// <summary>The probe row (PostgreSQL) and tag (InfluxDB) of this host: one per process of a cluster.</summary>
    internal static string ProbeHost(PlatformHostOptions options) => $"{Environment.MachineName}/{options.ClusterId}/{options.SiloPort}";
}

/// <summary>PostgreSQL answers: what the API as a whole needs (the gRPC health service's "" entry).</summary>
public sealed class PostgresReachableHealthCheck(NpgsqlDataSource dataSource, IngestionPipeline pipeline, StoreWriteProbe probe, IOptions<PlatformHostOptions> host)
    : PostgresHealthCheck(dataSource, pipeline, probe, host, readsOnly: true);

/// <summary>
/// InfluxDB answers <c>/ping</c> and stores a probe point (<see cref="InfluxHealthProbe"/>, one HTTP client for the process),
/// and the writer's own writes are not failing.
/// </summary>
public sealed class InfluxHealthCheck(InfluxHealthProbe probe, InfluxLineWriter writer, IOptions<PlatformHostOptions> host) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        // Unhealthy here marks the component NOT_SERVING; the platform as a whole keeps serving (see AddGrpcHealthChecks).
        if (await probe.ProbeAsync(PostgresHealthCheck.ProbeHost(host.Value), cancellationToken) is { } refusal)
        {
            return HealthCheckResult.Unhealthy(refusal + "; messages wait unacknowledged and their points are written on recovery.");
        }

        return writer.ConsecutiveFailures > 0
            ? HealthCheckResult.Unhealthy($"InfluxDB writes are failing ({writer.ConsecutiveFailures} in a row): {writer.LastError}")
            : HealthCheckResult.Healthy();
    }
}

public sealed class MqttHealthCheck(TelemetryEndpoint endpoint) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(endpoint.Started
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("The MQTT endpoint is not accepting connections."));
}
