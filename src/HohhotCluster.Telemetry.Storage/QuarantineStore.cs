using Dapper;
using Npgsql;

namespace HohhotCluster.Telemetry.Storage;

public sealed record QuarantinedMessage
{
    public long Id { get; init; }
    public DateTimeOffset ReceivedAt { get; init; }
    public required string Topic { get; init; }
    public required string Reason { get; init; }
    public string Detail { get; init; } = "";
    public string? DeviceId { get; init; }
    public required byte[] Payload { get; init; }
}

/// <summary>Where a message that failed validation is kept, with its raw bytes and the reason.</summary>
public sealed class QuarantineStore(NpgsqlDataSource dataSource)
{
    public async Task AddAsync(QuarantinedMessage message, CancellationToken cancellationToken = default)
    {
        // Retried: a duplicate quarantine row after a lost reply is harmless, a lost one is not.
        await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return await connection.ExecuteAsync(new CommandDefinition(
                """
                insert into quarantine (received_at, topic, reason, detail, device_id, payload)
                values (@ReceivedAt, @Topic, @Reason, @Detail, @DeviceId, @Payload)
                """, message, cancellationToken: ct));
        }, cancellationToken);
    }

    public Task<IReadOnlyList<QuarantinedMessage>> ListAsync(DateTimeOffset since, int limit, CancellationToken cancellationToken = default) =>
        PostgresRetry.RunAsync<IReadOnlyList<QuarantinedMessage>>(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return (await connection.QueryAsync<QuarantinedMessage>(new CommandDefinition(
                """
                select id as Id, received_at as ReceivedAt, topic as Topic, reason as Reason, detail as Detail,
                       device_id as DeviceId, payload as Payload
                from quarantine where received_at >= @since order by id limit @limit
                """, new { since, limit }, cancellationToken: ct))).AsList();
        }, cancellationToken);
}
