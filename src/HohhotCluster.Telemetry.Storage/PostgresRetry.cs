using Npgsql;

namespace HohhotCluster.Telemetry.Storage;

/// <summary>
/// After a PostgreSQL restart every pooled connection fails once (57P01 admin shutdown) and new connections are
/// refused while the server starts. Reads and idempotent writes go through here: a few quick retries, then the error.
/// </summary>
public static class PostgresRetry
{
    private static readonly TimeSpan[] Delays = [TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(1)];

    public static bool IsTransient(Exception exception) => exception switch
    {
        PostgresException pg => pg.IsTransient || pg.SqlState is "57P01" or "57P02" or "57P03" or "08006" or "08003",
        NpgsqlException npgsql => npgsql.IsTransient,
        _ => false,
    };

    public static async Task<NpgsqlConnection> OpenAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        return await RunAsync(ct => dataSource.OpenConnectionAsync(ct).AsTask(), cancellationToken);
    }

    /// <summary>Runs an idempotent operation, retrying transient failures.</summary>
    public static async Task<T> RunAsync<T>(Func<CancellationToken, Task<T>> operation, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                return await operation(cancellationToken);
            }
            catch (Exception exception) when (attempt < Delays.Length && IsTransient(exception))
            {
                if (exception is PostgresException { SqlState: "57P01" })
                {
                    // The pool still holds connections to the old server process: drop them all at once.
                    NpgsqlConnection.ClearAllPools();
                }

                await Task.Delay(Delays[attempt], cancellationToken);
            }
        }
    }
}
