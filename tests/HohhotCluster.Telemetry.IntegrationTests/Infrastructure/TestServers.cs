using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>
/// The real servers started by <c>deploy/servers.sh</c> (deploy/test.sh exports their addresses). Missing variables
/// fail the test with instructions: integration tests are never skipped silently.
/// </summary>
public static class TestServers
{
    public static string PostgresConnection => Require("HOHHOT_PG_CONNECTION");
    public static string MqttHost => Require("HOHHOT_MQTT_HOST");
    public static int MqttPort => int.Parse(Require("HOHHOT_MQTT_PORT"), System.Globalization.CultureInfo.InvariantCulture);
    public static string InfluxUrl => Require("HOHHOT_INFLUX_URL");
    public static string DataDir => Require("HOHHOT_DATA_DIR");

    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>The build configuration these tests were built in (Debug or Release), used to find the host.</summary>
    public static string Configuration => new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;

    /// <summary>A fresh PostgreSQL database and InfluxDB database for one platform under test.</summary>
    public static async Task<(string PostgresConnection, string InfluxDatabase)> CreateDatabasesAsync(string name)
    {
        var connection = await CreatePostgresDatabaseAsync(name);
        await new InfluxQuery(name).ExecuteAsync($"CREATE DATABASE \"{name}\"");
        return (connection, name);
    }

    /// <summary>A fresh PostgreSQL database only (for tests that need no InfluxDB); its connection string.</summary>
    public static async Task<string> CreatePostgresDatabaseAsync(string name)
    {
        var admin = new NpgsqlConnectionStringBuilder(PostgresConnection) { Pooling = false };
        await using (var connection = new NpgsqlConnection(admin.ConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"create database \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        admin.Database = name;
        admin.Pooling = true;
        return admin.ConnectionString;
    }

    /// <summary>
    /// A fresh PostgreSQL database named after <paramref name="prefix"/>, migrated as the host migrates it: Storage's
    /// scripts and those of each component whose assembly holds one of <paramref name="components"/>, in that order.
    /// </summary>
    public static async Task<NpgsqlDataSource> CreateMigratedDatabaseAsync(string prefix, params Type[] components)
    {
        var dataSource = NpgsqlDataSource.Create(await CreatePostgresDatabaseAsync(UniqueName(prefix)));
        MigrationSource[] sources =
            [new MigrationSource(typeof(SchemaMigrator).Assembly), .. components.Select(c => new MigrationSource(c.Assembly))];
        await new SchemaMigrator(dataSource, sources, NullLogger<SchemaMigrator>.Instance).MigrateAsync();
        return dataSource;
    }

    public static string UniqueName(string prefix) => $"{prefix}_{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    private static string Require(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"{name} is not set. Integration tests need the real servers: run them with deploy/test.sh, or start the servers with " +
                "deploy/servers.sh start and export what 'deploy/servers.sh env' prints.");

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "HohhotCluster.Telemetry.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("HohhotCluster.Telemetry.sln not found above " + AppContext.BaseDirectory);
    }
}
