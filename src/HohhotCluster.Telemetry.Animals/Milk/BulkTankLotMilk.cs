using System.Data;
using Dapper;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using Npgsql;

namespace HohhotCluster.Telemetry.Animals.Milk;

/// <summary>A bulk_tank event the lots are placed by: the milk line switched to a tank, or a tank collected into a lot.</summary>
public sealed record TankEvent(string PastureId, string CountyId, string TankId, DateTimeOffset At, string? CollectedLotId)
{
    public bool IsCollection => CollectedLotId is not null;
}

/// <summary>A collected lot holding milk GB 19301 keeps out of a tank: where a recall can start.</summary>
public sealed record UnfitBulkTankLot(
    string LotId, string PastureId, string CountyId, string TankId, DateTimeOffset WindowFrom, DateTimeOffset CollectedAt,
    IReadOnlyList<string> UnderWithdrawalEarTags, int WithdrawalMilkings, int ColostrumMilkings, int UnfitMilkings);

/// <summary>
/// The one owner of <c>milk_tank_event</c> and <c>milk_tank_lot</c> (migration 0403): which bulk-tank lot each milking
/// went into. A milking reaches a tank at its event time plus its duration; it goes into the tank the pasture's milk
/// line was last switched to (<c>filling</c>) at or before then, and into that tank's first collection after then. So
/// a lot holds the milkings that reached its tank from the tank's previous collection (at most
/// <see cref="LongestWindow"/> back) up to its own. Each lot's row is computed when its collection arrives and again
/// when a milking, filling or collection that changes it arrives later: milkings, fillings and collections come from
/// different devices in any order. Every write takes the pasture's advisory lock first, so a lot is never computed
/// from a snapshot that misses a write which then finds no lot to correct.
/// </summary>
public sealed class BulkTankLotMilk(NpgsqlDataSource dataSource) : ILotAnimalSource
{
    /// <summary>A tank holds no milk older than this: a lot's window starts no earlier, whatever the previous collection.</summary>
    public static readonly TimeSpan LongestWindow = TimeSpan.FromHours(72);

    /// <summary>How many of a lot's ear tags it names for an inspector to start from.</summary>
    public const int SampleSize = 5;

    private const short FillingKind = 1;
    private const short CollectionKind = 2;

    /// <summary>Keeps fillings and collections once each and (re)computes the lots they change, a pasture at a time.</summary>
    public async Task ApplyAsync(IReadOnlyList<TankEvent> events, CancellationToken cancellationToken)
    {
        if (events.Count == 0)
        {
            return;
        }

        await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            var byPasture = events.GroupBy(e => e.PastureId, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
            await LockPasturesAsync(connection, transaction, byPasture.Select(g => g.Key), ct);
            foreach (var pasture in byPasture)
            {
                var list = pasture.ToList();
                var inserted = await connection.QueryAsync<(short Kind, DateTime At, string? LotId)>(new CommandDefinition(
                    """
                    insert into milk_tank_event (pasture_id, kind, at, tank_id, county_id, lot_id)
                    select @pasture, * from unnest(@kinds, @ats, @tanks, @counties, @lots)
                    on conflict do nothing
                    returning kind, at, lot_id
                    """,
                    new
                    {
                        pasture = pasture.Key, kinds = list.Select(e => e.IsCollection ? CollectionKind : FillingKind).ToArray(),
                        ats = list.Select(e => e.At.UtcDateTime).ToArray(), tanks = list.Select(e => e.TankId).ToArray(),
                        counties = list.Select(e => e.CountyId).ToArray(), lots = list.Select(e => e.CollectedLotId).ToArray(),
                    }, transaction, cancellationToken: ct));
                var fresh = inserted.ToList();
                if (fresh.Count == 0)
                {
                    continue;
                }

                // A filling or a collection at t changes where milk from t on went: every lot collected after t.
                var from = new DateTimeOffset(DateTime.SpecifyKind(fresh.Min(e => e.At), DateTimeKind.Utc));
                var lots = await LotsAfterAsync(connection, transaction, pasture.Key, from, ct);
                lots.UnionWith(fresh.Where(e => e.LotId is not null).Select(e => e.LotId!));
                await ComputeAsync(connection, transaction, pasture.Key, lots, ct);
            }

            await transaction.CommitAsync(ct);
            return true;
        }, cancellationToken);
    }

    /// <summary>
    /// In the milk's own transaction (<see cref="AnimalMilkStore.ApplyAsync"/>): takes the pastures' locks before the
    /// milk is written, so a lot computed concurrently either sees the milk or is found and computed again here.
    /// </summary>
    internal static Task LockPasturesAsync(NpgsqlConnection connection, IDbTransaction transaction, IEnumerable<string> pastures, CancellationToken ct)
    {
        var sorted = pastures.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        return sorted.Length == 0
            ? Task.CompletedTask
            : connection.ExecuteAsync(new CommandDefinition(
                "select pg_advisory_xact_lock(hashtextextended('milk_tank_lot:' || p, 0)) from unnest(@sorted) as s (p)",
                new { sorted }, transaction, cancellationToken: ct));
    }

    /// <summary>
    /// After milk of these pastures reached tanks at these times was written: the lots already collected that hold it,
    /// computed again. One statement finds them for every pasture of the batch (none, as a rule: milk comes before its
    /// collection), so the milk path pays one round trip.
    /// </summary>
    internal static async Task MilkWrittenAsync(NpgsqlConnection connection, IDbTransaction transaction,
        IEnumerable<(string PastureId, DateTimeOffset InTankAt)> milk, CancellationToken ct)
    {
        var spans = milk.GroupBy(m => m.PastureId, StringComparer.Ordinal)
            .Select(g => (Pasture: g.Key, From: g.Min(m => m.InTankAt).UtcDateTime, To: g.Max(m => m.InTankAt).UtcDateTime)).ToList();
        if (spans.Count == 0)
        {
            return;
        }

        var held = await connection.QueryAsync<(string PastureId, string LotId)>(new CommandDefinition(
            """
            select l.pasture_id, l.lot_id
            from unnest(@pastures, @froms, @tos) as m (pasture_id, first_in, last_in)
            join milk_tank_lot l on l.pasture_id = m.pasture_id and l.window_to > m.first_in and l.window_from <= m.last_in
            """,
            new { pastures = spans.Select(s => s.Pasture).ToArray(), froms = spans.Select(s => s.From).ToArray(), tos = spans.Select(s => s.To).ToArray() },
            transaction, cancellationToken: ct));
        foreach (var pasture in held.GroupBy(h => h.PastureId, StringComparer.Ordinal))
        {
            await ComputeAsync(connection, transaction, pasture.Key, pasture.Select(h => h.LotId).ToList(), ct);
        }
    }

    // The pasture's lots collected after `after`.
    private static async Task<HashSet<string>> LotsAfterAsync(NpgsqlConnection connection, IDbTransaction transaction, string pastureId,
        DateTimeOffset after, CancellationToken ct) =>
        (await connection.QueryAsync<string>(new CommandDefinition(
            "select lot_id from milk_tank_lot where pasture_id = @pastureId and window_to > @after",
            new { pastureId, after = after.UtcDateTime }, transaction, cancellationToken: ct)))
        .ToHashSet(StringComparer.Ordinal);

    // Each lot from the tables as they are: its window, the fillings that sent milk to its tank in it, the milkings
    // that reached the tank then (not milked separately), upserted. The day rows are read by the pasture's (pasture,
    // day) index for the window's China days (a day earlier too: a milking's row is its event time's day).
    private const string ComputeSql =
        """
        with lots as (
            select e.lot_id, e.tank_id, e.county_id, e.at as window_to,
                   greatest(coalesce((select max(p.at) from milk_tank_event p
                                      where p.pasture_id = e.pasture_id and p.tank_id = e.tank_id and p.kind = 2 and p.at < e.at), '-infinity'),
                            e.at - @longest::interval) as window_from
            from milk_tank_event e
            where e.pasture_id = @pastureId and e.kind = 2 and e.lot_id = any(@lotIds)
        ),
        fills as (
            select f.at, f.tank_id, lead(f.at) over (order by f.at, f.tank_id) as until
            from milk_tank_event f
            where f.pasture_id = @pastureId and f.kind = 1 and f.at < (select max(window_to) from lots)
              and f.at >= coalesce((select max(x.at) from milk_tank_event x
                                    where x.pasture_id = @pastureId and x.kind = 1 and x.at <= (select min(window_from) from lots)), '-infinity')
        ),
        segments as (
            select l.lot_id, greatest(f.at, l.window_from) as s, least(coalesce(f.until, 'infinity'), l.window_to) as e
            from lots l join fills f on f.tank_id = l.tank_id
            where f.at < l.window_to and coalesce(f.until, 'infinity') > l.window_from
        ),
        milk as (
            select s.lot_id, d.ear_tag, u.kg, u.flag
            from segments s
            join animal_milk_day d on d.pasture_id = @pastureId
                 and d.day between ((s.s at time zone 'Asia/Shanghai')::date - 1) and (s.e at time zone 'Asia/Shanghai')::date
            cross join lateral unnest(coalesce(d.in_tank, d.times), d.kgs, d.flags) as u (t, kg, flag)
            where u.t >= s.s and u.t < s.e and u.flag & 1 = 0
        ),
        sums as (
            select lot_id, count(distinct ear_tag)::int as animals, count(*)::int as milkings, sum(kg) as kg,
                   coalesce(array_agg(distinct ear_tag order by ear_tag) filter (where flag & 2 <> 0), '{}') as withdrawal_tags,
                   (count(*) filter (where flag & 2 <> 0))::int as withdrawal_milkings,
                   (count(*) filter (where flag & 4 <> 0))::int as colostrum_milkings,
                   (count(*) filter (where flag & 6 <> 0))::int as unfit_milkings,
                   (array_agg(distinct ear_tag order by ear_tag))[1:@sample] as sample_tags
            from milk group by lot_id
        )
        insert into milk_tank_lot as t (lot_id, pasture_id, county_id, tank_id, window_from, window_to, routing_known, animals, milkings, kg,
                                        withdrawal_tags, withdrawal_milkings, colostrum_milkings, unfit_milkings, sample_tags, computed_at)
        select l.lot_id, @pastureId, l.county_id, l.tank_id, l.window_from, l.window_to,
               exists (select 1 from milk_tank_event f where f.pasture_id = @pastureId and f.kind = 1 and f.at < l.window_to),
               coalesce(s.animals, 0), coalesce(s.milkings, 0), coalesce(s.kg, 0), coalesce(s.withdrawal_tags, '{}'),
               coalesce(s.withdrawal_milkings, 0), coalesce(s.colostrum_milkings, 0), coalesce(s.unfit_milkings, 0),
               coalesce(s.sample_tags, '{}'), now()
        from lots l left join sums s using (lot_id)
        on conflict (lot_id) do update set
            window_from = excluded.window_from, window_to = excluded.window_to, routing_known = excluded.routing_known,
            animals = excluded.animals, milkings = excluded.milkings, kg = excluded.kg, withdrawal_tags = excluded.withdrawal_tags,
            withdrawal_milkings = excluded.withdrawal_milkings, colostrum_milkings = excluded.colostrum_milkings,
            unfit_milkings = excluded.unfit_milkings, sample_tags = excluded.sample_tags, computed_at = excluded.computed_at
        """;

    private static Task ComputeAsync(NpgsqlConnection connection, IDbTransaction transaction, string pastureId, IReadOnlyCollection<string> lotIds,
        CancellationToken ct) =>
        connection.ExecuteAsync(new CommandDefinition(ComputeSql,
            new { pastureId, lotIds = lotIds.ToArray(), longest = LongestWindow, sample = SampleSize }, transaction, cancellationToken: ct));

    /// <summary>The lots' milkings by lot id (<see cref="ILotAnimalSource"/>); a lot whose collection the platform has not seen is absent.</summary>
    public async Task<IReadOnlyDictionary<string, LotAnimals>> ReadAsync(IReadOnlyCollection<string> bulkTankLotIds, CancellationToken cancellationToken) =>
        await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var rows = await connection.QueryAsync<LotRow>(new CommandDefinition(
                $"select {LotColumns} from milk_tank_lot where lot_id = any(@ids)", new { ids = bulkTankLotIds.ToArray() }, cancellationToken: ct));
            return (IReadOnlyDictionary<string, LotAnimals>)rows.ToDictionary(r => r.LotId, r => r.ToLotAnimals(), StringComparer.Ordinal);
        }, cancellationToken);

    /// <summary>
    /// The lots collected in [<paramref name="from"/>, <paramref name="to"/>) that hold withdrawal or colostrum milk, of
    /// one pasture, the pastures of some counties, or (both null) all; oldest first, at most <paramref name="limit"/>.
    /// </summary>
    public async Task<IReadOnlyList<UnfitBulkTankLot>> UnfitLotsAsync(IReadOnlyCollection<string>? countyIds, string? pastureId, DateTimeOffset from,
        DateTimeOffset to, int limit, CancellationToken cancellationToken) =>
        await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var rows = await connection.QueryAsync<LotRow>(new CommandDefinition(
                $"""
                select {LotColumns} from milk_tank_lot
                where unfit_milkings > 0 and window_to >= @from and window_to < @to
                  and (@pastureId::text is null or pasture_id = @pastureId) and (@counties::text[] is null or county_id = any(@counties))
                order by window_to, lot_id limit @limit
                """,
                new { from = from.UtcDateTime, to = to.UtcDateTime, pastureId, counties = countyIds?.ToArray(), limit }, cancellationToken: ct));
            return (IReadOnlyList<UnfitBulkTankLot>)rows.Select(r => new UnfitBulkTankLot(r.LotId, r.PastureId, r.CountyId, r.TankId, Utc(r.WindowFrom),
                Utc(r.WindowTo), r.WithdrawalTags, r.WithdrawalMilkings, r.ColostrumMilkings, r.UnfitMilkings)).ToList();
        }, cancellationToken);

    private const string LotColumns =
        """
        lot_id as LotId, pasture_id as PastureId, county_id as CountyId, tank_id as TankId, window_from as WindowFrom, window_to as WindowTo,
        routing_known as RoutingKnown, animals as Animals, milkings as Milkings, kg as Kg, withdrawal_tags as WithdrawalTags,
        withdrawal_milkings as WithdrawalMilkings, colostrum_milkings as ColostrumMilkings, unfit_milkings as UnfitMilkings, sample_tags as SampleTags
        """;

    private static DateTimeOffset Utc(DateTime t) => new(DateTime.SpecifyKind(t, DateTimeKind.Utc));

    private sealed class LotRow
    {
        public string LotId { get; init; } = "";
        public string PastureId { get; init; } = "";
        public string CountyId { get; init; } = "";
        public string TankId { get; init; } = "";
        public DateTime WindowFrom { get; init; }
        public DateTime WindowTo { get; init; }
        public bool RoutingKnown { get; init; }
        public int Animals { get; init; }
        public int Milkings { get; init; }
        public double Kg { get; init; }
        public string[] WithdrawalTags { get; init; } = [];
        public int WithdrawalMilkings { get; init; }
        public int ColostrumMilkings { get; init; }
        public int UnfitMilkings { get; init; }
        public string[] SampleTags { get; init; } = [];

        public LotAnimals ToLotAnimals() =>
            new(LotId, Animals, Math.Round((decimal)Kg, 1), WithdrawalTags, ColostrumMilkings > 0, SampleTags)
            {
                RoutingKnown = RoutingKnown,
                Milkings = Milkings,
                WithdrawalMilkings = WithdrawalMilkings,
                ColostrumMilkings = ColostrumMilkings,
                WindowFrom = Utc(WindowFrom),
                WindowTo = Utc(WindowTo),
            };
    }
}

/// <summary>Keeps the bulk_tank kind's fillings and collections for <see cref="BulkTankLotMilk"/>; runs before the PUBACK, so a failure retries the batch.</summary>
public sealed class BulkTankLotObserver(BulkTankLotMilk lots) : IAcceptedObserver<BulkTankDraft>
{
    public Task OnAcceptedAsync(IReadOnlyList<Accepted<BulkTankDraft>> records, CancellationToken cancellationToken)
    {
        var events = new List<TankEvent>();
        foreach (var r in records)
        {
            var lot = r.Record.Kind == BulkTankEventKind.Collection ? r.Record.LotId : null;
            if (r.Record.Kind == BulkTankEventKind.Filling || lot is not null)
            {
                events.Add(new TankEvent(r.Device.OwnerId, r.Device.CountyId, r.Record.TankId, r.EventTime, lot));
            }
        }

        return lots.ApplyAsync(events, cancellationToken);
    }
}
