using System.Diagnostics.CodeAnalysis;
using System.Text;
using Dapper;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace HohhotCluster.Telemetry.Storage.Cluster;

/// <summary>How often a host that does not hold a lease asks for it again, and how often the holder checks that its lease connection lives.</summary>
public sealed class SingleHostWorkOptions
{
    public const string Section = "Cluster:SingleHostWork";

    /// <summary>How long a host without the lease waits before it asks again: the longest a dead holder's work stands still.</summary>
    public TimeSpan RetryInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How often the holder checks its lease connection (a PostgreSQL restart ends the session and with it the lock).</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// Work that must run on one host of the cluster at a time (the silent-device watchdog, alert escalation, retention): the
/// wrapped hosted service is started only while this host holds a session-level PostgreSQL advisory lock named after the
/// work, taken with <c>pg_try_advisory_lock</c> on a connection of its own and held for as long as the work runs. When the
/// host stops it stops the work and unlocks; when the host dies its connection dies and PostgreSQL releases the lock, and
/// the next host to ask takes it over. When the lease connection breaks while the host lives, the work is stopped first
/// and the lock asked for again, so two hosts never run it at once for longer than one check interval.
/// </summary>
public sealed partial class SingleHostWork(
    string name,
    IHostedService work,
    NpgsqlDataSource dataSource,
    SingleHostWorkOptions options,
    TimeProvider clock,
    ILogger<SingleHostWork> logger) : BackgroundService
{
    /// <summary>The advisory lock's first key: the platform's (the second is the work's name hashed).</summary>
    public const int LockClass = 0x486f6868; // "Hohh"

    private volatile bool _holding;

    public string Name => name;

    /// <summary>The work wrapped (for tests and for a host that must reach it).</summary>
    public IHostedService Work => work;

    /// <summary>Whether this host holds the lease and runs the work now.</summary>
    public bool Holding => _holding;

    /// <summary>The advisory lock's second key: FNV-1a of the name's UTF-8, stable across processes and releases.</summary>
    public static int LockKey(string workName)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(workName))
        {
            hash = (hash ^ b) * 16777619u;
        }

        return unchecked((int)hash);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var key = LockKey(name);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await using var connection = await dataSource.OpenConnectionAsync(stoppingToken);
                var acquired = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                    "select pg_try_advisory_lock(@lockClass, @key)", new { lockClass = LockClass, key }, cancellationToken: stoppingToken));
                if (acquired)
                {
                    await RunWhileHeldAsync(connection, key, stoppingToken);
                    continue;
                }
            }
            catch (Exception exception) when (IsStoreTrouble(exception) && !stoppingToken.IsCancellationRequested)
            {
                LogLeaseTrouble(name, exception.Message);
            }

            try
            {
                await Task.Delay(options.RetryInterval, clock, stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task RunWhileHeldAsync(NpgsqlConnection connection, int key, CancellationToken stoppingToken)
    {
        LogLeaseTaken(name, Environment.ProcessId);
        _holding = true;
        try
        {
            await work.StartAsync(stoppingToken);
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await Task.Delay(options.CheckInterval, clock, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                // The lock lives as long as this session: a failed round trip means it may already be someone else's.
                await connection.ExecuteScalarAsync<int>(new CommandDefinition("select 1", cancellationToken: stoppingToken));
            }
        }
        catch (Exception exception) when (IsStoreTrouble(exception) && !stoppingToken.IsCancellationRequested)
        {
            LogLeaseLost(name, exception.Message);
        }
        finally
        {
            _holding = false;
            // Stop the work before the lock can pass on (on shutdown: before the unlock below).
            await work.StopAsync(CancellationToken.None);
            await UnlockAsync(connection, key);
        }
    }

    private async Task UnlockAsync(NpgsqlConnection connection, int key)
    {
        try
        {
            await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "select pg_advisory_unlock(@lockClass, @key)", new { lockClass = LockClass, key }, cancellationToken: CancellationToken.None));
            LogLeaseReleased(name);
        }
        catch (Exception exception) when (IsStoreTrouble(exception))
        {
            // The session is gone, and the lock with it.
        }
    }

    private static bool IsStoreTrouble([NotNullWhen(true)] Exception? exception) =>
        exception is NpgsqlException or TimeoutException or InvalidOperationException or System.Net.Sockets.SocketException or IOException;

    [LoggerMessage(EventId = 1510, Level = LogLevel.Information, Message = "This host (pid {ProcessId}) holds the lease of {Work} and runs it")]
    private partial void LogLeaseTaken(string work, int processId);

    [LoggerMessage(EventId = 1511, Level = LogLevel.Warning, Message = "Lost the lease of {Work}: {Reason}; the work is stopped and the lease asked for again")]
    private partial void LogLeaseLost(string work, string reason);

    [LoggerMessage(EventId = 1512, Level = LogLevel.Information, Message = "Released the lease of {Work}")]
    private partial void LogLeaseReleased(string work);

    [LoggerMessage(EventId = 1513, Level = LogLevel.Warning, Message = "Cannot ask for the lease of {Work}: {Reason}")]
    private partial void LogLeaseTrouble(string work, string reason);
}
