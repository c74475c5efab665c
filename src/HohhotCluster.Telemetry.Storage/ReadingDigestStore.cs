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

    /// <summary>Claims the readings at <paramref name="indices"/> into <paramref name="results"/>; returns the indices still undecided.</summary>
    private async Task<List<int>> ClaimOnceAsync(
        IReadOnlyList<(ReadingKey Key, long Digest, DateTimeOffset EventTime)> readings,
        List<int> indices,
        DigestClaimResult[] results,
        CancellationToken ct)
    {
        var devices = new string[indices.Count];
        var epochs = new long[indices.Count];
        var seqs = new long[indices.Count];
        var digests = new long[indices.Count];
        var times = new DateTime[indices.Count];
        for (var i = 0; i < indices.Count; i++)
        {
            var (key, digest, eventTime) = readings[indices[i]];
            devices[i] = key.DeviceId;
            epochs[i] = key.BootEpoch;
            seqs[i] = key.Sequence;
            digests[i] = digest;
            times[i] = eventTime.UtcDateTime;
        }

        var parameters = new { devices, epochs, seqs, digests, times, now = clock.GetUtcNow().UtcDateTime };

        // Inserts in key order, so two statements claiming overlapping keys wait for each other instead of deadlocking.
        // The final select reads the table as it was when the statement began: the conflicting keys' stored digests.
        var rows = await PostgresRetry.RunAsync(async token =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(token);
            return (await connection.QueryAsync<(long Ordinal, bool IsNew, long? Stored)>(new CommandDefinition(
                """
                with input as (
                    select * from unnest(@devices::text[], @epochs::bigint[], @seqs::bigint[], @digests::bigint[], @times::timestamptz[])
                        with ordinality as t(device_id, boot_epoch, seq, digest, event_time, ordinal)
                ),
                first_of_key as (
                    select distinct on (device_id, boot_epoch, seq) device_id, boot_epoch, seq, digest, event_time, ordinal
                    from input order by device_id, boot_epoch, seq, ordinal
                ),
                inserted as (
                    insert into reading_digest (device_id, boot_epoch, seq, digest, event_time, first_seen_at)
                    select device_id, boot_epoch, seq, digest, event_time, @now from first_of_key
                    order by device_id, boot_epoch, seq
                    on conflict do nothing
                    returning device_id, boot_epoch, seq, digest
                )
                select i.ordinal, n.seq is not null and f.ordinal = i.ordinal, coalesce(n.digest, r.digest)
                from input i
                join first_of_key f on f.device_id = i.device_id and f.boot_epoch = i.boot_epoch and f.seq = i.seq
                left join inserted n on n.device_id = i.device_id and n.boot_epoch = i.boot_epoch and n.seq = i.seq
                left join reading_digest r on r.device_id = i.device_id and r.boot_epoch = i.boot_epoch and r.seq = i.seq
                order by i.ordinal
                """, parameters, cancellationToken: token))).AsList();
        }, ct);

        var undecided = new List<int>();
        foreach (var (ordinal, isNew, stored) in rows)
        {
            var index = indices[(int)ordinal - 1];
            if (stored is not { } storedDigest)
            {
                undecided.Add(index);
                continue;
            }

            var claim = isNew ? DigestClaim.New : storedDigest == readings[index].Digest ? DigestClaim.Same : DigestClaim.Conflict;
            results[index] = new DigestClaimResult(claim, storedDigest);
        }

        return undecided;
    }
}
