using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Orleans.Runtime;
using Orleans.Storage;

namespace HohhotCluster.Telemetry.IntegrationTests.Storage;

/// <summary>The platform's own Orleans grain storage and migrations against a real PostgreSQL.</summary>
public sealed class PostgresGrainStorageTests : IAsyncLifetime
{
    private NpgsqlDataSource _dataSource = null!;
    private PostgresGrainStorage _storage = null!;

    public async Task InitializeAsync()
    {
        var (connection, _) = await TestServers.CreateDatabasesAsync(TestServers.UniqueName("gs"));
        _dataSource = NpgsqlDataSource.Create(connection);
        var migrator = new SchemaMigrator(_dataSource, [new MigrationSource(typeof(SchemaMigrator).Assembly)], NullLogger<SchemaMigrator>.Instance);
        Assert.True(await migrator.MigrateAsync() >= 3);
        Assert.Equal(0, await migrator.MigrateAsync()); // a second run finds nothing to do
        _storage = new PostgresGrainStorage(_dataSource);
    }

    public async Task DisposeAsync() => await _dataSource.DisposeAsync();

    [Fact]
    public async Task State_written_is_read_back_with_its_version()
    {
        var id = GrainId.Create("herd", "H-" + Guid.NewGuid().ToString("N"));
        var state = new GrainState<Counter> { State = new Counter { Value = 41, Label = "蒙A" } };
        await _storage.WriteStateAsync("herd", id, state);
        Assert.Equal("1", state.ETag);

        var read = new GrainState<Counter>();
        await _storage.ReadStateAsync("herd", id, read);
        Assert.True(read.RecordExists);
        Assert.Equal((41, "蒙A", "1"), (read.State!.Value, read.State.Label, read.ETag));
    }

    [Fact]
    public async Task Write_with_a_stale_etag_is_refused_and_changes_nothing()
    {
        var id = GrainId.Create("plant", "PL-" + Guid.NewGuid().ToString("N"));
        var first = new GrainState<Counter> { State = new Counter { Value = 1 } };
        await _storage.WriteStateAsync("plant", id, first);

        var other = new GrainState<Counter>();
        await _storage.ReadStateAsync("plant", id, other);
        other.State!.Value = 2;
        await _storage.WriteStateAsync("plant", id, other); // version 2

        first.State.Value = 99; // still holds version 1
        await Assert.ThrowsAsync<InconsistentStateException>(() => _storage.WriteStateAsync("plant", id, first));

        var read = new GrainState<Counter>();
        await _storage.ReadStateAsync("plant", id, read);
        Assert.Equal((2, "2"), (read.State!.Value, read.ETag));
    }

    [Fact]
    public async Task Second_first_write_of_the_same_grain_is_refused()
    {
        var id = GrainId.Create("pasture", "P-" + Guid.NewGuid().ToString("N"));
        await _storage.WriteStateAsync("pasture", id, new GrainState<Counter> { State = new Counter { Value = 1 } });
        // Another activation that never saw the row also believes it is first.
        await Assert.ThrowsAsync<InconsistentStateException>(() =>
            _storage.WriteStateAsync("pasture", id, new GrainState<Counter> { State = new Counter { Value = 5 } }));
    }

    [Fact]
    public async Task Clear_with_the_current_etag_removes_the_state()
    {
        var id = GrainId.Create("herd", "H-" + Guid.NewGuid().ToString("N"));
        var state = new GrainState<Counter> { State = new Counter { Value = 3 } };
        await _storage.WriteStateAsync("herd", id, state);
        await _storage.ClearStateAsync("herd", id, state);

        var read = new GrainState<Counter>();
        await _storage.ReadStateAsync("herd", id, read);
        Assert.False(read.RecordExists);
        Assert.Null(read.ETag);
        Assert.Equal(0, read.State!.Value);
    }

    public sealed class Counter
    {
        public int Value { get; set; }
        public string Label { get; set; } = "";
    }
}
