using Npgsql;

namespace HohhotCluster.Telemetry.Traceability;

/// <summary>
/// The precomputed lineage of product lots (<c>trace_lineage</c>, migration 0104; this class is its only writer): for
/// every product lot, each lot upstream of it, the fewest edges between them, and the kg of the product's milk that
/// came from it. Whoever writes or removes edges calls <see cref="RefreshAsync"/> in the same transaction with the
/// children of those edges: the product lots at or below them have their lineage recomputed from the edges as they
/// now stand (a late pickup into a load already blended and bottled, a corrected kg, a retraction). Trace back from a
/// product lot reads its upstream lots from here in one index range (<see cref="ChainQueries"/>).
/// </summary>
public static class ChainLineage
{
    /// <summary>Edges walked at most (as the default Traceability:MaxTraceDepth; a longer chain is a cycle or an error).</summary>
    public const int MaxDepth = 12;

    // The product lots at or below the changed lots.
    private const string ProductsBelowSql =
        """
        with recursive down(id, depth) as (
            select unnest(@lots::bigint[]), 0
            union
            select e.child, d.depth + 1 from down d join trace_edge e on e.parent = d.id where d.depth < @depth)
        select distinct l.id from (select distinct id from down) d
        cross join lateral (select t.id from trace_lot t where t.id = d.id and t.kind = 'product' offset 0) l
        """;

    // Up from each product along (child, parent), every path carrying the kg of the product's milk it stands for: an
    // edge parent -> lot passes on edge kg x (the lot's milk in the product / the lot's inflow). Paths are summed per
    // upstream lot. The same walk fills the table in migration 0104.
    private const string RefreshSql =
        """
        delete from trace_lineage where product = any(@products);
        insert into trace_lineage (product, ancestor, depth, kg)
        with recursive up(product, id, amount, depth) as (
            select p.id, e.parent, e.kg, 1
            from unnest(@products::bigint[]) p(id) join trace_edge e on e.child = p.id
            union all
            select u.product, e.parent, coalesce(e.kg * u.amount / nullif(i.inflow, 0), 0), u.depth + 1
            from up u
            cross join lateral (select sum(x.kg) as inflow from trace_edge x where x.child = u.id) i
            join trace_edge e on e.child = u.id
            where u.depth < @depth)
        select product, id, min(depth), sum(amount) from up where id <> product group by product, id;
        """;

    /// <summary>Recomputes the lineage of every product lot at or below <paramref name="changedLots"/> (the children of written or removed edges).</summary>
    public static async Task RefreshAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyCollection<long> changedLots, CancellationToken ct)
    {
        if (changedLots.Count == 0)
        {
            return;
        }

        var products = new List<long>();
        await using (var find = new NpgsqlCommand(ProductsBelowSql, connection, transaction))
        {
            find.Parameters.AddWithValue("lots", changedLots.ToArray());
            find.Parameters.AddWithValue("depth", MaxDepth);
            await using var reader = await find.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                products.Add(reader.GetInt64(0));
            }
        }

        if (products.Count == 0)
        {
            return;
        }

        await RecomputeAsync(connection, transaction, products.ToArray(), ct);
    }

    /// <summary>Recomputes the lineage of the given product lots from the edges as they stand.</summary>
    public static async Task RecomputeAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, long[] products, CancellationToken ct)
    {
        await using var refresh = new NpgsqlCommand(RefreshSql, connection, transaction);
        refresh.CommandTimeout = 0;
        refresh.Parameters.AddWithValue("products", products);
        refresh.Parameters.AddWithValue("depth", MaxDepth);
        await refresh.ExecuteNonQueryAsync(ct);
    }

    /// <summary>
    /// Rebuilds the lineage of every product lot (after a bulk load), in slices of product keys so no statement holds
    /// millions of walk rows at once. Returns the rows written.
    /// </summary>
    public static async Task<long> RebuildAllAsync(NpgsqlConnection connection, int productsPerSlice, CancellationToken ct)
    {
        await using (var truncate = new NpgsqlCommand("truncate trace_lineage", connection))
        {
            await truncate.ExecuteNonQueryAsync(ct);
        }

        var all = new List<long>();
        await using (var list = new NpgsqlCommand("select id from trace_lot where kind = 'product' order by id", connection))
        await using (var reader = await list.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                all.Add(reader.GetInt64(0));
            }
        }

        for (var i = 0; i < all.Count; i += productsPerSlice)
        {
            await RecomputeAsync(connection, null, all.GetRange(i, Math.Min(productsPerSlice, all.Count - i)).ToArray(), ct);
        }

        await using var count = new NpgsqlCommand("analyze trace_lineage; select count(*) from trace_lineage", connection);
        return (long)(await count.ExecuteScalarAsync(ct))!;
    }
}
