using System.Text.Json;
using Dapper;
using HohhotCluster.Telemetry.Contracts;
using Npgsql;

namespace HohhotCluster.Telemetry.Storage;

/// <summary>A reading that reached a durable outcome: its key and the kind its topic named (null: the topic did not read).</summary>
public readonly record struct DeliveredKey(ReadingKey Key, string? Kind);

/// <summary>A run of sequence numbers, both ends included.</summary>
public readonly record struct SequenceRun(long First, long Last);

/// <summary>One boot of one device as <c>device_sequence</c> holds it.</summary>
public sealed record DeviceBootSequence(
    string DeviceId,
    long BootEpoch,
    IReadOnlyList<SequenceRun> Runs,
    IReadOnlyDictionary<string, DateTimeOffset> KindsLastDelivered,
    DateTimeOffset UpdatedAt);

/// <summary>
/// <c>device_sequence</c>: the keys every device delivered, per boot epoch, as ranges of sequence numbers, and the
/// kinds it sent with when each was last delivered. One record per device over all its kinds and owners (not one
/// per grain), so a tank whose <c>tanker_pickup</c> shares its sequence with its levels, or a milk meter whose
/// milkings go to two herds, has no false holes. The ingestion merges each batch in one statement; the merge is a
/// union of ranges, so a redelivery or a retried batch changes nothing and concurrent batches lose nothing.
/// </summary>
public sealed class DeviceSequenceStore(NpgsqlDataSource dataSource, TimeProvider clock)
{
    /// <summary>Merges the batch's delivered keys into their devices' records (one statement; nothing to do for none).</summary>
    public async Task RecordAsync(IReadOnlyList<DeliveredKey> delivered, CancellationToken cancellationToken)
    {
        if (delivered.Count == 0)
        {
            return;
        }

        var now = clock.GetUtcNow().UtcDateTime;
        await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            // Rows in key order, so two batches touching the same devices lock them in the same order (no deadlock).
            return await connection.ExecuteAsync(new CommandDefinition(
                """
                insert into device_sequence (device_id, boot_epoch, ranges, kinds, updated_at)
                select d, e, range_agg(int8range(s, s, '[]')), coalesce(jsonb_object_agg(k, @now::timestamptz) filter (where k is not null), '{}'), @now
                from unnest(@devices::text[], @epochs::bigint[], @seqs::bigint[], @kinds::text[]) as t(d, e, s, k)
                group by d, e
                order by d, e
                on conflict (device_id, boot_epoch) do update
                    set ranges = device_sequence.ranges + excluded.ranges,
                        kinds = device_sequence.kinds || excluded.kinds,
                        updated_at = excluded.updated_at
                """,
                new
                {
                    devices = delivered.Select(d => d.Key.DeviceId).ToArray(),
                    epochs = delivered.Select(d => d.Key.BootEpoch).ToArray(),
                    seqs = delivered.Select(d => d.Key.Sequence).ToArray(),
                    kinds = delivered.Select(d => d.Kind).ToArray(),
                    now,
                },
                cancellationToken: ct));
        }, cancellationToken);
    }

    /// <summary>The boots updated after <paramref name="after"/> (all of them for <see cref="DateTimeOffset.MinValue"/>).</summary>
    public Task<IReadOnlyList<DeviceBootSequence>> UpdatedAfterAsync(DateTimeOffset after, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync<IReadOnlyList<DeviceBootSequence>>(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var rows = await connection.QueryAsync<(string DeviceId, long BootEpoch, long[] Firsts, long[] Lasts, string Kinds, DateTime UpdatedAt)>(new CommandDefinition(
                """
                select device_id, boot_epoch,
                    array(select lower(r) from unnest(ranges) as r) as firsts,
                    array(select upper(r) - 1 from unnest(ranges) as r) as lasts,
                    kinds::text, updated_at
                from device_sequence where updated_at > @after
                """,
                new { after = after == DateTimeOffset.MinValue ? DateTime.MinValue : after.UtcDateTime }, cancellationToken: ct));
            return rows.Select(r => new DeviceBootSequence(
                r.DeviceId,
                r.BootEpoch,
                r.Firsts.Zip(r.Lasts, (first, last) => new SequenceRun(first, last)).ToArray(),
                ParseKinds(r.Kinds),
                new DateTimeOffset(DateTime.SpecifyKind(r.UpdatedAt, DateTimeKind.Utc)))).ToList();
        }, cancellationToken);

    /// <summary>Deletes the boots not updated since <paramref name="cutoff"/>; returns how many.</summary>
    public async Task<long> DeleteNotUpdatedSinceAsync(DateTimeOffset cutoff, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            "delete from device_sequence where updated_at < @cutoff",
            new { cutoff = cutoff.UtcDateTime }, cancellationToken: cancellationToken));
    }

    private static Dictionary<string, DateTimeOffset> ParseKinds(string json)
    {
        var kinds = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        using var document = JsonDocument.Parse(json);
        foreach (var kind in document.RootElement.EnumerateObject())
        {
            if (kind.Value.ValueKind == JsonValueKind.String && kind.Value.TryGetDateTimeOffset(out var at))
            {
                kinds[kind.Name] = at;
            }
        }

        return kinds;
    }
}
