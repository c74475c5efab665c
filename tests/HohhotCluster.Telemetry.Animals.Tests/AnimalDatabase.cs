using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace HohhotCluster.Telemetry.Animals.Tests;

/// <summary>A fresh PostgreSQL database per test class (HOHHOT_PG_CONNECTION; missing: the test fails saying how to start the servers), migrated.</summary>
public sealed class AnimalDatabase : IAsyncLifetime
{
    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero));

    public async Task InitializeAsync() =>
        DataSource = await TestServers.CreateMigratedDatabaseAsync("animals", typeof(AnimalRegistryStore));

    public async Task DisposeAsync() => await DataSource.DisposeAsync();
}
