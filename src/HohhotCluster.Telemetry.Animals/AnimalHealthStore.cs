using Dapper;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using Npgsql;

namespace HohhotCluster.Telemetry.Animals;

/// <summary>One vaccination or antibody test of an animal, as a regulator audits it.</summary>
public sealed record ImmunisationEntry
{
    public required string Event { get; init; }
    public required string Programme { get; init; }
    public required DateTimeOffset EventTime { get; init; }
    public required DateOnly LocalDate { get; init; }
    public required string PastureId { get; init; }
    public string? MedicineName { get; init; }
    public string? MedicineScheme { get; init; }
    public string? MedicineId { get; init; }
    public string? Procedure { get; init; }
    public decimal? DoseQuantity { get; init; }
    public string? DoseUnit { get; init; }
    public bool? Protective { get; init; }
    public string? SourceEventId { get; init; }

    /// <summary><c>device/boot/seq</c> of the message.</summary>
    public required string Source { get; init; }
}

/// <summary>An animal's immunity for one programme on a day: the newest record that gives it, if any.</summary>
public sealed record AnimalImmunity(string EarTag, DateOnly? LastVaccination, DateOnly? LastProtectiveTest, DateOnly? LastTest, bool? LastTestProtective);

/// <summary>
/// The one owner of <c>animal_immunisation</c> (migration 0420): every vaccination and antibody test of an animal,
/// once per message key, and the immunity answers read from it (valid immunity = a vaccination, or a protective
/// antibody test, of the programme within its protection period ending on the day).
/// </summary>
public sealed class AnimalHealthStore(NpgsqlDataSource dataSource)
{
    /// <summary>Records each vaccination or test once per key; a recorded key is <see cref="ApplyOutcome.Duplicate"/>.</summary>
    public async Task<ApplyOutcome[]> ApplyAsync(IReadOnlyList<AnimalEventMessage> messages, IReadOnlyDictionary<string, AnimalState> animals,
        CancellationToken cancellationToken)
    {
        var outcomes = new ApplyOutcome[messages.Count];
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        for (var i = 0; i < messages.Count; i++)
        {
            var (key, eventTime, pasture, e) = messages[i];
            var facts = e.Immunisation ?? throw new ArgumentException("a vaccination or antibody test carries its immunisation facts", nameof(messages));
            var inserted = await connection.ExecuteAsync(new CommandDefinition(
                """
                insert into animal_immunisation (ear_tag, event, programme, event_time, local_date, pasture_id, county_id, species, medicine_name,
                    medicine_scheme, medicine_id, procedure, dose_quantity, dose_unit, protective, source_event_id, device_id, boot_epoch, seq)
                values (@tag, @kind, @Programme, @at, @day, @PastureId, @CountyId, @species, @MedicineName, @scheme, @id, @Procedure, @DoseQuantity,
                    @DoseUnit, @Protective, @SourceEventId, @DeviceId, @BootEpoch, @Sequence)
                on conflict do nothing
                """,
                new
                {
                    tag = e.Animal.Value, kind = AnimalNames.Name(e.Event), facts.Programme, at = eventTime.UtcDateTime,
                    day = ChinaTime.LocalDate(eventTime).ToDateTime(TimeOnly.MinValue), pasture.PastureId, pasture.CountyId,
                    species = AnimalNames.Name(animals[e.Animal.Value].Species), facts.MedicineName, scheme = facts.MedicineId?.Scheme, id = facts.MedicineId?.Id,
                    facts.Procedure, facts.DoseQuantity, facts.DoseUnit, facts.Protective, e.SourceEventId, key.DeviceId, key.BootEpoch, key.Sequence,
                }, transaction, cancellationToken: cancellationToken));
            outcomes[i] = inserted == 1 ? ApplyOutcome.Applied : ApplyOutcome.Duplicate;
        }

        await transaction.CommitAsync(cancellationToken);
        return outcomes;
    }

    /// <summary>The keys of these messages already recorded here.</summary>
    public async Task<HashSet<ReadingKey>> RecordedKeysAsync(IReadOnlyList<ReadingKey> keys, CancellationToken cancellationToken) =>
        await AnimalCareKeys.RecordedAsync(dataSource, "animal_immunisation", keys, cancellationToken);

    /// <summary>An animal's vaccinations and antibody tests, oldest first (every programme, or one).</summary>
    public async Task<IReadOnlyList<ImmunisationEntry>> ListAsync(string earTag, string? programme, CancellationToken cancellationToken) =>
        await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var rows = await connection.QueryAsync<EntryRow>(new CommandDefinition(
                """
                select event as Event, programme as Programme, event_time as EventTime, local_date as LocalDate, pasture_id as PastureId,
                       medicine_name as MedicineName, medicine_scheme as MedicineScheme, medicine_id as MedicineId, procedure as Procedure,
                       dose_quantity as DoseQuantity, dose_unit as DoseUnit, protective as Protective, source_event_id as SourceEventId,
                       device_id || '/' || boot_epoch || '/' || seq as Source
                from animal_immunisation where ear_tag = @earTag and (@programme::text is null or programme = @programme)
                order by event_time, id
                """, new { earTag, programme }, cancellationToken: ct));
            return (IReadOnlyList<ImmunisationEntry>)rows.Select(r => r.ToEntry()).ToList();
        }, cancellationToken);

    /// <summary>The pastures (of these) with any record of the programme on or before the day.</summary>
    public async Task<IReadOnlySet<string>> PasturesWithRecordsAsync(IReadOnlyCollection<string> pastureIds, string programme, DateOnly day,
        CancellationToken cancellationToken) =>
        await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var rows = await connection.QueryAsync<string>(new CommandDefinition(
                """
                select p.id from unnest(@ids) as p(id)
                where exists (select 1 from animal_immunisation i where i.pasture_id = p.id and i.programme = @programme and i.local_date <= @day)
                """, new { ids = pastureIds.ToArray(), programme, day = day.ToDateTime(TimeOnly.MinValue) }, cancellationToken: ct));
            return (IReadOnlySet<string>)rows.ToHashSet(StringComparer.Ordinal);
        }, cancellationToken);

    /// <summary>
    /// For each of these animals, its newest vaccination and newest protective test of the programme on or before the
    /// day, and its newest test from <paramref name="testsFrom"/> on (wherever it was done: an animal keeps its immunity
    /// when it moves). Animals without any record of the programme are absent.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, AnimalImmunity>> ImmunityAsync(IReadOnlyCollection<string> earTags, string programme, DateOnly day,
        DateOnly testsFrom, CancellationToken cancellationToken) =>
        await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var rows = await connection.QueryAsync<(string EarTag, DateTime? Vaccinated, DateTime? Protective, DateTime? Tested, bool? TestProtective)>(new CommandDefinition(
                """
                select i.ear_tag,
                       max(i.local_date) filter (where i.event = 'vaccination'),
                       max(i.local_date) filter (where i.event = 'antibody_test' and i.protective),
                       max(i.local_date) filter (where i.event = 'antibody_test' and i.local_date >= @testsFrom),
                       (array_agg(i.protective order by i.event_time desc, i.id desc) filter (where i.event = 'antibody_test' and i.local_date >= @testsFrom))[1]
                from animal_immunisation i
                where i.ear_tag = any(@tags) and i.programme = @programme and i.local_date <= @day
                group by i.ear_tag
                """,
                new { tags = earTags.ToArray(), programme, day = day.ToDateTime(TimeOnly.MinValue), testsFrom = testsFrom.ToDateTime(TimeOnly.MinValue) },
                cancellationToken: ct));
            static DateOnly? Day(DateTime? d) => d is { } v ? DateOnly.FromDateTime(v) : null;
            return (IReadOnlyDictionary<string, AnimalImmunity>)rows.ToDictionary(
                r => r.EarTag, r => new AnimalImmunity(r.EarTag, Day(r.Vaccinated), Day(r.Protective), Day(r.Tested), r.TestProtective), StringComparer.Ordinal);
        }, cancellationToken);

    private sealed class EntryRow
    {
        public string Event { get; init; } = "";
        public string Programme { get; init; } = "";
        public DateTime EventTime { get; init; }
        public DateTime LocalDate { get; init; }
        public string PastureId { get; init; } = "";
        public string? MedicineName { get; init; }
        public string? MedicineScheme { get; init; }
        public string? MedicineId { get; init; }
        public string? Procedure { get; init; }
        public decimal? DoseQuantity { get; init; }
        public string? DoseUnit { get; init; }
        public bool? Protective { get; init; }
        public string? SourceEventId { get; init; }
        public string Source { get; init; } = "";

        public ImmunisationEntry ToEntry() => new()
        {
            Event = Event, Programme = Programme, EventTime = new DateTimeOffset(DateTime.SpecifyKind(EventTime, DateTimeKind.Utc)),
            LocalDate = DateOnly.FromDateTime(LocalDate), PastureId = PastureId, MedicineName = MedicineName, MedicineScheme = MedicineScheme,
            MedicineId = MedicineId, Procedure = Procedure, DoseQuantity = DoseQuantity, DoseUnit = DoseUnit, Protective = Protective,
            SourceEventId = SourceEventId, Source = Source,
        };
    }
}

/// <summary>The message keys a health or breeding table already holds (each keeps one row per key).</summary>
internal static class AnimalCareKeys
{
    public static async Task<HashSet<ReadingKey>> RecordedAsync(NpgsqlDataSource dataSource, string table, IReadOnlyList<ReadingKey> keys, CancellationToken cancellationToken)
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
                $"""
                select t.device_id, t.boot_epoch, t.seq from {table} t
                join unnest(@devices, @boots, @seqs) as k (device_id, boot_epoch, seq)
                  on t.device_id = k.device_id and t.boot_epoch = k.boot_epoch and t.seq = k.seq
                """, new { devices, boots, seqs }, cancellationToken: ct));
        }, cancellationToken);
        return rows.Select(r => new ReadingKey(r.DeviceId, r.BootEpoch, r.Seq)).ToHashSet();
    }
}
