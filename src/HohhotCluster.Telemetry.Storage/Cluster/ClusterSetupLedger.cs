using Dapper;
using Npgsql;

namespace HohhotCluster.Telemetry.Storage.Cluster;

/// <summary>A piece of set-up as recorded: the configuration revision it was done with, its settings (JSON), by whom, when.</summary>
public sealed record ClusterSetupEntry(string Name, int Revision, string Settings, string AppliedBy, DateTimeOffset AppliedAt);

/// <summary>
/// Set-up that must be done once per cluster, not once per host (table <c>cluster_setup</c>, migration 0012; its one
/// owner). <see cref="RunAloneAsync"/> holds a transaction-level advisory lock on the set-up's name while the caller
/// looks at what is recorded and decides: a second host starting meanwhile waits for the first to commit and then sees
/// its record. If the set-up fails, nothing is recorded and the lock goes with the transaction.
/// </summary>
public sealed class ClusterSetupLedger(NpgsqlDataSource dataSource)
{
    /// <summary>The advisory lock's first key for set-up ("Hset"; <see cref="SingleHostWork.LockClass"/> is the leases').</summary>
    public const int LockClass = 0x48736574;

    /// <summary>How long a host waits for another host's set-up of the same name before it gives up (and retries later).</summary>
    public static readonly TimeSpan LockWait = TimeSpan.FromMinutes(2);

    /// <summary>
    /// Runs <paramref name="setup"/> alone in the cluster: it is given the current record (null: never done) and returns
    /// the revision and settings to record, or null when it changed nothing. Returns the record as it stands afterwards.
    /// </summary>
    public async Task<ClusterSetupEntry?> RunAloneAsync(
        string name, Func<ClusterSetupEntry?, CancellationToken, Task<(int Revision, string Settings)?>> setup, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            $"set local lock_timeout = '{(int)LockWait.TotalMilliseconds}ms'", transaction: transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            "select pg_advisory_xact_lock(@lockClass, @key)", new { lockClass = LockClass, key = SingleHostWork.LockKey(name) },
            transaction: transaction, cancellationToken: cancellationToken));
        var current = await ReadAsync(connection, transaction, name, cancellationToken);
        var done = await setup(current, cancellationToken);
        if (done is not { } record)
        {
            await transaction.CommitAsync(cancellationToken);
            return current;
        }

        var written = await connection.QuerySingleAsync<Row>(new CommandDefinition(
            """
            insert into cluster_setup (name, revision, settings, applied_by, applied_at)
            values (@name, @revision, @settings::jsonb, @appliedBy, now())
            on conflict (name) do update set revision = excluded.revision, settings = excluded.settings,
                applied_by = excluded.applied_by, applied_at = excluded.applied_at
            returning name, revision, settings::text as settings, applied_by as appliedby, applied_at as appliedat
            """,
            new { name, revision = record.Revision, settings = record.Settings, appliedBy = Identity() },
            transaction: transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return written.ToEntry();
    }

    /// <summary>What is recorded for <paramref name="name"/> (null: never done).</summary>
    public async Task<ClusterSetupEntry?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        return await ReadAsync(connection, null, name, cancellationToken);
    }

    private static async Task<ClusterSetupEntry?> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, string name, CancellationToken cancellationToken) =>
        (await connection.QuerySingleOrDefaultAsync<Row>(new CommandDefinition(
            "select name, revision, settings::text as settings, applied_by as appliedby, applied_at as appliedat from cluster_setup where name = @name",
            new { name }, transaction: transaction, cancellationToken: cancellationToken)))?.ToEntry();

    /// <summary>Who did it, for the operator: this machine and process.</summary>
    private static string Identity() => $"{Environment.MachineName} pid {Environment.ProcessId}";

    private sealed record Row(string Name, int Revision, string Settings, string AppliedBy, DateTime AppliedAt)
    {
        public ClusterSetupEntry ToEntry() => new(Name, Revision, Settings, AppliedBy, new DateTimeOffset(DateTime.SpecifyKind(AppliedAt, DateTimeKind.Utc)));
    }
}
