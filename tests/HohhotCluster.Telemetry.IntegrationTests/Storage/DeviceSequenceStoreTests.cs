using Dapper;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.IntegrationTests.Storage;

/// <summary>The record of delivered keys per device on a real PostgreSQL: merged per batch, over every kind, losing nothing.</summary>
public sealed class DeviceSequenceStoreTests : IAsyncLifetime
{
    private NpgsqlDataSource _dataSource = null!;
    private DeviceSequenceStore _store = null!;

    public async Task InitializeAsync()
    {
        var (connection, _) = await TestServers.CreateDatabasesAsync(TestServers.UniqueName("ds"));
        _dataSource = NpgsqlDataSource.Create(connection);
        await new SchemaMigrator(_dataSource, [new MigrationSource(typeof(SchemaMigrator).Assembly)], NullLogger<SchemaMigrator>.Instance).MigrateAsync();
        _store = new DeviceSequenceStore(_dataSource, TimeProvider.System);
    }

    public async Task DisposeAsync() => await _dataSource.DisposeAsync();

    private static DeliveredKey Key(string device, long seq, string kind = "bulk_tank", long boot = 7) => new(new ReadingKey(device, boot, seq), kind);

    private async Task<DeviceBootSequence> BootAsync(string device, long boot = 7) =>
        Assert.Single(await _store.UpdatedAfterAsync(DateTimeOffset.MinValue, default), b => b.DeviceId == device && b.BootEpoch == boot);

    [Fact]
    public async Task Keys_of_two_kinds_on_one_sequence_make_one_run_with_both_kinds()
    {
        // A bulk tank: levels 1-3 and 5, its tanker_pickup (stored by another component) took 4.
        await _store.RecordAsync([Key("BT1", 1), Key("BT1", 2), Key("BT1", 3)], default);
        await _store.RecordAsync([Key("BT1", 5), Key("BT1", 4, "tanker_pickup")], default);

        var boot = await BootAsync("BT1");
        Assert.Equal([new SequenceRun(1, 5)], boot.Runs);
        Assert.Equal(["bulk_tank", "tanker_pickup"], boot.KindsLastDelivered.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_missing_key_is_a_hole_between_runs_until_it_arrives_and_a_redelivery_changes_nothing()
    {
        await _store.RecordAsync([Key("MM1", 1), Key("MM1", 2), Key("MM1", 6), Key("MM1", 3), Key("MM1", 9, boot: 8)], default);
        Assert.Equal([new SequenceRun(1, 3), new SequenceRun(6, 6)], (await BootAsync("MM1")).Runs);
        Assert.Equal([new SequenceRun(9, 9)], (await BootAsync("MM1", 8)).Runs);

        await _store.RecordAsync([Key("MM1", 2), Key("MM1", 6)], default);
        Assert.Equal([new SequenceRun(1, 3), new SequenceRun(6, 6)], (await BootAsync("MM1")).Runs);

        await _store.RecordAsync([Key("MM1", 4), Key("MM1", 5)], default);
        Assert.Equal([new SequenceRun(1, 6)], (await BootAsync("MM1")).Runs);
    }

    [Fact]
    public async Task A_key_without_a_readable_kind_is_recorded_and_names_no_kind()
    {
        await _store.RecordAsync([new DeliveredKey(new ReadingKey("X1", 1, 10), null)], default);

        var boot = await BootAsync("X1", 1);
        Assert.Equal([new SequenceRun(10, 10)], boot.Runs);
        Assert.Empty(boot.KindsLastDelivered);
    }

    [Fact]
    public async Task Concurrent_batches_for_the_same_device_lose_no_key()
    {
        // 40 batches of 25 interleaved keys each (batch b holds b, b+40, b+80, ...), all at once, on two devices.
        var batches = Enumerable.Range(0, 40).Select(b =>
            (IReadOnlyList<DeliveredKey>)[.. Enumerable.Range(0, 25).SelectMany(i => new[] { Key("C1", b + (40L * i)), Key("C2", b + (40L * i), "milking") })]);

        await Task.WhenAll(batches.Select(batch => Task.Run(() => _store.RecordAsync(batch, default))));

        Assert.Equal([new SequenceRun(0, 999)], (await BootAsync("C1")).Runs);
        Assert.Equal([new SequenceRun(0, 999)], (await BootAsync("C2")).Runs);
    }

    [Fact]
    public async Task Only_boots_updated_after_the_cursor_are_read_and_old_boots_are_deleted()
    {
        await _store.RecordAsync([Key("R1", 1)], default);
        var cursor = (await BootAsync("R1")).UpdatedAt;
        await _store.RecordAsync([Key("R2", 1)], default);

        Assert.Equal(["R2"], (await _store.UpdatedAfterAsync(cursor, default)).Select(b => b.DeviceId));

        await using (var connection = await _dataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("update device_sequence set updated_at = now() - interval '9 days' where device_id = 'R1'");
        }

        Assert.Equal(1, await _store.DeleteNotUpdatedSinceAsync(DateTimeOffset.UtcNow.AddDays(-8), default));
        Assert.Equal(["R2"], (await _store.UpdatedAfterAsync(DateTimeOffset.MinValue, default)).Select(b => b.DeviceId));
    }

    [Fact]
    public async Task The_retention_service_deletes_the_boots_not_updated_within_the_digest_retention_at_start()
    {
        await _store.RecordAsync([Key("OLD1", 1), Key("NEW1", 1)], default);
        await using (var connection = await _dataSource.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("update device_sequence set updated_at = now() - interval '9 days' where device_id = 'OLD1'");
        }

        using var retention = new ReadingDigestRetention(new ReadingDigestStore(_dataSource, TimeProvider.System), _store,
            Options.Create(new ReadingDigestOptions()), TimeProvider.System, NullLogger<ReadingDigestRetention>.Instance);
        await retention.StartAsync(default);
        try
        {
            var left = await Eventually.WaitAsync(() => _store.UpdatedAfterAsync(DateTimeOffset.MinValue, default), boots => boots.Count == 1, TimeSpan.FromSeconds(20));
            Assert.Equal("NEW1", Assert.Single(left).DeviceId);
        }
        finally
        {
            await retention.StopAsync(default);
        }
    }
}
