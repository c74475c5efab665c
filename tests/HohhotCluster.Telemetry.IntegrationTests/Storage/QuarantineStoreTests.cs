using Dapper;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace HohhotCluster.Telemetry.IntegrationTests.Storage;

/// <summary>The quarantine on a real PostgreSQL: every message kept with its bytes, a keyed message once per reason.</summary>
public sealed class QuarantineStoreTests : IAsyncLifetime
{
    private NpgsqlDataSource _dataSource = null!;
    private QuarantineStore _store = null!;

    public async Task InitializeAsync()
    {
        var (connection, _) = await TestServers.CreateDatabasesAsync(TestServers.UniqueName("qs"));
        _dataSource = NpgsqlDataSource.Create(connection);
        await new SchemaMigrator(_dataSource, [new MigrationSource(typeof(SchemaMigrator).Assembly)], NullLogger<SchemaMigrator>.Instance).MigrateAsync();
        _store = new QuarantineStore(_dataSource);
    }

    public async Task DisposeAsync() => await _dataSource.DisposeAsync();

    private static QuarantinedMessage Keyed(string device, long seq, string reason = "rate_limited", byte marker = 1) => new()
    {
        ReceivedAt = DateTimeOffset.UtcNow,
        Topic = $"hohhot/pasture/P1/{device}/bulk_tank",
        Reason = reason,
        Detail = "beyond its share",
        DeviceId = device,
        BootEpoch = 7,
        Sequence = seq,
        Payload = [marker, (byte)seq],
    };

    private static QuarantinedMessage Unreadable(byte marker) => new()
    {
        ReceivedAt = DateTimeOffset.UtcNow,
        Topic = "hohhot/pasture/P1/D-x/bulk_tank",
        Reason = "malformed_json",
        Payload = [0xff, marker],
    };

    private async Task<List<(string Reason, long? Seq, byte[] Payload)>> RowsAsync()
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        return (await connection.QueryAsync<(string, long?, byte[])>("select reason, seq, payload from quarantine order by id")).AsList();
    }

    [Fact]
    public async Task Redelivered_message_adds_no_second_row_for_the_same_reason()
    {
        Assert.Equal(new[] { true, true }, await _store.AddAsync([Keyed("D-1", 1), Keyed("D-1", 2)]));

        // The same two again (a redelivery after a reconnect), beside a new one and the same key for another reason.
        Assert.Equal(new[] { false, true, false, true }, await _store.AddAsync(
            [Keyed("D-1", 2), Keyed("D-1", 3), Keyed("D-1", 1), Keyed("D-1", 1, "unknown_herd")]));

        var rows = await RowsAsync();
        Assert.Equal(4, rows.Count);
        Assert.Equal([("rate_limited", 1L), ("rate_limited", 2L), ("rate_limited", 3L), ("unknown_herd", 1L)],
            rows.Select(r => (r.Reason, r.Seq!.Value)).Order().ToArray());
    }

    [Fact]
    public async Task Two_copies_in_one_list_keep_the_first_and_its_bytes()
    {
        Assert.Equal(new[] { true, false, true }, await _store.AddAsync([Keyed("D-2", 5, marker: 1), Keyed("D-2", 5, marker: 2), Keyed("D-3", 5)]));

        var rows = await RowsAsync();
        Assert.Equal(2, rows.Count);
        Assert.Equal(new byte[] { 1, 5 }, rows[0].Payload);
    }

    [Fact]
    public async Task Messages_without_a_key_are_each_kept()
    {
        Assert.Equal(new[] { true, true }, await _store.AddAsync([Unreadable(1), Unreadable(1)]));
        Assert.True((await _store.AddAsync([Unreadable(1)]))[0]);

        var rows = await RowsAsync();
        Assert.Equal(3, rows.Count);
        Assert.All(rows, r => Assert.Null(r.Seq));
    }
}
