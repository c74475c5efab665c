using Npgsql;

namespace HohhotCluster.Telemetry.Storage;

/// <summary>
/// Tells whether PostgreSQL takes writes, not only reads: rewrites this host's row of <c>health_probe</c> (migration
/// 0010). Null when the write committed, else what PostgreSQL said (read-only: 25006; disk full: 53100).
/// </summary>
public sealed class StoreWriteProbe(NpgsqlDataSource dataSource, TimeProvider clock)
{
    private const string Sql = """
        insert into health_probe (host, probed_at) values ($1, $2)
        on conflict (host) do update set probed_at = excluded.probed_at
        """;

    public async Task<string?> ProbeAsync(string host, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = dataSource.CreateCommand(Sql);
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = host });
            command.Parameters.Add(new NpgsqlParameter<DateTime> { TypedValue = clock.GetUtcNow().UtcDateTime });
            await command.ExecuteNonQueryAsync(cancellationToken);
            return null;
        }
        catch (PostgresException exception)
        {
            return $"{exception.SqlState}: {exception.MessageText}";
        }
    }
}
