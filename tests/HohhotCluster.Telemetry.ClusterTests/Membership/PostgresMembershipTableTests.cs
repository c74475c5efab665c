using System.Net;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.Storage.Cluster;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;

namespace HohhotCluster.Telemetry.ClusterTests.Membership;

/// <summary>
/// <see cref="PostgresMembershipTable"/> against a real PostgreSQL: the etag contract Orleans' membership protocol relies
/// on, with concurrent writers on their own connections.
/// </summary>
public sealed class PostgresMembershipTableTests : IAsyncLifetime
{
    private NpgsqlDataSource _dataSource = null!;

    public async Task InitializeAsync()
    {
        var (connection, _) = await TestServers.CreateDatabasesAsync(TestServers.UniqueName("mt"));
        _dataSource = NpgsqlDataSource.Create(connection);
        var migrator = new SchemaMigrator(_dataSource, [new MigrationSource(typeof(SchemaMigrator).Assembly)], NullLogger<SchemaMigrator>.Instance);
        await migrator.MigrateAsync();
    }

    public async Task DisposeAsync() => await _dataSource.DisposeAsync();

    private PostgresMembershipTable Table(string clusterId) =>
        new(_dataSource, Options.Create(new ClusterOptions { ClusterId = clusterId, ServiceId = "hohhot-telemetry" }), NullLogger<PostgresMembershipTable>.Instance);

    private async Task<PostgresMembershipTable> FreshTableAsync()
    {
        var table = Table("c-" + Guid.NewGuid().ToString("N")[..12]);
        await table.InitializeMembershipTableAsync(true, CancellationToken.None);
        return table;
    }

    private static MembershipEntry Entry(int port, int generation = 1, SiloStatus status = SiloStatus.Joining) => new()
    {
        SiloAddress = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, port), generation),
        HostName = "host-" + port,
        SiloName = "silo-" + port,
        RoleName = "hohhot-platform",
        Status = status,
        ProxyPort = port + 1,
        UpdateZone = 0,
        FaultZone = 0,
        SuspectTimes = [],
        StartTime = new DateTime(2026, 12, 1, 20, 0, 0, DateTimeKind.Utc),
        IAmAliveTime = new DateTime(2026, 12, 1, 20, 0, 1, DateTimeKind.Utc),
    };

    [Fact]
    public async Task A_new_table_is_empty_at_version_zero_and_initialising_again_keeps_it()
    {
        var table = await FreshTableAsync();
        await table.InsertRowAsync(Entry(20001), new TableVersion(1, "0"), CancellationToken.None);
        await table.InitializeMembershipTableAsync(true, CancellationToken.None);

        var data = await table.ReadAllAsync(CancellationToken.None);
        Assert.Equal(1, data.Version.Version);
        Assert.Single(data.Members);

        var empty = await (await FreshTableAsync()).ReadAllAsync(CancellationToken.None);
        Assert.Equal((0, "0", 0), (empty.Version.Version, empty.Version.VersionEtag, empty.Members.Count));
    }

    [Fact]
    public async Task An_inserted_silo_reads_back_with_every_column()
    {
        var table = await FreshTableAsync();
        var entry = Entry(20011, generation: 987654321, status: SiloStatus.Active);
        entry.SuspectTimes = [Tuple.Create(SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 20021), 5), new DateTime(2026, 12, 1, 20, 5, 0, DateTimeKind.Utc))];
        entry.UpdateZone = 3;
        entry.FaultZone = 4;
        Assert.True(await table.InsertRowAsync(entry, new TableVersion(1, "0"), CancellationToken.None));

        var data = await table.ReadRowAsync(entry.SiloAddress, CancellationToken.None);
        var (read, etag) = Assert.Single(data.Members);
        Assert.Equal(entry.SiloAddress, read.SiloAddress);
        Assert.Equal((entry.HostName, entry.SiloName, entry.RoleName, entry.Status, entry.ProxyPort, 3, 4),
            (read.HostName, read.SiloName, read.RoleName, read.Status, read.ProxyPort, read.UpdateZone, read.FaultZone));
        Assert.Equal((entry.StartTime, entry.IAmAliveTime), (read.StartTime, read.IAmAliveTime));
        Assert.Equal(entry.SuspectTimes[0], Assert.Single(read.SuspectTimes!));
        Assert.Equal("0", etag);
        Assert.Equal((1, "1"), (data.Version.Version, data.Version.VersionEtag));
    }

    [Fact]
    public async Task Two_inserts_of_one_silo_racing_on_one_version_let_exactly_one_win()
    {
        for (var round = 0; round < 10; round++)
        {
            var table = await FreshTableAsync();
            var other = Table(ClusterIdOf(table));
            var entry = Entry(20100 + round);
            var results = await Task.WhenAll(
                Task.Run(() => table.InsertRowAsync(entry, new TableVersion(1, "0"), CancellationToken.None)),
                Task.Run(() => other.InsertRowAsync(Entry(20100 + round), new TableVersion(1, "0"), CancellationToken.None)));

            Assert.Single(results, won => won);
            var data = await table.ReadAllAsync(CancellationToken.None);
            Assert.Single(data.Members);
            Assert.Equal((1, "1"), (data.Version.Version, data.Version.VersionEtag));
        }
    }

    [Fact]
    public async Task Two_inserts_of_different_silos_from_one_reading_of_the_table_let_exactly_one_win()
    {
        var table = await FreshTableAsync();
        var results = await Task.WhenAll(
            Task.Run(() => table.InsertRowAsync(Entry(20201), new TableVersion(1, "0"), CancellationToken.None)),
            Task.Run(() => table.InsertRowAsync(Entry(20202), new TableVersion(1, "0"), CancellationToken.None)));

        Assert.Single(results, won => won);
        Assert.Single((await table.ReadAllAsync(CancellationToken.None)).Members);
    }

    [Fact]
    public async Task Two_updates_racing_on_one_version_let_exactly_one_win_and_the_loser_changes_nothing()
    {
        for (var round = 0; round < 10; round++)
        {
            var table = await FreshTableAsync();
            var entry = Entry(20300 + round);
            Assert.True(await table.InsertRowAsync(entry, new TableVersion(1, "0"), CancellationToken.None));
            var read = await table.ReadAllAsync(CancellationToken.None);
            var (current, rowEtag) = Assert.Single(read.Members);
            var next = read.Version.Next();

            var active = Copy(current, SiloStatus.Active);
            var dead = Copy(current, SiloStatus.Dead);
            var results = await Task.WhenAll(
                Task.Run(() => table.UpdateRowAsync(active, rowEtag, next, CancellationToken.None)),
                Task.Run(() => Table(ClusterIdOf(table)).UpdateRowAsync(dead, rowEtag, next, CancellationToken.None)));

            Assert.Single(results, won => won);
            var after = await table.ReadAllAsync(CancellationToken.None);
            var (stored, storedEtag) = Assert.Single(after.Members);
            Assert.Equal(results[0] ? SiloStatus.Active : SiloStatus.Dead, stored.Status);
            Assert.Equal("1", storedEtag);
            Assert.Equal((2, "2"), (after.Version.Version, after.Version.VersionEtag));
        }
    }

    [Fact]
    public async Task Inserting_a_silo_already_in_the_table_is_refused_and_the_version_stays()
    {
        var table = await FreshTableAsync();
        Assert.True(await table.InsertRowAsync(Entry(20401), new TableVersion(1, "0"), CancellationToken.None));

        Assert.False(await table.InsertRowAsync(Entry(20401, status: SiloStatus.Active), new TableVersion(2, "1"), CancellationToken.None));

        var data = await table.ReadAllAsync(CancellationToken.None);
        Assert.Equal((1, "1"), (data.Version.Version, data.Version.VersionEtag));
        Assert.Equal(SiloStatus.Joining, Assert.Single(data.Members).Item1.Status);
    }

    [Fact]
    public async Task A_write_with_a_stale_table_etag_is_refused()
    {
        var table = await FreshTableAsync();
        Assert.True(await table.InsertRowAsync(Entry(20501), new TableVersion(1, "0"), CancellationToken.None));

        Assert.False(await table.InsertRowAsync(Entry(20502), new TableVersion(1, "0"), CancellationToken.None));
        var (entry, etag) = Assert.Single((await table.ReadAllAsync(CancellationToken.None)).Members);
        Assert.False(await table.UpdateRowAsync(Copy(entry, SiloStatus.Active), etag, new TableVersion(1, "0"), CancellationToken.None));
        Assert.False(await table.UpdateRowAsync(Copy(entry, SiloStatus.Active), etag, new TableVersion(2, "not-an-etag"), CancellationToken.None));
        Assert.Equal(SiloStatus.Joining, Assert.Single((await table.ReadAllAsync(CancellationToken.None)).Members).Item1.Status);
    }

    [Fact]
    public async Task Updating_a_silo_not_in_the_table_is_refused_and_the_version_stays()
    {
        var table = await FreshTableAsync();
        Assert.False(await table.UpdateRowAsync(Entry(20601, status: SiloStatus.Active), "0", new TableVersion(1, "0"), CancellationToken.None));

        var data = await table.ReadAllAsync(CancellationToken.None);
        Assert.Equal((0, "0"), (data.Version.Version, data.Version.VersionEtag));
        Assert.Empty(data.Members);
    }

    [Fact]
    public async Task An_update_with_a_stale_row_etag_is_refused_even_on_the_current_table_version()
    {
        var table = await FreshTableAsync();
        Assert.True(await table.InsertRowAsync(Entry(20701), new TableVersion(1, "0"), CancellationToken.None));
        var first = await table.ReadAllAsync(CancellationToken.None);
        var (entry, rowEtag) = Assert.Single(first.Members);
        Assert.True(await table.UpdateRowAsync(Copy(entry, SiloStatus.Active), rowEtag, first.Version.Next(), CancellationToken.None));
        var second = await table.ReadAllAsync(CancellationToken.None);

        // The table etag is current, the row etag is the one read before the first update.
        Assert.False(await table.UpdateRowAsync(Copy(entry, SiloStatus.Dead), rowEtag, second.Version.Next(), CancellationToken.None));
        Assert.Equal(SiloStatus.Active, Assert.Single((await table.ReadAllAsync(CancellationToken.None)).Members).Item1.Status);
    }

    [Fact]
    public async Task The_heartbeat_moves_only_the_alive_time_and_an_update_read_before_it_still_succeeds()
    {
        var table = await FreshTableAsync();
        Assert.True(await table.InsertRowAsync(Entry(20801), new TableVersion(1, "0"), CancellationToken.None));
        var before = await table.ReadAllAsync(CancellationToken.None);
        var (entry, rowEtag) = Assert.Single(before.Members);

        var alive = Copy(entry, entry.Status);
        alive.IAmAliveTime = entry.IAmAliveTime.AddMinutes(5);
        await table.UpdateIAmAliveAsync(alive, CancellationToken.None);
        var stale = Copy(entry, entry.Status);
        stale.IAmAliveTime = entry.IAmAliveTime.AddMinutes(-5);
        await table.UpdateIAmAliveAsync(stale, CancellationToken.None); // a late heartbeat never moves it back

        var after = await table.ReadAllAsync(CancellationToken.None);
        var (beat, etagAfter) = Assert.Single(after.Members);
        Assert.Equal(alive.IAmAliveTime, beat.IAmAliveTime);
        Assert.Equal((before.Version.VersionEtag, rowEtag), (after.Version.VersionEtag, etagAfter));
        Assert.True(await table.UpdateRowAsync(Copy(entry, SiloStatus.Active), rowEtag, before.Version.Next(), CancellationToken.None));
    }

    [Fact]
    public async Task Cleanup_deletes_only_dead_silos_last_heard_of_before_the_date()
    {
        var table = await FreshTableAsync();
        var cutoff = new DateTimeOffset(2026, 12, 1, 21, 0, 0, TimeSpan.Zero);
        var oldDead = Entry(20901, status: SiloStatus.Dead);
        var oldActive = Entry(20902, status: SiloStatus.Active);
        var recentDead = Entry(20903, status: SiloStatus.Dead);
        recentDead.IAmAliveTime = cutoff.UtcDateTime.AddMinutes(1);
        var version = new TableVersion(0, "0");
        foreach (var entry in new[] { oldDead, oldActive, recentDead })
        {
            version = version.Next();
            Assert.True(await table.InsertRowAsync(entry, version, CancellationToken.None));
            version = (await table.ReadAllAsync(CancellationToken.None)).Version;
        }

        await table.CleanupDefunctSiloEntriesAsync(cutoff, CancellationToken.None);

        var left = (await table.ReadAllAsync(CancellationToken.None)).Members.Select(m => m.Item1.SiloAddress).ToHashSet();
        Assert.Equal(new HashSet<SiloAddress> { oldActive.SiloAddress, recentDead.SiloAddress }, left);
    }

    [Fact]
    public async Task Deleting_a_cluster_id_removes_its_rows_and_version_and_no_other_cluster_s()
    {
        var doomed = await FreshTableAsync();
        var kept = await FreshTableAsync();
        Assert.True(await doomed.InsertRowAsync(Entry(21001), new TableVersion(1, "0"), CancellationToken.None));
        Assert.True(await kept.InsertRowAsync(Entry(21001), new TableVersion(1, "0"), CancellationToken.None));

        await kept.DeleteMembershipTableEntriesAsync(ClusterIdOf(doomed), CancellationToken.None);

        var gone = await doomed.ReadAllAsync(CancellationToken.None);
        Assert.Equal((0, 0), (gone.Version.Version, gone.Members.Count));
        Assert.Single((await kept.ReadAllAsync(CancellationToken.None)).Members);
    }

    private static string ClusterIdOf(PostgresMembershipTable table) => table.ClusterId;

    private static MembershipEntry Copy(MembershipEntry entry, SiloStatus status) => new()
    {
        SiloAddress = entry.SiloAddress,
        HostName = entry.HostName,
        SiloName = entry.SiloName,
        RoleName = entry.RoleName,
        Status = status,
        ProxyPort = entry.ProxyPort,
        UpdateZone = entry.UpdateZone,
        FaultZone = entry.FaultZone,
        SuspectTimes = [.. entry.SuspectTimes ?? []],
        StartTime = entry.StartTime,
        IAmAliveTime = entry.IAmAliveTime,
    };
}
