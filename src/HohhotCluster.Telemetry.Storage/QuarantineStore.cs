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

    /// <summary>The message's key, when it could be read (with <see cref="DeviceId"/>): a redelivery adds no row.</summary>
    public long? BootEpoch { get; init; }

    public long? Sequence { get; init; }
}

/// <summary>
/// Where a message that failed validation is kept, with its raw bytes and the reason. A message with a key is kept
/// once per reason: a redelivery of it adds no row, so counts of the quarantine are counts of messages.
/// </summary>
public sealed class QuarantineStore(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// Keeps the messages in one statement. Returns, for each message in order, whether it got a row of its own
    /// (false: the same key was already quarantined for the same reason, earlier or earlier in this list).
    /// </summary>
    public async Task<bool[]> AddAsync(IReadOnlyList<QuarantinedMessage> messages, CancellationToken cancellationToken = default)
    {
        if (messages.Count == 0)
        {
            return [];
        }

        var parameters = new
        {
            received = messages.Select(m => m.ReceivedAt.UtcDateTime).ToArray(),
            topics = messages.Select(m => m.Topic).ToArray(),
            reasons = messages.Select(m => m.Reason).ToArray(),
            details = messages.Select(m => m.Detail).ToArray(),
            devices = messages.Select(m => m.DeviceId).ToArray(),
            epochs = messages.Select(m => m.BootEpoch).ToArray(),
            seqs = messages.Select(m => m.Sequence).ToArray(),
            payloads = messages.Select(m => m.Payload).ToArray(),
        };

        // Retried: a retry after a lost reply finds its rows and adds none.
        var kept = await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return (await connection.QueryAsync<(string Device, long Epoch, long Seq, string Reason)>(new CommandDefinition(
                """
                insert into quarantine (received_at, topic, reason, detail, device_id, boot_epoch, seq, payload)
                select * from unnest(@received::timestamptz[], @topics::text[], @reasons::text[], @details::text[],
                                     @devices::text[], @epochs::bigint[], @seqs::bigint[], @payloads::bytea[])
                on conflict (device_id, boot_epoch, seq, reason) where seq is not null do nothing
                returning coalesce(device_id, ''), coalesce(boot_epoch, 0), coalesce(seq, -1), reason
                """, parameters, cancellationToken: ct))).ToHashSet();
        }, cancellationToken);

        var added = new bool[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            // Keyless messages always get a row; a keyed one got it if its key came back (the first in the list).
            added[i] = m.Sequence is not { } seq || kept.Remove((m.DeviceId ?? "", m.BootEpoch ?? 0, seq, m.Reason));
        }

        return added;
    }
}
