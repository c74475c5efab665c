using Dapper;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using Npgsql;

namespace HohhotCluster.Telemetry.Animals;

/// <summary>
/// The one owner of <c>animal_breeding_event</c> (migration 0421): heats, services (artificial insemination, natural
/// service, embryo transfer), pregnancy checks, abortions and each calving's progeny, once per message key, and the
/// breeding figures read from them (docs/audits.md, "Breeding KPIs").
/// </summary>
public sealed class AnimalBreedingStore(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// Records each reproduction event (and each calving the registry applied, with its progeny) once per key; a
    /// recorded key is <see cref="ApplyOutcome.Duplicate"/>.
    /// </summary>
    public async Task<ApplyOutcome[]> ApplyAsync(IReadOnlyList<AnimalEventMessage> messages, IReadOnlyDictionary<string, AnimalState> animals,
        CancellationToken cancellationToken)
    {
        var outcomes = new ApplyOutcome[messages.Count];
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        for (var i = 0; i < messages.Count; i++)
        {
            var (key, eventTime, pasture, e) = messages[i];
            var b = e.Breeding ?? new BreedingFacts();
            var name = e.Event == AnimalEventType.Calving ? AnimalCareNames.Calving : AnimalNames.Name(e.Event);
            var inserted = await connection.ExecuteAsync(new CommandDefinition(
                """
                insert into animal_breeding_event (ear_tag, event, event_time, local_date, pasture_id, county_id, species, insemination_type, sexed_semen,
                    sexed_gender, sire_scheme, sire_id, embryo_scheme, embryo_id, collection_centre, donor_scheme, donor_id, embryo_origin,
                    pregnancy_method, pregnancy_result, heat_detection_method, heat_certainty, progeny_genders, source_event_id, device_id, boot_epoch, seq)
                values (@tag, @name, @at, @day, @PastureId, @CountyId, @species, @InseminationType, @SexedSemen, @SexedGender, @sireScheme, @sireId,
                    @embryoScheme, @embryoId, @CollectionCentre, @donorScheme, @donorId, @EmbryoOrigin, @PregnancyMethod, @PregnancyResult,
                    @HeatDetectionMethod, @HeatCertainty, @progeny, @SourceEventId, @DeviceId, @BootEpoch, @Sequence)
                on conflict do nothing
                """,
                new
                {
                    tag = e.Animal.Value, name, at = eventTime.UtcDateTime, day = ChinaTime.LocalDate(eventTime).ToDateTime(TimeOnly.MinValue),
                    pasture.PastureId, pasture.CountyId, species = AnimalNames.Name(animals[e.Animal.Value].Species), b.InseminationType, b.SexedSemen,
                    b.SexedGender, sireScheme = b.Sire?.Scheme, sireId = b.Sire?.Id, embryoScheme = b.EmbryoId?.Scheme, embryoId = b.EmbryoId?.Id,
                    b.CollectionCentre, donorScheme = b.Donor?.Scheme, donorId = b.Donor?.Id, b.EmbryoOrigin, b.PregnancyMethod, b.PregnancyResult,
                    b.HeatDetectionMethod, b.HeatCertainty, progeny = b.ProgenyGenders.ToArray(), e.SourceEventId, key.DeviceId, key.BootEpoch, key.Sequence,
                }, transaction, cancellationToken: cancellationToken));
            outcomes[i] = inserted == 1 ? ApplyOutcome.Applied : ApplyOutcome.Duplicate;
        }

        await transaction.CommitAsync(cancellationToken);
        return outcomes;
    }

    /// <summary>The keys of these messages already recorded here.</summary>
    public async Task<HashSet<ReadingKey>> RecordedKeysAsync(IReadOnlyList<ReadingKey> keys, CancellationToken cancellationToken) =>
        await AnimalCareKeys.RecordedAsync(dataSource, "animal_breeding_event", keys, cancellationToken);

    /// <summary>
    /// The breeding figures of the pastures' events from <paramref name="from"/> to <paramref name="to"/> (China days,
    /// inclusive). A service's outcome is the animal's next event among its pregnancy checks with a known result (Empty,
    /// Pregnant, Multiple) and its services: a check tells it, a second service before any check means the first did
    /// not hold, nothing yet leaves it awaiting. A calving interval is a calving of the window and the same animal's
    /// calving before it (wherever it was).
    /// </summary>
    public async Task<RegisteredBreeding> FiguresAsync(IReadOnlyCollection<string> pastureIds, DateOnly from, DateOnly to, CancellationToken cancellationToken) =>
        await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var args = new { ids = pastureIds.ToArray(), from = from.ToDateTime(TimeOnly.MinValue), to = to.ToDateTime(TimeOnly.MinValue) };
            var counts = await connection.QuerySingleAsync<Counts>(new CommandDefinition(
                """
                select
                    (count(*) filter (where event = 'insemination' and insemination_type = 'Insemination'))::int as Inseminations,
                    (count(*) filter (where event = 'insemination' and insemination_type = 'Insemination' and sexed_semen))::int as Sexed,
                    (count(*) filter (where event = 'insemination' and insemination_type in ('NaturalService', 'RunWithBull')))::int as Natural,
                    (count(*) filter (where event = 'embryo_transfer'))::int as Embryos,
                    (count(*) filter (where event = 'embryo_transfer' and embryo_origin = 'imported'))::int as ImportedEmbryos,
                    (count(*) filter (where event = 'calving'))::int as Calvings,
                    coalesce(sum(cardinality(array_positions(progeny_genders, 'Female'))) filter (where event = 'calving'), 0)::int as FemaleCalves,
                    coalesce(sum(cardinality(array_positions(progeny_genders, 'Male'))) filter (where event = 'calving'), 0)::int as MaleCalves,
                    (count(*) filter (where event = 'abortion'))::int as Abortions,
                    coalesce(array_agg(distinct pasture_id), '{}') as Pastures
                from animal_breeding_event where pasture_id = any(@ids) and local_date between @from and @to
                """, args, cancellationToken: ct));
            var outcome = await connection.QuerySingleAsync<(int Checked, int Conceived, int Awaiting)>(new CommandDefinition(
                """
                with services as (
                    select id, ear_tag, event_time from animal_breeding_event
                    where event in ('insemination', 'embryo_transfer') and pasture_id = any(@ids) and local_date between @from and @to)
                select (count(*) filter (where n.event is not null))::int,
                       (count(*) filter (where n.event = 'pregnancy_check' and n.pregnancy_result in ('Pregnant', 'Multiple')))::int,
                       (count(*) filter (where n.event is null))::int
                from services s
                left join lateral (
                    select n.event, n.pregnancy_result from animal_breeding_event n
                    where n.ear_tag = s.ear_tag and (n.event_time, n.id) > (s.event_time, s.id)
                      and (n.event in ('insemination', 'embryo_transfer') or (n.event = 'pregnancy_check' and n.pregnancy_result in ('Empty', 'Pregnant', 'Multiple')))
                    order by n.event_time, n.id limit 1) n on true
                """, args, cancellationToken: ct));
            var intervals = await connection.QuerySingleAsync<(int Count, double Days)>(new CommandDefinition(
                """
                select count(*)::int, coalesce(sum(local_date - previous), 0)::float8 from (
                    select c.local_date, (select p.local_date from animal_breeding_event p
                                          where p.ear_tag = c.ear_tag and p.event = 'calving' and (p.event_time, p.id) < (c.event_time, c.id)
                                          order by p.event_time desc, p.id desc limit 1) as previous
                    from animal_breeding_event c
                    where c.event = 'calving' and c.pasture_id = any(@ids) and c.local_date between @from and @to) x
                where previous is not null
                """, args, cancellationToken: ct));
            return new RegisteredBreeding
            {
                Inseminations = counts.Inseminations, SexedSemenInseminations = counts.Sexed, NaturalServices = counts.Natural,
                EmbryoTransfers = counts.Embryos, ImportedEmbryoTransfers = counts.ImportedEmbryos,
                ServicesChecked = outcome.Checked, ServicesConceived = outcome.Conceived, ServicesAwaitingCheck = outcome.Awaiting,
                CalvingIntervals = intervals.Count, CalvingIntervalDaysSum = intervals.Days, Calvings = counts.Calvings,
                FemaleCalves = counts.FemaleCalves, MaleCalves = counts.MaleCalves, Abortions = counts.Abortions, ReportingPastures = counts.Pastures,
            };
        }, cancellationToken);

    private sealed class Counts
    {
        public int Inseminations { get; init; }
        public int Sexed { get; init; }
        public int Natural { get; init; }
        public int Embryos { get; init; }
        public int ImportedEmbryos { get; init; }
        public int Calvings { get; init; }
        public int FemaleCalves { get; init; }
        public int MaleCalves { get; init; }
        public int Abortions { get; init; }
        public string[] Pastures { get; init; } = [];
    }
}
