using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Storage.Cluster;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace HohhotCluster.Telemetry.ClusterTests.Lease;

/// <summary>
/// <see cref="SingleHostWork"/> on a real PostgreSQL: two "hosts" (each its own data source, as two processes would
/// have) wrap the same work; one runs it, and it moves when the holder stops or its session dies.
/// </summary>
public sealed class SingleHostWorkTests : IAsyncLifetime
{
    private static readonly SingleHostWorkOptions Fast = new() { RetryInterval = TimeSpan.FromMilliseconds(100), CheckInterval = TimeSpan.FromMilliseconds(100) };
    private readonly string _work = "test-work-" + Guid.NewGuid().ToString("N")[..8];
    private string _connection = "";
    private readonly List<NpgsqlDataSource> _sources = [];

    public async Task InitializeAsync()
    {
        (_connection, _) = await TestServers.CreateDatabasesAsync(TestServers.UniqueName("lease"));
    }

    public async Task DisposeAsync()
    {
        foreach (var source in _sources)
        {
            await source.DisposeAsync();
        }
    }

    private (SingleHostWork Lease, CountingWork Work) Host(string name)
    {
        var source = NpgsqlDataSource.Create(new NpgsqlConnectionStringBuilder(_connection) { ApplicationName = name }.ConnectionString);
        _sources.Add(source);
        var work = new CountingWork();
        return (new SingleHostWork(_work, work, source, Fast, TimeProvider.System, NullLogger<SingleHostWork>.Instance), work);
    }

    [Fact]
    public async Task Of_two_hosts_exactly_one_runs_the_work()
    {
        var (a, workA) = Host("host-a");
        var (b, workB) = Host("host-b");
        await a.StartAsync(CancellationToken.None);
        await b.StartAsync(CancellationToken.None);

        await Eventually.WaitAsync(() => Task.FromResult(workA.Running || workB.Running), running => running, TimeSpan.FromSeconds(20));
        await Task.Delay(1000); // both have asked several times by now

        Assert.True(workA.Running ^ workB.Running, $"A running {workA.Running}, B running {workB.Running}");
        Assert.Equal(1, workA.Starts + workB.Starts);
        Assert.True(a.Holding ^ b.Holding);
        await a.StopAsync(CancellationToken.None);
        await b.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task When_the_holder_stops_the_other_host_takes_the_work_over()
    {
        var (a, workA) = Host("host-a");
        await a.StartAsync(CancellationToken.None);
        await Eventually.WaitAsync(() => Task.FromResult(workA.Running), running => running, TimeSpan.FromSeconds(20));
        var (b, workB) = Host("host-b");
        await b.StartAsync(CancellationToken.None);
        await Task.Delay(500);
        Assert.False(workB.Running);

        await a.StopAsync(CancellationToken.None);

        Assert.False(workA.Running);
        Assert.Equal(1, workA.Stops);
        Assert.True((await Eventually.WaitAsync(() => Task.FromResult(workB.Running), running => running, TimeSpan.FromSeconds(20))));
        await b.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task When_the_holder_s_session_dies_it_stops_its_work_and_exactly_one_host_holds_and_runs_it_again()
    {
        var (a, workA) = Host("host-a");
        await a.StartAsync(CancellationToken.None);
        await Eventually.WaitAsync(() => Task.FromResult(workA.Running), running => running, TimeSpan.FromSeconds(20));
        var (b, workB) = Host("host-b");
        await b.StartAsync(CancellationToken.None);
        await Task.Delay(500);
        Assert.False(workB.Running);

        // What PostgreSQL does when a host dies: its sessions end, and their advisory locks with them.
        await using (var admin = NpgsqlDataSource.Create(_connection))
        {
            await using var command = admin.CreateCommand(
                "select count(pg_terminate_backend(a.pid)) from pg_stat_activity a join pg_locks l on l.pid = a.pid " +
                "where a.application_name = 'host-a' and l.locktype = 'advisory' and l.granted");
            Assert.Equal(1L, await command.ExecuteScalarAsync());
        }

        // The holder notices its session is gone and stops its work; then the lease is held again by exactly one host,
        // running there only. Which host wins it is a race between A asking again and B's next try, so either may.
        Assert.True(await Eventually.WaitAsync(() => Task.FromResult(Volatile.Read(ref workA.Stops)), stops => stops >= 1, TimeSpan.FromSeconds(20)) >= 1);
        var settled = await Eventually.WaitAsync(
            () => Task.FromResult((a.Holding, workA.Running, b.Holding, workB.Running)),
            state => state.Item1 != state.Item3 && state.Item1 == state.Item2 && state.Item3 == state.Item4,
            TimeSpan.FromSeconds(20));
        Assert.True(settled.Item1 != settled.Item3, $"exactly one host holds the lease again (a {settled.Item1}, b {settled.Item3})");
        Assert.Equal(settled.Item1, settled.Item2);
        Assert.Equal(settled.Item3, settled.Item4);
        await a.StopAsync(CancellationToken.None);
        await b.StopAsync(CancellationToken.None);
    }

    [Fact]
    public void The_lock_key_is_stable_and_differs_by_work()
    {
        Assert.Equal(SingleHostWork.LockKey("device-watchdog"), SingleHostWork.LockKey("device-watchdog"));
        Assert.NotEqual(SingleHostWork.LockKey("device-watchdog"), SingleHostWork.LockKey("store-retention"));
        // FNV-1a 32 of "a" (a published test vector).
        Assert.Equal(unchecked((int)0xe40c292cu), SingleHostWork.LockKey("a"));
    }

    private sealed class CountingWork : IHostedService
    {
        private volatile bool _running;
        public bool Running => _running;
        public int Starts;
        public int Stops;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Starts);
            _running = true;
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Stops);
            _running = false;
            return Task.CompletedTask;
        }
    }
}
