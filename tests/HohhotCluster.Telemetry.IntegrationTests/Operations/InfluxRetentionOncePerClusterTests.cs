using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.Storage.Cluster;
using HohhotCluster.Telemetry.TimeSeries;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.IntegrationTests.Operations;

/// <summary>
/// The InfluxDB retention set-up done once per cluster, against the real InfluxDB 1.6 and PostgreSQL: each "host" is
/// its own <see cref="InfluxRetention"/> with its own data source (as two processes have), on one PostgreSQL database
/// (the cluster's <c>cluster_setup</c> record) and one InfluxDB database.
/// </summary>
public sealed class InfluxRetentionOncePerClusterTests : IAsyncLifetime
{
    private readonly List<NpgsqlDataSource> _sources = [];
    private string _postgres = "";
    private string _database = "";

    public async Task InitializeAsync()
    {
        (_postgres, _database) = await TestServers.CreateDatabasesAsync(TestServers.UniqueName("rpc"));
        var source = Source("migrator");
        await new SchemaMigrator(source, [new MigrationSource(typeof(SchemaMigrator).Assembly)], NullLogger<SchemaMigrator>.Instance).MigrateAsync();
    }

    public async Task DisposeAsync()
    {
        foreach (var source in _sources)
        {
            await source.DisposeAsync();
        }
    }

    private NpgsqlDataSource Source(string host)
    {
        var source = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(_postgres) { ApplicationName = host }.ConnectionString);
        _sources.Add(source);
        return source;
    }

    /// <summary>A host's retention set-up, as the platform wires it: its configuration, the PostgreSQL gate on its own data source.</summary>
    private InfluxRetention Host(string name, InfluxRetentionOptions? options = null) =>
        new(Options.Create(new InfluxOptions { Url = TestServers.InfluxUrl, Database = _database }), Options.Create(options ?? new InfluxRetentionOptions()),
            NullLogger<InfluxRetention>.Instance, new PostgresRetentionSetupGate(new ClusterSetupLedger(Source(name))));

    private async Task<Dictionary<string, (string Duration, bool Default)>> PoliciesAsync()
    {
        var reply = await new InfluxQuery(_database).ExecuteAsync($"SHOW RETENTION POLICIES ON \"{_database}\"");
        return reply.GetProperty("results")[0].GetProperty("series")[0].GetProperty("values").EnumerateArray()
            .ToDictionary(r => r[0].GetString()!, r => (r[1].GetString()!, r[4].GetBoolean()));
    }

    private async Task<List<string>> ContinuousQueriesAsync()
    {
        var reply = await new InfluxQuery(_database).ExecuteAsync("SHOW CONTINUOUS QUERIES");
        return reply.GetProperty("results")[0].GetProperty("series").EnumerateArray()
            .Where(s => s.GetProperty("name").GetString() == _database && s.TryGetProperty("values", out _))
            .SelectMany(s => s.GetProperty("values").EnumerateArray().Select(r => r[0].GetString()!)).ToList();
    }

    private Task<ClusterSetupEntry?> RecordAsync() => new ClusterSetupLedger(Source("reader")).ReadAsync(PostgresRetentionSetupGate.SetupName(_database), CancellationToken.None);

    [Fact]
    public async Task Of_two_hosts_starting_at_once_one_sets_retention_up_and_the_other_sees_it_done()
    {
        var a = Host("host-a");
        var b = Host("host-b");
        using var go = new ManualResetEventSlim();
        var starts = new[] { a, b }.Select(host => Task.Run(async () =>
        {
            go.Wait();
            return await host.StartOnceAsync(CancellationToken.None);
        })).ToArray();
        go.Set();
        var outcomes = await Task.WhenAll(starts);

        Assert.Equal([RetentionSetupOutcome.Applied, RetentionSetupOutcome.AlreadyDone], outcomes.Order());
        var policies = await PoliciesAsync();
        Assert.Equal(("2160h0m0s", true), policies["raw"]);
        Assert.Equal(("17520h0m0s", false), policies["hourly"]);
        Assert.Equal(("87600h0m0s", false), policies["daily"]);
        Assert.Equal(["hohhot_daily", "hohhot_hourly"], (await ContinuousQueriesAsync()).Order());
        var record = await RecordAsync();
        Assert.NotNull(record);
        Assert.Equal(1, record.Revision);
        Assert.Contains("\"rawHours\": 2160", record.Settings, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_host_starting_after_a_retention_change_does_not_revert_it()
    {
        Assert.Equal(RetentionSetupOutcome.Applied, await Host("host-a").StartOnceAsync(CancellationToken.None));
        // The change: raw points kept 30 days, configured with a newer revision on one host, which applies it at its start.
        var changed = new InfluxRetentionOptions { Raw = TimeSpan.FromDays(30), Revision = 2 };
        Assert.Equal(RetentionSetupOutcome.Applied, await Host("host-c", changed).StartOnceAsync(CancellationToken.None));
        Assert.Equal(("720h0m0s", true), (await PoliciesAsync())["raw"]);

        // A host still configured with the defaults (revision 1, 90 days) starts, and again later: the change stays.
        Assert.Equal(RetentionSetupOutcome.AlreadyDone, await Host("host-b").StartOnceAsync(CancellationToken.None));
        Assert.Equal(RetentionSetupOutcome.AlreadyDone, await Host("host-b-again").StartOnceAsync(CancellationToken.None));
        Assert.Equal(("720h0m0s", true), (await PoliciesAsync())["raw"]);
        Assert.Equal(2, (await RecordAsync())!.Revision);
        Assert.Equal(2, (await ContinuousQueriesAsync()).Count);

        // An operator's own ALTER in InfluxDB is left alone by a start at the recorded revision, too.
        await new InfluxQuery(_database).ExecuteAsync($"ALTER RETENTION POLICY \"hourly\" ON \"{_database}\" DURATION 9000h");
        Assert.Equal(RetentionSetupOutcome.AlreadyDone, await Host("host-c-restarted", changed).StartOnceAsync(CancellationToken.None));
        Assert.Equal("9000h0m0s", (await PoliciesAsync())["hourly"].Duration);
    }

    [Fact]
    public async Task A_host_seeing_it_done_creates_what_a_replaced_influxdb_lacks_with_the_recorded_durations()
    {
        var changed = new InfluxRetentionOptions { Raw = TimeSpan.FromDays(30), Revision = 2 };
        Assert.Equal(RetentionSetupOutcome.Applied, await Host("host-a", changed).StartOnceAsync(CancellationToken.None));
        // InfluxDB replaced (its database gone); PostgreSQL still says the set-up is done.
        await new InfluxQuery(_database).ExecuteAsync($"DROP DATABASE \"{_database}\"");

        Assert.Equal(RetentionSetupOutcome.AlreadyDone, await Host("host-b").StartOnceAsync(CancellationToken.None));
        var policies = await PoliciesAsync();
        Assert.Equal(("720h0m0s", true), policies["raw"]);
        Assert.Equal(("17520h0m0s", false), policies["hourly"]);
        Assert.Equal(2, (await ContinuousQueriesAsync()).Count);
    }

    [Fact]
    public async Task Without_postgresql_the_start_is_refused_as_unavailable_and_nothing_is_applied()
    {
        await using var nowhere = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(_postgres) { Port = PlatformProcess.FreePort(), Timeout = 2 }.ConnectionString);
        var host = new InfluxRetention(Options.Create(new InfluxOptions { Url = TestServers.InfluxUrl, Database = _database }), Options.Create(new InfluxRetentionOptions()),
            NullLogger<InfluxRetention>.Instance, new PostgresRetentionSetupGate(new ClusterSetupLedger(nowhere)));
        await Assert.ThrowsAsync<RetentionSetupUnavailableException>(() => host.StartOnceAsync(CancellationToken.None));
        Assert.False((await PoliciesAsync()).ContainsKey("raw"), "the set-up ran without its record");
    }
}
