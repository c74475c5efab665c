using Dapper;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Animals;

/// <summary>One animal alive on a pasture at a moment.</summary>
public sealed record AliveAnimal(string EarTag, string PastureId, string Species);

/// <summary>
/// The registry's state at a moment (the stock KPIs' and the immunity answers' reads): each animal's state is its
/// newest event before the moment (docs/animals.md, "Rules"). An animal whose newest event is before it has its
/// current row as that state; only the others are looked up in their history, one index range each.
/// </summary>
public sealed partial class AnimalRegistryStore
{
    // Every animal registered before @at with its status and pasture as of @at; @ids limits the pastures.
    private const string StateAt =
        """
        with state_at as (
            select a.ear_tag, a.pasture_id, a.status, a.species, a.breed, a.birth_date from animal a
            where a.last_event_time < @at and a.pasture_id = any(@ids)
            union all
            select a.ear_tag, e.pasture_id, e.status, a.species, a.breed, a.birth_date from animal a
            cross join lateral (
                select pasture_id, status from animal_event e where e.ear_tag = a.ear_tag and e.event_time < @at
                order by e.event_time desc, e.id desc limit 1) e
            where a.last_event_time >= @at and a.registered_at < @at and e.pasture_id = any(@ids))
        """;

    /// <summary>The pastures (of these) that had any registered animal before <paramref name="at"/>.</summary>
    public async Task<IReadOnlySet<string>> PasturesWithAnimalsAsync(IReadOnlyCollection<string> pastureIds, DateTimeOffset at, CancellationToken cancellationToken) =>
        await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var rows = await connection.QueryAsync<string>(new CommandDefinition(
                """
                select p.id from unnest(@ids) as p(id)
                where exists (select 1 from animal_event e where e.pasture_id = p.id and e.event_time < @at)
                """, new { ids = pastureIds.ToArray(), at = at.UtcDateTime }, cancellationToken: ct));
            return (IReadOnlySet<string>)rows.ToHashSet(StringComparer.Ordinal);
        }, cancellationToken);

    /// <summary>
    /// Per pasture, the registered animals alive at <paramref name="at"/>, and of its goats those born on or before
    /// <paramref name="bornBy"/> of one of <paramref name="breeds"/>. Pastures without a live animal are absent.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, RegisteredStock>> StockAtAsync(IReadOnlyCollection<string> pastureIds, DateTimeOffset at, DateOnly bornBy,
        IReadOnlyCollection<string> breeds, CancellationToken cancellationToken) =>
        await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var rows = await connection.QueryAsync<(string PastureId, int Alive, int BreedingGoats)>(new CommandDefinition(
                StateAt + """
                select pasture_id, count(*)::int,
                       (count(*) filter (where species = 'goat' and breed = any(@breeds) and birth_date <= @bornBy))::int
                from state_at where status = 'alive' group by pasture_id
                """,
                new { ids = pastureIds.ToArray(), at = at.UtcDateTime, breeds = breeds.ToArray(), bornBy = bornBy.ToDateTime(TimeOnly.MinValue) },
                cancellationToken: ct));
            return (IReadOnlyDictionary<string, RegisteredStock>)rows.ToDictionary(
                r => r.PastureId, r => new RegisteredStock(r.PastureId, r.Alive, r.BreedingGoats), StringComparer.Ordinal);
        }, cancellationToken);

    /// <summary>The animals alive at <paramref name="at"/> on these pastures, in ear-tag order after <paramref name="afterEarTag"/> (at most <paramref name="limit"/>).</summary>
    public async Task<IReadOnlyList<AliveAnimal>> AliveAtAsync(IReadOnlyCollection<string> pastureIds, DateTimeOffset at, string afterEarTag, int limit,
        CancellationToken cancellationToken) =>
        await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var rows = await connection.QueryAsync<AliveAnimal>(new CommandDefinition(
                StateAt + """
                select ear_tag as EarTag, pasture_id as PastureId, species as Species from state_at
                where status = 'alive' and ear_tag > @afterEarTag order by ear_tag limit @limit
                """,
                new { ids = pastureIds.ToArray(), at = at.UtcDateTime, afterEarTag, limit }, cancellationToken: ct));
            return (IReadOnlyList<AliveAnimal>)rows.AsList();
        }, cancellationToken);
}
