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
}
