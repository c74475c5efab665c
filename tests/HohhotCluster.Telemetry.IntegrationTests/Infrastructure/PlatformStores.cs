namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>The PostgreSQL database and InfluxDB database a platform host is pointed at, when not the test servers' own.</summary>
public sealed record PlatformStores(string PostgresConnection, string InfluxUrl, string InfluxDatabase);
