using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace HohhotCluster.Telemetry.Animals.Tests;

/// <summary>A fresh PostgreSQL database per test class (HOHHOT_PG_CONNECTION; missing: the test fails saying how to start the servers), migrated.</summary>
public sealed class AnimalDatabase : IAsyncLifetime
{
    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero));

    public async Task InitializeAsync()
    {
        var name = TestServers.UniqueName("animals");
        var admin = new NpgsqlConnectionStringBuilder(TestServers.PostgresConnection);
        await using (var connection = new NpgsqlConnection(admin.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"create database \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        admin.Database = name;
        DataSource = NpgsqlDataSource.Create(admin.ConnectionString);
        await new SchemaMigrator(DataSource,
            [new MigrationSource(typeof(SchemaMigrator).Assembly), new MigrationSource(typeof(AnimalRegistryStore).Assembly)],
            NullLogger<SchemaMigrator>.Instance).MigrateAsync();
    }

    public async Task DisposeAsync() => await DataSource.DisposeAsync();
}
