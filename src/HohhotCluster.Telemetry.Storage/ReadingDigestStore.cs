using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using Dapper;
using HohhotCluster.Telemetry.Contracts;
using Npgsql;

namespace HohhotCluster.Telemetry.Storage;

/// <summary>What <see cref="ReadingDigestStore.ClaimAsync"/> found for one reading's key and body.</summary>
public enum DigestClaim
{
    /// <summary>The key's first body: its digest is stored now.</summary>
    New = 0,

    /// <summary>The key was claimed before with the same body: a redelivery (or a retried claim whose reply was lost).</summary>
    Same = 1,

    /// <summary>The key was claimed before with another body: a conflicting duplicate.</summary>
    Conflict = 2,
}

/// <summary>The claim, and the digest the store holds for the key (for <see cref="DigestClaim.New"/>: the reading's own).</summary>
public readonly record struct DigestClaimResult(DigestClaim Claim, long StoredDigest);

/// <summary>
/// The digest of the body each reading key was first accepted with (<c>reading_digest</c>), so a resend with the
/// same key and another body can be told from a redelivery. Rows are kept by event time: the ingestion refuses a
/// reading older than its lateness limit, so an older digest is never consulted (<see cref="ReadingDigestRetention"/>).
/// </summary>
public sealed class ReadingDigestStore(NpgsqlDataSource dataSource, TimeProvider clock)
{
    /// <summary>
    /// Statements for one claim: a key another transaction inserts while this statement runs is skipped by its
    /// insert yet invisible to its snapshot; the next statement sees it.
    /// </summary>
    private const int MaxStatements = 3;

    /// <summary>
    /// Claims each reading's key for its body's digest in one statement: stores the digest of a key not seen before
    /// and compares the others with the stored one. Results are in input order. A key repeated within the list is
    /// decided by its first occurrence; later ones are compared with it.
    /// </summary>
    public async Task<DigestClaimResult[]> ClaimAsync(
        IReadOnlyList<(ReadingKey Key, long Digest, DateTimeOffset EventTime)> readings,
        CancellationToken ct)
    {
        var results = new DigestClaimResult[readings.Count];
        var pending = new List<int>(readings.Count);
        for (var i = 0; i < readings.Count; i++)
        {
            pending.Add(i);
        }

        for (var statement = 0; pending.Count > 0; statement++)
        {
            if (statement == MaxStatements)
            {
                throw new InvalidOperationException(
                    $"reading_digest: {pending.Count} keys (first {readings[pending[0]].Key}) were neither inserted nor found in {MaxStatements} statements.");
            }

            pending = await ClaimOnceAsync(readings, pending, results, ct);
        }

        return results;
    }

    /// <summary>Deletes the digests of readings whose event time is before <paramref name="cutoff"/>; returns how many.</summary>
    public async Task<long> DeleteEventsBeforeAsync(DateTimeOffset cutoff, CancellationToken ct)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, ct);
        return await connection.ExecuteAsync(new CommandDefinition(
            "delete from reading_digest where event_time < @cutoff",
            new { cutoff = cutoff.UtcDateTime }, cancellationToken: ct));
    }

    /// <summary>The first 8 bytes of the body's SHA-256, big-endian: <see cref="Format"/> gives the hash's first 16 hex digits.</summary>
    public static long DigestOf(ReadOnlySpan<byte> payload)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(payload, hash);
        return BinaryPrimitives.ReadInt64BigEndian(hash);
    }

    /// <summary>16 lowercase hex digits, as in quarantine details.</summary>
    public static string Format(long digest) => digest.ToString("x16", CultureInfo.InvariantCulture);

    /// <summary>
    /// Claims the readings at <paramref name="indices"/> into <paramref name="results"/>; returns the indices still
    /// undecided. Two statements, each linear in the batch: the new keys are inserted (a key repeated in the list
    /// only once, by its first occurrence), then the stored digests of the keys that were not new are read by their
    /// primary key. (One statement joining its own inserted rows was planned as nested loops over unindexed CTEs:
    /// quadratic, 3.8 s for 5,000 readings in the benchmark.)
    /// </summary>
    private async Task<List<int>> ClaimOnceAsync(
        IReadOnlyList<(ReadingKey Key, long Digest, DateTimeOffset EventTime)> readings,
        List<int> indices,
        DigestClaimResult[] results,
        CancellationToken ct)
    {
        var firstOf = new Dictionary<ReadingKey, int>(indices.Count);
        var unique = new List<int>(indices.Count);
        foreach (var index in indices)
        {
            if (firstOf.TryAdd(readings[index].Key, index))
            {
                unique.Add(index);
            }
        }

        // Inserted in key order, so two statements claiming overlapping keys wait for each other instead of deadlocking.
        unique.Sort((x, y) => Compare(readings[x].Key, readings[y].Key));
        var (inserted, stored) = await PostgresRetry.RunAsync(async token =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(token);
            var newKeys = new HashSet<ReadingKey>((await connection.QueryAsync<(string Device, long Epoch, long Seq)>(new CommandDefinition(
                """
                insert into reading_digest (device_id, boot_epoch, seq, digest, event_time, first_seen_at)
                select device_id, boot_epoch, seq, digest, event_time, @now
                from unnest(@devices::text[], @epochs::bigint[], @seqs::bigint[], @digests::bigint[], @times::timestamptz[])
                    with ordinality as t(device_id, boot_epoch, seq, digest, event_time, ordinal)
                order by ordinal
                on conflict do nothing
                returning device_id, boot_epoch, seq
                """,
                new
                {
                    devices = unique.Select(i => readings[i].Key.DeviceId).ToArray(),
                    epochs = unique.Select(i => readings[i].Key.BootEpoch).ToArray(),
                    seqs = unique.Select(i => readings[i].Key.Sequence).ToArray(),
                    digests = unique.Select(i => readings[i].Digest).ToArray(),
                    times = unique.Select(i => readings[i].EventTime.UtcDateTime).ToArray(),
                    now = clock.GetUtcNow().UtcDateTime,
                },
                cancellationToken: token))).Select(r => new ReadingKey(r.Device, r.Epoch, r.Seq)));

            var known = unique.Where(i => !newKeys.Contains(readings[i].Key)).ToList();
            var storedDigests = new Dictionary<ReadingKey, long>(known.Count);
            if (known.Count > 0)
            {
                foreach (var (device, epoch, seq, digest) in await connection.QueryAsync<(string, long, long, long)>(new CommandDefinition(
                    """
                    select d.device_id, d.boot_epoch, d.seq, d.digest
                    from unnest(@devices::text[], @epochs::bigint[], @seqs::bigint[]) as k(device_id, boot_epoch, seq)
                    join reading_digest d on d.device_id = k.device_id and d.boot_epoch = k.boot_epoch and d.seq = k.seq
                    """,
                    new
                    {
                        devices = known.Select(i => readings[i].Key.DeviceId).ToArray(),
                        epochs = known.Select(i => readings[i].Key.BootEpoch).ToArray(),
                        seqs = known.Select(i => readings[i].Key.Sequence).ToArray(),
                    },
                    cancellationToken: token)))
                {
                    storedDigests[new ReadingKey(device, epoch, seq)] = digest;
                }
            }

            return (newKeys, storedDigests);
        }, ct);

        var undecided = new List<int>();
        foreach (var index in indices)
        {
            var (key, digest, _) = readings[index];
            var first = firstOf[key];
            long storedDigest;
            if (inserted.Contains(key))
            {
                storedDigest = readings[first].Digest;
            }
            else if (!stored.TryGetValue(key, out storedDigest))
            {
                // Inserted by another statement not yet visible to ours: the next statement sees it.
                undecided.Add(index);
                continue;
            }

            var claim = index == first && inserted.Contains(key) ? DigestClaim.New
                : storedDigest == digest ? DigestClaim.Same : DigestClaim.Conflict;
            results[index] = new DigestClaimResult(claim, storedDigest);
        }

        return undecided;
    }

    private static int Compare(ReadingKey x, ReadingKey y)
    {
        var byDevice = string.CompareOrdinal(x.DeviceId, y.DeviceId);
        return byDevice != 0 ? byDevice : x.BootEpoch != y.BootEpoch ? x.BootEpoch.CompareTo(y.BootEpoch) : x.Sequence.CompareTo(y.Sequence);
    }
}
