using System.Data;
using Dapper;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using Npgsql;

namespace HohhotCluster.Telemetry.Animals;

/// <summary>An accepted animal event with its key and its pasture: what the store needs of a message.</summary>
public sealed record AnimalEventMessage(ReadingKey Key, DateTimeOffset EventTime, PastureFacts Pasture, AnimalEventRecord Record);

/// <summary>
/// Thrown inside <see cref="AnimalRegistryStore.ApplyEventsAsync"/> when an event the gate let through no longer
/// follows the animal's state (a batch of another worker changed it first): the transaction is rolled back and the
/// batch retried, and on the retry the gate refuses the event with its reason.
/// </summary>
public sealed class AnimalStateChangedException(string message) : Exception(message);

/// <summary>One import row refused: its index in the request and why.</summary>
public sealed class AnimalImportException(int index, Rejection rejection) : Exception(rejection.Detail)
{
    public int Index { get; } = index;

    public Rejection Rejection { get; } = rejection;
}

/// <summary>What a bulk import did.</summary>
public sealed record AnimalImportResult(int Registered, int Unchanged);

/// <summary>
/// The one owner of the animal tables (migration 0400): the current state per ear tag and every event that made it.
/// Events from telemetry are written once per message key, imports once per (import id, ear tag), each in one
/// transaction with the animal's new state, which <see cref="AnimalRules"/> computes from the locked current row.
/// </summary>
public sealed partial class AnimalRegistryStore(NpgsqlDataSource dataSource, TimeProvider clock)
{
    public const int MaxImportRows = 10_000;
    public const int MaxPageSize = 1_000;

    private const string StateColumns =
        """
        ear_tag as EarTag, species as Species, breed as Breed, sex as Sex, birth_date as BirthDate, parity as Parity,
        lactation_status as LactationStatus, lactation_start as LactationStart, status as Status, pasture_id as PastureId,
        county_id as CountyId, herd_id as HerdId, registered_at as RegisteredAt, last_event_time as LastEventTime
        """;

    /// <summary>The current state of these animals (those the registry holds).</summary>
    public async Task<Dictionary<string, AnimalState>> FindAsync(IReadOnlyCollection<string> earTags, CancellationToken cancellationToken)
    {
        var rows = await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return (await connection.QueryAsync<StateRow>(new CommandDefinition(
                $"select {StateColumns} from animal where ear_tag = any(@tags)", new { tags = earTags.ToArray() }, cancellationToken: ct))).AsList();
        }, cancellationToken);
        var states = new Dictionary<string, AnimalState>(rows.Count, StringComparer.Ordinal);
        foreach (var row in rows)
        {
            states[row.EarTag] = row.ToState();
        }

        return states;
    }

    public async Task<AnimalState?> GetAsync(string earTag, CancellationToken cancellationToken) =>
        (await FindAsync([earTag], cancellationToken)).GetValueOrDefault(earTag);

    /// <summary>The keys of these messages that are already recorded (a redelivery).</summary>
    public async Task<HashSet<ReadingKey>> RecordedKeysAsync(IReadOnlyList<ReadingKey> keys, CancellationToken cancellationToken)
    {
        var devices = new string[keys.Count];
        var boots = new long[keys.Count];
        var seqs = new long[keys.Count];
        for (var i = 0; i < keys.Count; i++)
        {
            (devices[i], boots[i], seqs[i]) = (keys[i].DeviceId, keys[i].BootEpoch, keys[i].Sequence);
        }

        var rows = await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return await connection.QueryAsync<(string DeviceId, long BootEpoch, long Seq)>(new CommandDefinition(
                """
                select e.device_id, e.boot_epoch, e.seq from animal_event e
                join unnest(@devices, @boots, @seqs) as k (device_id, boot_epoch, seq)
                  on e.device_id = k.device_id and e.boot_epoch = k.boot_epoch and e.seq = k.seq
                """, new { devices, boots, seqs }, cancellationToken: ct));
        }, cancellationToken);
        var recorded = new HashSet<ReadingKey>();
        foreach (var (device, boot, seq) in rows)
        {
            recorded.Add(new ReadingKey(device, boot, seq));
        }

        return recorded;
    }

    /// <summary>
    /// Records each event once per key and moves its animal to the state after it, in order, in one transaction. A
    /// recorded key is <see cref="ApplyOutcome.Duplicate"/> and changes nothing.
    /// </summary>
    public async Task<ApplyOutcome[]> ApplyEventsAsync(IReadOnlyList<AnimalEventMessage> messages, CancellationToken cancellationToken)
    {
        var outcomes = new ApplyOutcome[messages.Count];
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        for (var i = 0; i < messages.Count; i++)
        {
            var (key, eventTime, pasture, e) = messages[i];
            var recorded = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "select exists (select 1 from animal_event where device_id = @DeviceId and boot_epoch = @BootEpoch and seq = @Sequence)",
                new { key.DeviceId, key.BootEpoch, key.Sequence }, transaction, cancellationToken: cancellationToken));
            if (recorded)
            {
                outcomes[i] = ApplyOutcome.Duplicate;
                continue;
            }

            var current = await LockAsync(connection, transaction, e.Animal.Value, cancellationToken);
            if (!AnimalRules.TryApply(current, e, eventTime, pasture, out var next, out var rejection))
            {
                throw new AnimalStateChangedException(
                    $"animal event {key} no longer follows the state of animal '{e.Animal.Value}' ({rejection.Reason}: {rejection.Detail}); the batch is retried");
            }

            var inserted = await InsertEventAsync(connection, transaction, e, eventTime, next, key, null, cancellationToken);
            if (!inserted)
            {
                outcomes[i] = ApplyOutcome.Duplicate;
                continue;
            }

            await SaveAsync(connection, transaction, current is null, next, cancellationToken);
            if (e.Treatment is { } treatment)
            {
                await Milk.AnimalTreatmentStore.RecordAsync(connection, (IDbTransaction)transaction, e.Animal.Value, eventTime, treatment, cancellationToken);
            }

            outcomes[i] = ApplyOutcome.Applied;
        }

        await transaction.CommitAsync(cancellationToken);
        return outcomes;
    }

    /// <summary>
    /// Registers a pasture's animals (bulk import), all or none: a row the rules refuse throws
    /// <see cref="AnimalImportException"/> naming it and nothing is stored. A row already recorded under this import
    /// id, or an animal already registered exactly as the row says, is unchanged, so a retried import is harmless.
    /// </summary>
    public Task<AnimalImportResult> ImportAsync(string importId, PastureFacts pasture, IReadOnlyList<AnimalEventRecord> rows, CancellationToken cancellationToken) =>
        ImportAsync(importId, pasture, rows, asOf: null, cancellationToken);

    /// <param name="asOf">The moment the rows are true of (their registration time); null: now. The caller checks it is not in the future.</param>
    public async Task<AnimalImportResult> ImportAsync(string importId, PastureFacts pasture, IReadOnlyList<AnimalEventRecord> rows, DateTimeOffset? asOf,
        CancellationToken cancellationToken)
    {
        var now = asOf ?? clock.GetUtcNow();
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        int registered = 0, unchanged = 0;
        for (var i = 0; i < rows.Count; i++)
        {
            var e = rows[i];
            var current = await LockAsync(connection, transaction, e.Animal.Value, cancellationToken);
            var imported = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "select exists (select 1 from animal_event where import_id = @importId and ear_tag = @tag)",
                new { importId, tag = e.Animal.Value }, transaction, cancellationToken: cancellationToken));
            if (imported || (current is not null && AnimalRules.IsSameRegistration(current, e, pasture)))
            {
                unchanged++;
                continue;
            }

            if (!AnimalRules.TryApply(current, e, now, pasture, out var next, out var rejection))
            {
                throw new AnimalImportException(i, rejection);
            }

            await InsertEventAsync(connection, transaction, e, now, next, null, importId, cancellationToken);
            await SaveAsync(connection, transaction, current is null, next, cancellationToken);
            registered++;
        }

        await transaction.CommitAsync(cancellationToken);
        return new AnimalImportResult(registered, unchanged);
    }

    /// <summary>An animal's history, oldest first.</summary>
    public async Task<IReadOnlyList<AnimalHistoryEntry>> HistoryAsync(string earTag, CancellationToken cancellationToken) =>
        await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var rows = await connection.QueryAsync<HistoryRow>(new CommandDefinition(
                """
                select event as Event, event_time as EventTime, pasture_id as PastureId, herd_id as HerdId, status as Status, parity as Parity,
                       lactation_status as LactationStatus, reason as Reason, source_event_id as SourceEventId,
                       coalesce(device_id || '/' || boot_epoch || '/' || seq, 'import:' || import_id) as Source
                from animal_event where ear_tag = @earTag order by event_time, id
                """, new { earTag }, cancellationToken: ct));
            return (IReadOnlyList<AnimalHistoryEntry>)rows.Select(r => r.ToEntry()).ToList();
        }, cancellationToken);

    /// <summary>
    /// A pasture's (or one herd's) animals in ear-tag order after <paramref name="afterEarTag"/>; alive only unless
    /// <paramref name="includeGone"/> (then those that departed from it or died on it too).
    /// </summary>
    public async Task<IReadOnlyList<AnimalState>> ListAsync(string? pastureId, string? herdId, bool includeGone, string afterEarTag, int pageSize,
        CancellationToken cancellationToken) =>
        await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var rows = await connection.QueryAsync<StateRow>(new CommandDefinition(
                $"""
                select {StateColumns} from animal
                where (@pastureId::text is null or pasture_id = @pastureId) and (@herdId::text is null or herd_id = @herdId)
                  and (@includeGone or status = 'alive') and ear_tag > @afterEarTag
                order by ear_tag limit @pageSize
                """, new { pastureId, herdId, includeGone, afterEarTag, pageSize }, cancellationToken: ct));
            return (IReadOnlyList<AnimalState>)rows.Select(r => r.ToState()).ToList();
        }, cancellationToken);

    private static async Task<AnimalState?> LockAsync(NpgsqlConnection connection, IDbTransaction transaction, string earTag, CancellationToken cancellationToken) =>
        (await connection.QuerySingleOrDefaultAsync<StateRow>(new CommandDefinition(
            $"select {StateColumns} from animal where ear_tag = @earTag for update", new { earTag }, transaction, cancellationToken: cancellationToken)))?.ToState();

    private static async Task<bool> InsertEventAsync(NpgsqlConnection connection, IDbTransaction transaction, AnimalEventRecord e, DateTimeOffset eventTime,
        AnimalState next, ReadingKey? key, string? importId, CancellationToken cancellationToken) =>
        await connection.ExecuteAsync(new CommandDefinition(
            """
            insert into animal_event (ear_tag, event, event_time, source_event_id, device_id, boot_epoch, seq, import_id, pasture_id, county_id,
                herd_id, status, parity, lactation_status, reason)
            values (@tag, @kind, @at, @SourceEventId, @device, @boot, @seq, @importId, @PastureId, @CountyId, @HerdId, @status, @Parity,
                @LactationStatus, @Reason)
            on conflict do nothing
            """,
            new
            {
                tag = e.Animal.Value, kind = AnimalNames.Name(e.Event), at = eventTime.UtcDateTime, e.SourceEventId,
                device = key?.DeviceId, boot = key?.BootEpoch, seq = key?.Sequence, importId, next.PastureId, next.CountyId,
                // The herd the event names (a departure's herd is the one it left), the state's otherwise.
                HerdId = next.HerdId ?? e.HerdId, status = AnimalNames.Name(next.Status), next.Parity, next.LactationStatus, e.Reason,
            }, transaction, cancellationToken: cancellationToken)) == 1;

    private static Task SaveAsync(NpgsqlConnection connection, IDbTransaction transaction, bool isNew, AnimalState s, CancellationToken cancellationToken) =>
        connection.ExecuteAsync(new CommandDefinition(
            isNew
                ? """
                  insert into animal (ear_tag, species, breed, sex, birth_date, parity, lactation_status, lactation_start, status, pasture_id, county_id,
                      herd_id, registered_at, last_event_time)
                  values (@EarTag, @species, @Breed, @Sex, @birth, @Parity, @LactationStatus, @start, @status, @PastureId, @CountyId, @HerdId, @registered, @last)
                  """
                : """
                  update animal set breed = @Breed, birth_date = @birth, parity = @Parity, lactation_status = @LactationStatus,
                      lactation_start = @start, status = @status, pasture_id = @PastureId, county_id = @CountyId, herd_id = @HerdId, last_event_time = @last
                  where ear_tag = @EarTag
                  """,
            new
            {
                s.EarTag, species = AnimalNames.Name(s.Species), s.Breed, s.Sex, birth = s.BirthDate?.ToDateTime(TimeOnly.MinValue), s.Parity,
                s.LactationStatus, start = s.LactationStart?.ToDateTime(TimeOnly.MinValue), status = AnimalNames.Name(s.Status), s.PastureId,
                s.CountyId, s.HerdId, registered = s.RegisteredAt.UtcDateTime, last = s.LastEventTime.UtcDateTime,
            }, transaction, cancellationToken: cancellationToken));

    private sealed class StateRow
    {
        public string EarTag { get; init; } = "";
        public string Species { get; init; } = "";
        public string? Breed { get; init; }
        public string Sex { get; init; } = "";
        public DateTime? BirthDate { get; init; }
        public int Parity { get; init; }
        public string? LactationStatus { get; init; }
        public DateTime? LactationStart { get; init; }
        public string Status { get; init; } = "";
        public string PastureId { get; init; } = "";
        public string CountyId { get; init; } = "";
        public string? HerdId { get; init; }
        public DateTime RegisteredAt { get; init; }
        public DateTime LastEventTime { get; init; }

        public AnimalState ToState() => new()
        {
            EarTag = EarTag, Species = Species == "goat" ? AnimalSpecies.Goat : AnimalSpecies.Cow, Breed = Breed, Sex = Sex,
            BirthDate = BirthDate is { } b ? DateOnly.FromDateTime(b) : null, Parity = Parity, LactationStatus = LactationStatus,
            LactationStart = LactationStart is { } l ? DateOnly.FromDateTime(l) : null, Status = AnimalNames.ParseStatus(Status),
            PastureId = PastureId, CountyId = CountyId, HerdId = HerdId, RegisteredAt = Utc(RegisteredAt), LastEventTime = Utc(LastEventTime),
        };
    }

    private sealed class HistoryRow
    {
        public string Event { get; init; } = "";
        public DateTime EventTime { get; init; }
        public string PastureId { get; init; } = "";
        public string? HerdId { get; init; }
        public string Status { get; init; } = "";
        public int Parity { get; init; }
        public string? LactationStatus { get; init; }
        public string? Reason { get; init; }
        public string? SourceEventId { get; init; }
        public string Source { get; init; } = "";

        public AnimalHistoryEntry ToEntry() => new()
        {
            Event = Event, EventTime = Utc(EventTime), PastureId = PastureId, HerdId = HerdId, Status = Status, Parity = Parity,
            LactationStatus = LactationStatus, Reason = Reason, SourceEventId = SourceEventId, Source = Source,
        };
    }

    private static DateTimeOffset Utc(DateTime t) => new(DateTime.SpecifyKind(t, DateTimeKind.Utc));
}
