using System.Collections.Concurrent;
using System.Data;
using System.Globalization;
using Dapper;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;
using Npgsql;

namespace HohhotCluster.Telemetry.Animals.Milk;

/// <summary>One milking the platform counted, with its animal: what <see cref="AnimalMilkStore.ApplyAsync"/> keeps.</summary>
public sealed record AnimalMilking(
    ReadingKey Key, DateTimeOffset EventTime, string EarTag, string PastureId, string CountyId, string HerdId, double Kg, bool MilkedSeparately,
    double? DurationSeconds = null)
{
    /// <summary>When its milk reached the tank: the milk flows in as the animal is milked out, so its end (its start without a duration).</summary>
    public DateTimeOffset InTankAt => EventTime + TimeSpan.FromSeconds(DurationSeconds ?? 0);
}

/// <summary>A milking GB 19301 keeps out of the tank that reached it (withdrawal or colostrum), once per key.</summary>
public sealed record UnfitTankMilking(ReadingKey Key, DateTimeOffset EventTime, string EarTag, string PastureId, string CountyId, string HerdId, double Kg, AnimalMilkFlags Flags);

/// <summary>What one apply did: how many milkings it counted, how many it had counted before, and the unfit ones it counted now.</summary>
/// <remarks><paramref name="UnfitInTank"/> holds the batch's unfit milkings whether counted now or before (a sink is idempotent by key).</remarks>
public sealed record AnimalMilkApplyResult(int Counted, int AlreadyCounted, int Unregistered, int UnfitCounted, IReadOnlyList<UnfitTankMilking> UnfitInTank);

/// <summary>One animal's milk on one China day.</summary>
public sealed record AnimalMilkDay(
    DateOnly Day, string PastureId, string HerdId, double Kg, int Milkings, double SaleableKg, double WithdrawalKg, double ColostrumKg,
    double SeparatedKg, double UnregisteredKg);

/// <summary>A pasture's, county's or the city's per-animal milk of one day, split as throughput reports it.</summary>
public sealed record AnimalMilkTotals(double Kg, int Milkings, double SaleableKg, double WithdrawalKg, double ColostrumKg, double SeparatedKg, double UnregisteredKg)
{
    public static readonly AnimalMilkTotals Zero = new(0, 0, 0, 0, 0, 0, 0);
}

/// <summary>A herd's (or pasture's) day: its animals' milk and the cows the registry had in milk at the day's end.</summary>
public sealed record HerdMilkDay(DateOnly Day, double Kg, int AnimalsMilked, int AnimalsInMilk)
{
    /// <summary>kg per animal in milk; 0 when none was in milk.</summary>
    public double KgPerAnimalInMilk => AnimalsInMilk == 0 ? 0 : Kg / AnimalsInMilk;
}

/// <summary>
/// Thrown when a concurrent batch (another worker or host) created an animal's day row with one of this batch's keys
/// between this batch's read and its write: the transaction is rolled back whole and the pipeline retries the batch,
/// whose read then sees the key.
/// </summary>
public sealed class AnimalMilkRaceException(string message) : Exception(message);

/// <summary>
/// The one owner of per-animal milk (migration 0401: <c>animal_milk_day</c>, partitioned by month, and
/// <c>animal_milk_pasture_day</c>). Each milking is counted once per message key: its day row keeps the keys it
/// counted, the batch locks the rows it touches and skips keys they hold, and a row a concurrent batch created in
/// between refuses the write (<see cref="AnimalMilkRaceException"/>, retried). So a resend, a replay after a crash
/// or the same key through a second host counts nothing twice.
/// </summary>
public sealed class AnimalMilkStore(NpgsqlDataSource dataSource)
{
    /// <summary>The longest range one read returns: a lactation is about 305 days, two of them fit.</summary>
    public const int MaxDays = 800;

    private readonly ConcurrentDictionary<int, bool> _partitions = new();

    public async Task<AnimalMilkApplyResult> ApplyAsync(IReadOnlyList<AnimalMilking> milkings, CancellationToken cancellationToken)
    {
        var unique = new List<AnimalMilking>(milkings.Count);
        var seen = new HashSet<ReadingKey>();
        foreach (var m in milkings)
        {
            if (seen.Add(m.Key))
            {
                unique.Add(m);
            }
        }

        if (unique.Count == 0)
        {
            return new AnimalMilkApplyResult(0, 0, 0, 0, []);
        }

        await EnsurePartitionsAsync(unique.Select(m => ChinaTime.LocalDate(m.EventTime)), cancellationToken);
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        // The pastures' bulk-tank lots are computed from this milk: their lock before the milk is written (BulkTankLotMilk).
        await BulkTankLotMilk.LockPasturesAsync(connection, transaction, unique.Where(m => !m.MilkedSeparately).Select(m => m.PastureId), cancellationToken);
        var facts = await FactsAsync(connection, transaction, unique.Select(m => m.EarTag).Distinct(StringComparer.Ordinal).ToArray(), cancellationToken);
        var counted = await CountedKeysAsync(connection, transaction, unique, cancellationToken);
        var fresh = unique.Where(m => !counted.Contains(KeyText(m.Key))).ToList();
        var unfit = new List<UnfitTankMilking>();
        var unregisteredCount = 0;
        if (fresh.Count > 0)
        {
            var n = fresh.Count;
            var (tags, days, keys, times, kgs, flags) = (new string[n], new DateTime[n], new string[n], new DateTime[n], new double[n], new short[n]);
            var inTank = new DateTime[n];
            var (pastures, counties, herds) = (new string[n], new string[n], new string[n]);
            var (saleable, withdrawal, colostrum, separated, unregistered) = (new double[n], new double[n], new double[n], new double[n], new double[n]);
            for (var i = 0; i < n; i++)
            {
                var m = fresh[i];
                var f = AnimalMilkRules.Classify(facts.GetValueOrDefault(m.EarTag), m.PastureId, m.EventTime, m.MilkedSeparately);
                var split = AnimalMilkRules.Split(f, m.Kg);
                (tags[i], days[i], keys[i], times[i], kgs[i], flags[i]) =
                    (m.EarTag, ChinaTime.LocalDate(m.EventTime).ToDateTime(TimeOnly.MinValue), KeyText(m.Key), m.EventTime.UtcDateTime, m.Kg, (short)f);
                (pastures[i], counties[i], herds[i], inTank[i]) = (m.PastureId, m.CountyId, m.HerdId, m.InTankAt.UtcDateTime);
                (saleable[i], withdrawal[i], colostrum[i], separated[i], unregistered[i]) =
                    (split.SaleableKg, split.WithdrawalKg, split.ColostrumKg, split.SeparatedKg, split.UnregisteredKg);
                unregisteredCount += f.HasFlag(AnimalMilkFlags.Unregistered) ? 1 : 0;
                if (AnimalMilkRules.ReachedTankUnfit(f))
                {
                    unfit.Add(new UnfitTankMilking(m.Key, m.EventTime, m.EarTag, m.PastureId, m.CountyId, m.HerdId, m.Kg, f));
                }
            }

            var groups = fresh.Select(m => (m.EarTag, ChinaTime.LocalDate(m.EventTime))).Distinct().Count();
            var written = await connection.ExecuteScalarAsync<int>(new CommandDefinition(
                """
                with m as (
                    select * from unnest(@tags, @days::date[], @keys, @times, @kgs, @flags, @pastures, @counties, @herds, @saleable, @withdrawal,
                                         @colostrum, @separated, @unregistered, @inTank)
                        as m (ear_tag, day, key, t, kg, flag, pasture_id, county_id, herd_id, sal, wd, col, sep, unreg, in_tank)
                ), g as (
                    select ear_tag, day, (array_agg(pasture_id order by t desc))[1] as pasture_id, (array_agg(county_id order by t desc))[1] as county_id,
                           (array_agg(herd_id order by t desc))[1] as herd_id, sum(kg) as kg, count(*)::int as milkings, sum(sal) as sal, sum(wd) as wd,
                           sum(col) as col, sum(sep) as sep, sum(unreg) as unreg, array_agg(key order by t, key) as keys,
                           array_agg(t order by t, key) as times, array_agg(kg order by t, key) as kgs, array_agg(flag order by t, key) as flags,
                           array_agg(in_tank order by t, key) as in_tank
                    from m group by ear_tag, day
                ), days as (
                    insert into animal_milk_day as d (ear_tag, day, pasture_id, county_id, herd_id, kg, milkings, saleable_kg, withdrawal_kg, colostrum_kg,
                                                      separated_kg, unregistered_kg, keys, times, kgs, flags, in_tank)
                    select ear_tag, day, pasture_id, county_id, herd_id, kg, milkings, sal, wd, col, sep, unreg, keys, times, kgs, flags, in_tank from g
                    on conflict (ear_tag, day) do update set
                        pasture_id = excluded.pasture_id, county_id = excluded.county_id, herd_id = excluded.herd_id, kg = d.kg + excluded.kg,
                        milkings = d.milkings + excluded.milkings, saleable_kg = d.saleable_kg + excluded.saleable_kg,
                        withdrawal_kg = d.withdrawal_kg + excluded.withdrawal_kg, colostrum_kg = d.colostrum_kg + excluded.colostrum_kg,
                        separated_kg = d.separated_kg + excluded.separated_kg, unregistered_kg = d.unregistered_kg + excluded.unregistered_kg,
                        keys = d.keys || excluded.keys, times = d.times || excluded.times, kgs = d.kgs || excluded.kgs, flags = d.flags || excluded.flags,
                        -- A row from before migration 0403 has no in_tank: its times stand for it, so the arrays stay aligned.
                        in_tank = coalesce(d.in_tank, d.times) || excluded.in_tank
                    -- A key a concurrent batch counted after this batch's read: write nothing here, and the batch is retried.
                    where not (d.keys && excluded.keys)
                    returning 1
                ), pastures as (
                    insert into animal_milk_pasture_day as p (pasture_id, day, county_id, kg, milkings, saleable_kg, withdrawal_kg, colostrum_kg,
                                                              separated_kg, unregistered_kg)
                    select pasture_id, day, min(county_id), sum(kg), count(*)::int, sum(sal), sum(wd), sum(col), sum(sep), sum(unreg)
                    from m group by pasture_id, day
                    on conflict (pasture_id, day) do update set
                        kg = p.kg + excluded.kg, milkings = p.milkings + excluded.milkings, saleable_kg = p.saleable_kg + excluded.saleable_kg,
                        withdrawal_kg = p.withdrawal_kg + excluded.withdrawal_kg, colostrum_kg = p.colostrum_kg + excluded.colostrum_kg,
                        separated_kg = p.separated_kg + excluded.separated_kg, unregistered_kg = p.unregistered_kg + excluded.unregistered_kg
                )
                select count(*)::int from days
                """,
                new
                {
                    tags, days, keys, times, kgs, flags, pastures, counties, herds, saleable, withdrawal, colostrum, separated, unregistered, inTank,
                }, transaction, cancellationToken: cancellationToken));
            if (written != groups)
            {
                throw new AnimalMilkRaceException(
                    $"{groups - written} of {groups} animal days were written by a concurrent batch with one of this batch's keys; the batch is retried");
            }

            await RecordUnfitAsync(connection, transaction, unfit, cancellationToken);
            // Milk that reached a tank whose lot was already collected (it came late): those lots again.
            await BulkTankLotMilk.MilkWrittenAsync(connection, transaction, fresh.Where(m => !m.MilkedSeparately).Select(m => (m.PastureId, m.InTankAt)),
                cancellationToken);
        }

        var unfitCounted = unfit.Count;
        if (fresh.Count < unique.Count)
        {
            unfit.AddRange(await UnfitAsync(connection, transaction, unique.Where(m => counted.Contains(KeyText(m.Key))).Select(m => m.Key).ToList(), cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
        return new AnimalMilkApplyResult(fresh.Count, unique.Count - fresh.Count, unregisteredCount, unfitCounted, unfit);
    }

    /// <summary>One animal's days from <paramref name="from"/> to <paramref name="to"/> (inclusive), oldest first.</summary>
    public async Task<IReadOnlyList<AnimalMilkDay>> DaysAsync(string earTag, DateOnly from, DateOnly to, CancellationToken cancellationToken) =>
        await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var rows = await connection.QueryAsync<DayRow>(new CommandDefinition(
                """
                select day as Day, pasture_id as PastureId, herd_id as HerdId, kg as Kg, milkings as Milkings, saleable_kg as SaleableKg,
                       withdrawal_kg as WithdrawalKg, colostrum_kg as ColostrumKg, separated_kg as SeparatedKg, unregistered_kg as UnregisteredKg
                from animal_milk_day where ear_tag = @earTag and day between @from::date and @to::date order by day
                """, new { earTag, from = from.ToDateTime(TimeOnly.MinValue), to = to.ToDateTime(TimeOnly.MinValue) }, cancellationToken: ct));
            return (IReadOnlyList<AnimalMilkDay>)rows.Select(r => r.ToDay()).ToList();
        }, cancellationToken);

    /// <summary>The per-animal milk of one pasture, one county's pastures or (both null) every pasture on one day, summed.</summary>
    public async Task<AnimalMilkTotals> TotalsAsync(string? countyId, string? pastureId, DateOnly day, CancellationToken cancellationToken) =>
        await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return await connection.QuerySingleAsync<AnimalMilkTotals>(new CommandDefinition(
                """
                select coalesce(sum(kg), 0) as Kg, coalesce(sum(milkings), 0)::int as Milkings, coalesce(sum(saleable_kg), 0) as SaleableKg,
                       coalesce(sum(withdrawal_kg), 0) as WithdrawalKg, coalesce(sum(colostrum_kg), 0) as ColostrumKg,
                       coalesce(sum(separated_kg), 0) as SeparatedKg, coalesce(sum(unregistered_kg), 0) as UnregisteredKg
                from animal_milk_pasture_day
                where day = @day::date and (@countyId::text is null or county_id = @countyId) and (@pastureId::text is null or pasture_id = @pastureId)
                """, new { day = day.ToDateTime(TimeOnly.MinValue), countyId, pastureId }, cancellationToken: ct));
        }, cancellationToken);

    /// <summary>
    /// A pasture's (or one herd's) days: the milk of its animals and how many animals the registry had alive and in
    /// milk (Fresh, Early, Lactating) on it at each day's end, from each animal's newest event at or before it.
    /// </summary>
    public async Task<IReadOnlyList<HerdMilkDay>> HerdDaysAsync(string pastureId, string? herdId, DateOnly from, DateOnly to, CancellationToken cancellationToken) =>
        await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var rows = await connection.QueryAsync<(DateTime Day, double Kg, int Milked, int InMilk)>(new CommandDefinition(
                """
                with days as (select d::date as day from generate_series(@from::date, @to::date, interval '1 day') d),
                milk as (
                    select day, sum(kg) as kg, count(*)::int as milked from animal_milk_day
                    where pasture_id = @pastureId and (@herdId::text is null or herd_id = @herdId) and day between @from::date and @to::date
                    group by day
                ),
                in_milk as (
                    select days.day, count(*)::int as animals from days
                    cross join lateral (
                        select distinct on (e.ear_tag) e.ear_tag, e.status, e.pasture_id, e.herd_id, e.lactation_status
                        from animal_event e
                        where e.ear_tag in (select ear_tag from animal_event where pasture_id = @pastureId)
                          and e.event_time < (days.day + 1)::timestamp at time zone 'Asia/Shanghai'
                        order by e.ear_tag, e.event_time desc, e.id desc
                    ) s
                    where s.status = 'alive' and s.pasture_id = @pastureId and (@herdId::text is null or s.herd_id = @herdId)
                      and s.lactation_status in ('Fresh', 'Early', 'Lactating')
                    group by days.day
                )
                select days.day, coalesce(milk.kg, 0), coalesce(milk.milked, 0), coalesce(in_milk.animals, 0)
                from days left join milk using (day) left join in_milk using (day) order by days.day
                """, new { pastureId, herdId, from = from.ToDateTime(TimeOnly.MinValue), to = to.ToDateTime(TimeOnly.MinValue) }, cancellationToken: ct));
            return (IReadOnlyList<HerdMilkDay>)rows.Select(r => new HerdMilkDay(DateOnly.FromDateTime(r.Day), r.Kg, r.Milked, r.InMilk)).ToList();
        }, cancellationToken);

    /// <summary>The registry's facts of these animals for their milk, read in the milk's transaction.</summary>
    private static async Task<Dictionary<string, AnimalMilkFacts>> FactsAsync(NpgsqlConnection connection, IDbTransaction transaction, string[] tags,
        CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<(string EarTag, string Status, string PastureId, DateTime? LactationStart, DateTime? WithdrawalEnd)>(
            new CommandDefinition(FactsSql, new { tags }, transaction, cancellationToken: cancellationToken));
        var facts = new Dictionary<string, AnimalMilkFacts>(StringComparer.Ordinal);
        foreach (var r in rows)
        {
            facts[r.EarTag] = new AnimalMilkFacts(AnimalNames.ParseStatus(r.Status), r.PastureId,
                r.LactationStart is { } s ? DateOnly.FromDateTime(s) : null,
                r.WithdrawalEnd is { } w ? new DateTimeOffset(DateTime.SpecifyKind(w, DateTimeKind.Utc)) : null);
        }

        return facts;
    }

    private const string FactsSql =
        $"select a.ear_tag, a.status, a.pasture_id, a.lactation_start, w.milk_withdrawal_end from animal a {AnimalTreatmentStore.MilkWithdrawalJoin} where a.ear_tag = any(@tags)";

    private static Task RecordUnfitAsync(NpgsqlConnection connection, IDbTransaction transaction, List<UnfitTankMilking> unfit, CancellationToken cancellationToken) =>
        unfit.Count == 0
            ? Task.CompletedTask
            : connection.ExecuteAsync(new CommandDefinition(
                """
                insert into animal_milk_unfit (device_id, boot_epoch, seq, ear_tag, event_time, pasture_id, county_id, herd_id, kg, flags)
                select * from unnest(@devices, @boots, @seqs, @tags, @times, @pastures, @counties, @herds, @kgs, @flags)
                on conflict do nothing
                """,
                new
                {
                    devices = unfit.Select(u => u.Key.DeviceId).ToArray(), boots = unfit.Select(u => u.Key.BootEpoch).ToArray(),
                    seqs = unfit.Select(u => u.Key.Sequence).ToArray(), tags = unfit.Select(u => u.EarTag).ToArray(),
                    times = unfit.Select(u => u.EventTime.UtcDateTime).ToArray(), pastures = unfit.Select(u => u.PastureId).ToArray(),
                    counties = unfit.Select(u => u.CountyId).ToArray(), herds = unfit.Select(u => u.HerdId).ToArray(),
                    kgs = unfit.Select(u => u.Kg).ToArray(), flags = unfit.Select(u => (short)u.Flags).ToArray(),
                }, transaction, cancellationToken: cancellationToken));

    private static async Task<IReadOnlyList<UnfitTankMilking>> UnfitAsync(NpgsqlConnection connection, IDbTransaction? transaction, IReadOnlyList<ReadingKey> keys,
        CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<UnfitRow>(new CommandDefinition(
            $"""
            select {UnfitColumns} from animal_milk_unfit u
            join unnest(@devices, @boots, @seqs) as k (device_id, boot_epoch, seq)
              on u.device_id = k.device_id and u.boot_epoch = k.boot_epoch and u.seq = k.seq
            """,
            new { devices = keys.Select(k => k.DeviceId).ToArray(), boots = keys.Select(k => k.BootEpoch).ToArray(), seqs = keys.Select(k => k.Sequence).ToArray() },
            transaction, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToMilking()).ToList();
    }

    /// <summary>A pasture's unfit milkings that reached its tank in (<paramref name="after"/>, <paramref name="upTo"/>], oldest first.</summary>
    public async Task<IReadOnlyList<UnfitTankMilking>> UnfitBetweenAsync(string pastureId, DateTimeOffset after, DateTimeOffset upTo, CancellationToken cancellationToken) =>
        await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var rows = await connection.QueryAsync<UnfitRow>(new CommandDefinition(
                $"""
                select {UnfitColumns} from animal_milk_unfit u
                where u.pasture_id = @pastureId and u.event_time > @after and u.event_time <= @upTo order by u.event_time, u.ear_tag
                """, new { pastureId, after = after.UtcDateTime, upTo = upTo.UtcDateTime }, cancellationToken: ct));
            return (IReadOnlyList<UnfitTankMilking>)rows.Select(r => r.ToMilking()).ToList();
        }, cancellationToken);

    private const string UnfitColumns =
        """
        u.device_id as DeviceId, u.boot_epoch as BootEpoch, u.seq as Seq, u.ear_tag as EarTag, u.event_time as EventTime, u.pasture_id as PastureId,
        u.county_id as CountyId, u.herd_id as HerdId, u.kg as Kg, u.flags as Flags
        """;

    private sealed class UnfitRow
    {
        public string DeviceId { get; init; } = "";
        public long BootEpoch { get; init; }
        public long Seq { get; init; }
        public string EarTag { get; init; } = "";
        public DateTime EventTime { get; init; }
        public string PastureId { get; init; } = "";
        public string CountyId { get; init; } = "";
        public string HerdId { get; init; } = "";
        public double Kg { get; init; }
        public short Flags { get; init; }

        public UnfitTankMilking ToMilking() => new(new ReadingKey(DeviceId, BootEpoch, Seq), new DateTimeOffset(DateTime.SpecifyKind(EventTime, DateTimeKind.Utc)),
            EarTag, PastureId, CountyId, HerdId, Kg, (AnimalMilkFlags)Flags);
    }

    private static async Task<HashSet<string>> CountedKeysAsync(NpgsqlConnection connection, IDbTransaction transaction, List<AnimalMilking> milkings,
        CancellationToken cancellationToken)
    {
        var pairs = milkings.Select(m => (m.EarTag, Day: ChinaTime.LocalDate(m.EventTime))).Distinct().ToArray();
        var keys = await connection.QueryAsync<string>(new CommandDefinition(
            """
            with locked as (
                select d.keys from animal_milk_day d
                join unnest(@tags, @days::date[]) as k (ear_tag, day) on d.ear_tag = k.ear_tag and d.day = k.day
                for update of d
            )
            select unnest(keys) from locked
            """,
            new { tags = pairs.Select(p => p.EarTag).ToArray(), days = pairs.Select(p => p.Day.ToDateTime(TimeOnly.MinValue)).ToArray() },
            transaction, cancellationToken: cancellationToken));
        return keys.ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Creates the month partitions these days fall in, once per process (under an advisory lock: hosts race).</summary>
    private async Task EnsurePartitionsAsync(IEnumerable<DateOnly> days, CancellationToken cancellationToken)
    {
        foreach (var month in days.Select(d => new DateOnly(d.Year, d.Month, 1)).Distinct())
        {
            var id = (month.Year * 12) + month.Month;
            if (_partitions.ContainsKey(id))
            {
                continue;
            }

            var name = string.Create(CultureInfo.InvariantCulture, $"animal_milk_day_{month.Year:D4}_{month.Month:D2}");
            var bounds = string.Create(CultureInfo.InvariantCulture, $"from ('{month:yyyy-MM-dd}') to ('{month.AddMonths(1):yyyy-MM-dd}')");
            await PostgresRetry.RunAsync(async ct =>
            {
                await using var connection = await dataSource.OpenConnectionAsync(ct);
                await using var transaction = await connection.BeginTransactionAsync(ct);
                await connection.ExecuteAsync(new CommandDefinition(
                    $"""
                    select pg_advisory_xact_lock(hashtext('animal_milk_day partitions'));
                    create table if not exists {name} partition of animal_milk_day
                        for values {bounds};
                    """, transaction: transaction, cancellationToken: ct));
                await transaction.CommitAsync(ct);
                return true;
            }, cancellationToken);
            _partitions[id] = true;
        }
    }

    internal static string KeyText(ReadingKey key) => $"{key.DeviceId}/{key.BootEpoch}/{key.Sequence}";

    private sealed class DayRow
    {
        public DateTime Day { get; init; }
        public string PastureId { get; init; } = "";
        public string HerdId { get; init; } = "";
        public double Kg { get; init; }
        public int Milkings { get; init; }
        public double SaleableKg { get; init; }
        public double WithdrawalKg { get; init; }
        public double ColostrumKg { get; init; }
        public double SeparatedKg { get; init; }
        public double UnregisteredKg { get; init; }

        public AnimalMilkDay ToDay() =>
            new(DateOnly.FromDateTime(Day), PastureId, HerdId, Kg, Milkings, SaleableKg, WithdrawalKg, ColostrumKg, SeparatedKg, UnregisteredKg);
    }
}
