namespace HohhotCluster.Telemetry.TimeSeries;

/// <summary>The retention set-up as it was done: with which configuration revision and durations, by whom, when.</summary>
public sealed record RetentionSetupRecord(int Revision, TimeSpan Raw, TimeSpan Hourly, TimeSpan Daily, string AppliedBy = "", DateTimeOffset AppliedAt = default);

/// <summary>What a host's start did to the retention set-up.</summary>
public enum RetentionSetupOutcome
{
    /// <summary>This host set the policies and continuous queries up with its configuration (none recorded, or an older revision).</summary>
    Applied,

    /// <summary>Another host (or an earlier start) had done it at this revision or a newer one: left as it is, only what was missing created.</summary>
    AlreadyDone,
}

/// <summary>
/// Where the hosts of a cluster agree that the retention set-up of a database is done once: the set-up runs alone (no
/// other host's at the same time) and sees what was recorded before it. The platform's is PostgreSQL's (the host's
/// <see cref="PostgresRetentionSetupGate"/>); <see cref="UnsharedRetentionSetupGate"/> records nothing (a tool, one process).
/// </summary>
public interface IRetentionSetupGate
{
    /// <summary>
    /// Runs <paramref name="setup"/> alone: it gets the record (null: never done) and returns what to record, or null when
    /// it changed nothing. Store trouble is thrown as <see cref="RetentionSetupUnavailableException"/> (retried).
    /// </summary>
    Task<RetentionSetupRecord?> RunAloneAsync(
        string database, Func<RetentionSetupRecord?, CancellationToken, Task<RetentionSetupRecord?>> setup, CancellationToken cancellationToken);
}

/// <summary>No record, no coordination: every start applies its configuration (one process on its own database).</summary>
public sealed class UnsharedRetentionSetupGate : IRetentionSetupGate
{
    public async Task<RetentionSetupRecord?> RunAloneAsync(
        string database, Func<RetentionSetupRecord?, CancellationToken, Task<RetentionSetupRecord?>> setup, CancellationToken cancellationToken) =>
        await setup(null, cancellationToken);
}

/// <summary>The gate's store could not be asked (PostgreSQL away, or another host's set-up held it too long): try again later.</summary>
public sealed class RetentionSetupUnavailableException(string message, Exception inner) : Exception(message, inner);
