using Dapper;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace HohhotCluster.Telemetry.IntegrationTests.Storage;

/// <summary>
/// The migrator's checksums on a real PostgreSQL (storage's scripts): recorded at apply, a changed applied script and
/// a schema newer than the binary refused, scripts applied by release 0.14's migrator (no checksum column) recorded
/// once; and the host itself refusing to start on both.
/// </summary>
public sealed class SchemaMigratorTests : IAsyncLifetime
{
    private NpgsqlDataSource _dataSource = null!;
    private string _connection = null!;

    private static readonly IReadOnlyList<SchemaMigration> StorageScripts = SchemaMigrator.LoadMigrations([typeof(SchemaMigrator).Assembly]);

    public async Task InitializeAsync()
    {
        (_connection, _) = await TestServers.CreateDatabasesAsync(TestServers.UniqueName("mig"));
        _dataSource = NpgsqlDataSource.Create(_connection);
    }

    public async Task DisposeAsync() => await _dataSource.DisposeAsync();

    private SchemaMigrator Migrator() => new(_dataSource, [new MigrationSource(typeof(SchemaMigrator).Assembly)], NullLogger<SchemaMigrator>.Instance);

    private async Task<List<(int Version, string Name, string? Checksum)>> BookkeepingAsync()
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        return (await connection.QueryAsync<(int, string, string?)>("select version, name, checksum from schema_migration order by version")).AsList();
    }

    private async Task ExecuteAsync(string sql, object? parameters = null)
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        await connection.ExecuteAsync(sql, parameters);
    }

    [Fact]
    public async Task Each_applied_script_is_recorded_with_the_sha256_of_its_text()
    {
        Assert.Equal(StorageScripts.Count, await Migrator().MigrateAsync());

        var rows = await BookkeepingAsync();
        Assert.Equal(StorageScripts.Select(s => (s.Version, s.Name, (string?)s.Checksum)), rows);
        Assert.Equal(0, await Migrator().MigrateAsync());
    }

    [Fact]
    public async Task Changed_applied_script_refuses_naming_the_script_and_both_checksums()
    {
        await Migrator().MigrateAsync();
        // The database was built by other text than this binary's 0003_grain_state.sql.
        var recorded = SchemaMigration.ChecksumOf("create table grain_state (id text primary key);");
        await ExecuteAsync("update schema_migration set checksum = @recorded where version = 3", new { recorded });

        var error = await Assert.ThrowsAsync<SchemaMismatchException>(() => Migrator().MigrateAsync());
        Assert.Contains("0003_grain_state", error.Message, StringComparison.Ordinal);
        Assert.Contains(recorded, error.Message, StringComparison.Ordinal);
        Assert.Contains(StorageScripts.Single(s => s.Version == 3).Checksum, error.Message, StringComparison.Ordinal);
        Assert.Equal(recorded, (await BookkeepingAsync()).Single(r => r.Version == 3).Checksum);
    }

    [Fact]
    public async Task Schema_holding_a_migration_this_binary_does_not_know_refuses_and_applies_nothing()
    {
        await Migrator().MigrateAsync();
        await ExecuteAsync("delete from schema_migration where version = 10; drop table health_probe");
        await ExecuteAsync("insert into schema_migration (version, name, checksum) values (19, '0019_newer_release', @checksum)",
            new { checksum = SchemaMigration.ChecksumOf("select 1") });

        var error = await Assert.ThrowsAsync<SchemaMismatchException>(() => Migrator().MigrateAsync());
        Assert.Contains("0019_newer_release", error.Message, StringComparison.Ordinal);
        Assert.Contains("older than the schema", error.Message, StringComparison.Ordinal);
        // The missing 0010 was not applied: nothing runs once the schema is found newer than the binary.
        Assert.DoesNotContain(await BookkeepingAsync(), r => r.Version == 10);
    }

    [Fact]
    public async Task Scripts_applied_by_release_0_14_get_their_checksums_recorded_once_and_only_the_new_ones_run()
    {
        // Release 0.14's migrator: its bookkeeping table had no checksum column. Its scripts are ours byte for byte
        // (SchemaReleases/0.14.sha256, checked by the unit tests), here storage's first nine; 0010 and every storage script after it are to come.
        var release = SchemaRelease.Load("0.14");
        await ExecuteAsync("create table schema_migration (version integer primary key, name text not null, applied_at timestamptz not null default now())");
        foreach (var script in StorageScripts.Where(s => s.Version < 10))
        {
            Assert.Equal(release.Checksums[script.Name], script.Checksum);
            await ExecuteAsync(script.Sql);
            await ExecuteAsync("insert into schema_migration (version, name) values (@Version, @Name)", new { script.Version, script.Name });
        }

        Assert.Equal(StorageScripts.Count(s => s.Version >= 10), await Migrator().MigrateAsync());

        Assert.Equal(StorageScripts.Select(s => (s.Version, s.Name, (string?)s.Checksum)), await BookkeepingAsync());
        Assert.Equal(0, await Migrator().MigrateAsync());
    }

    [Fact]
    public async Task Verify_without_migrating_refuses_a_database_that_lacks_scripts()
    {
        var error = await Assert.ThrowsAsync<SchemaMismatchException>(() => Migrator().VerifyAsync());
        Assert.Contains("0001_registry", error.Message, StringComparison.Ordinal);
        Assert.Contains("MigrateOnStart", error.Message, StringComparison.Ordinal);

        await Migrator().MigrateAsync();
        await Migrator().VerifyAsync();
    }

    [Fact]
    public async Task Host_refuses_to_start_on_a_changed_applied_script_and_on_a_schema_newer_than_its_binary()
    {
        await using var platform = await PlatformProcess.StartAsync();
        await platform.StopAsync();
        await using var dataSource = NpgsqlDataSource.Create(platform.PostgresConnection);
        await using var connection = await dataSource.OpenConnectionAsync();
        var original = await connection.ExecuteScalarAsync<string>("select checksum from schema_migration where version = 1");
        await connection.ExecuteAsync("update schema_migration set checksum = @other where version = 1", new { other = SchemaMigration.ChecksumOf("edited") });

        var changed = await Assert.ThrowsAsync<InvalidOperationException>(platform.StartAgainAsync);
        Assert.Contains("0001_registry was applied with SHA-256 " + SchemaMigration.ChecksumOf("edited"), changed.Message, StringComparison.Ordinal);

        await connection.ExecuteAsync("update schema_migration set checksum = @original where version = 1", new { original });
        await connection.ExecuteAsync("insert into schema_migration (version, name, checksum) values (99, '0099_newer_release', 'x')");
        var newer = await Assert.ThrowsAsync<InvalidOperationException>(platform.StartAgainAsync);
        Assert.Contains("0099_newer_release", newer.Message, StringComparison.Ordinal);
        Assert.Contains("older than the schema", newer.Message, StringComparison.Ordinal);

        await connection.ExecuteAsync("delete from schema_migration where version = 99");
        await platform.StartAgainAsync();
    }
}
