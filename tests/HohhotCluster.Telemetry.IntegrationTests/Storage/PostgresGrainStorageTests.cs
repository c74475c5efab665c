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

    public async Task DisposeAsync()
    {
        await _storage.DisposeAsync();
        await _dataSource.DisposeAsync();
    }

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

    [Fact]
    public async Task Writes_of_many_grains_at_once_share_flushes_and_each_lands_with_its_own_version()
    {
        var (flushesBefore, rowsBefore) = (_storage.Writes.FlushCount, _storage.Writes.RowsWritten);
        var prefix = "G-" + Guid.NewGuid().ToString("N") + "-";
        var states = Enumerable.Range(0, 400).Select(i => new GrainState<Counter> { State = new Counter { Value = i } }).ToArray();

        await Task.WhenAll(states.Select((s, i) => _storage.WriteStateAsync("herd", GrainId.Create("herd", prefix + i), s)));
        for (var i = 0; i < states.Length; i++)
        {
            states[i].State!.Value += 1000;
        }

        await Task.WhenAll(states.Select((s, i) => _storage.WriteStateAsync("herd", GrainId.Create("herd", prefix + i), s)));

        for (var i = 0; i < states.Length; i += 37)
        {
            var read = new GrainState<Counter>();
            await _storage.ReadStateAsync("herd", GrainId.Create("herd", prefix + i), read);
            Assert.Equal((i + 1000, "2"), (read.State!.Value, read.ETag));
        }

        var flushes = _storage.Writes.FlushCount - flushesBefore;
        Assert.Equal(800, _storage.Writes.RowsWritten - rowsBefore);
        Assert.True(flushes < 800, $"{flushes} flushes for 800 rows: the writes were not grouped");
    }

    [Fact]
    public async Task Of_two_racing_writers_with_the_same_version_exactly_one_wins()
    {
        var id = GrainId.Create("herd", "H-" + Guid.NewGuid().ToString("N"));
        await _storage.WriteStateAsync("herd", id, new GrainState<Counter> { State = new Counter { Value = 1 } });
        var writers = Enumerable.Range(0, 8).Select(i => new GrainState<Counter> { State = new Counter { Value = 10 + i }, ETag = "1" }).ToArray();

        var outcomes = await Task.WhenAll(writers.Select(async w =>
        {
            try
            {
                await _storage.WriteStateAsync("herd", id, w);
                return true;
            }
            catch (InconsistentStateException)
            {
                return false;
            }
        }));

        Assert.Single(outcomes, won => won);
        var winner = writers[Array.IndexOf(outcomes, true)];
        var read = new GrainState<Counter>();
        await _storage.ReadStateAsync("herd", id, read);
        Assert.Equal((winner.State!.Value, "2"), (read.State!.Value, read.ETag));
    }

    [Fact]
    public async Task A_flush_that_fails_fails_every_write_in_it_and_the_next_one_goes_through()
    {
        var id = GrainId.Create("herd", "H-" + Guid.NewGuid().ToString("N"));
        var state = new GrainState<Counter> { State = new Counter { Value = 1 } };
        await _storage.WriteStateAsync("herd", id, state);

        // Lock the row so the next flush waits on it, then cancel that backend: the flush's statement fails for real.
        await using var blocker = await _dataSource.OpenConnectionAsync();
        await using var transaction = await blocker.BeginTransactionAsync();
        await using (var lockRow = new NpgsqlCommand("select 1 from grain_state where grain_type = 'herd' and grain_id = $1 for update", blocker, transaction))
        {
            lockRow.Parameters.AddWithValue(id.ToString());
            await lockRow.ExecuteNonQueryAsync();
        }

        state.State.Value = 2;
        var blocked = _storage.WriteStateAsync("herd", id, state);
        await using (var cancel = _dataSource.CreateCommand(
            "select pg_cancel_backend(pid) from pg_stat_activity where wait_event_type = 'Lock' and query like '%grain_state%' and datname = current_database()"))
        {
            var cancelled = await Eventually.WaitAsync(async () => await cancel.ExecuteScalarAsync(), c => c is true, TimeSpan.FromSeconds(10));
            Assert.True(cancelled is true, "the flush never waited on the locked row");
        }

        await Assert.ThrowsAnyAsync<PostgresException>(() => blocked);
        Assert.Equal("1", state.ETag);
        await transaction.RollbackAsync();

        await _storage.WriteStateAsync("herd", id, state);
        var read = new GrainState<Counter>();
        await _storage.ReadStateAsync("herd", id, read);
        Assert.Equal((2, "2"), (read.State!.Value, read.ETag));
    }

    public sealed class Counter
    {
        public int Value { get; set; }
        public string Label { get; set; } = "";
    }
}
