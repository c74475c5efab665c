using HohhotCluster.Telemetry.Audit.Alerts;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace HohhotCluster.Telemetry.Audit.Tests;

/// <summary>A fresh PostgreSQL database per test class (HOHHOT_PG_CONNECTION; missing: the test fails saying how to start the servers), migrated.</summary>
public sealed class AuditDatabase : IAsyncLifetime
{
    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero));

    public async Task InitializeAsync() =>
        DataSource = await TestServers.CreateMigratedDatabaseAsync("audit", typeof(Traceability.ChainStore), typeof(AuditServiceCollectionExtensions),
            typeof(Animals.AnimalRegistryStore));

    /// <summary>The animal registry's reads the KPIs make, over this database.</summary>
    public Animals.AnimalRegistryFigures AnimalFigures() =>
        new(new Animals.AnimalRegistryStore(DataSource, Clock), new Animals.AnimalHealthStore(DataSource), new Animals.AnimalBreedingStore(DataSource));

    public AlertStore Alerts() => new(DataSource, new AuditMetrics(new TestMeterFactory()));

    public async Task DisposeAsync() => await DataSource.DisposeAsync();

    private sealed class TestMeterFactory : System.Diagnostics.Metrics.IMeterFactory
    {
        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options) => new(options);

        public void Dispose()
        {
        }
    }
}
