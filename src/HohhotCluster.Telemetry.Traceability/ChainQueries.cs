using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.Traceability;

/// <summary>
/// Trace back, trace forward, recall impact and mass balance over the lot graph. Each walk is one recursive CTE over
/// the edge table's (child, parent) or (parent, child) index, so its cost follows the size of the answer, not of
/// the table. Every method takes the caller's scope: a processor sees the lots its plants touched, a regulator all.
/// Quality checks come from the audits component's <c>quality_result</c> table when it exists (its lot kinds
/// <c>bulk_tank_lot</c> and <c>product_lot</c> read as this chain's <c>bulk_tank</c> and <c>product</c>; looked up with
/// <c>to_regclass</c>; a database without it simply has no checks to show).
/// </summary>
public sealed partial class ChainQueries(NpgsqlDataSource dataSource, IOptions<TraceabilityOptions> options, ILotAnimalSource? animals = null)
{
    private const string LotColumns =
        "id, kind, lot_id, pasture_id, plant_id, unit_id, kg, temperature_c, at, accepted, product, details::text, source";

    private readonly TraceabilityOptions _options = options.Value;

    // One statement per trace (one round trip): the root by its natural key, the walk carrying the edges' columns,
    // the lots of the walk by primary key, and the quality checks of those lots, as tagged rows of one shape:
    // 0 root lot, 1 lot, 2 edge, 3 quality check. Columns: tag, key | parent, child, kind, lot_id | sample_id ...
    // Only the root and the direction differ between the variants, so they are put together from fixed fragments
    // (no value is ever part of the text: every value is a parameter).
    private const string RootByNaturalKey = "root as materialized (select id from trace_lot where kind = @kind and lot_id = @id)";
    private const string RootByKeys = "root as materialized (select distinct unnest(@roots::bigint[]) as id)";

    // The walk carries lot keys only, as the stepwise walk did: up from the root along (child, parent), each lot
    // reached at a depth below @depth passing on its in-edges. Every lookup after it (edges of the reached lots,
    // lots by key, checks by lot) is a lateral subquery kept from being flattened (offset 0), so it stays a
    // nested loop over an index whatever the planner guesses for the size of a recursive walk (it guesses
    // thousands of rows where there are hundreds, and would hash-join whole tables).
    private const string WalkUp =
        """
        walk(id, depth) as (
            select id, 0 from root
            union
            select e.parent, w.depth + 1 from walk w join trace_edge e on e.child = w.id where w.depth < @depth),
        edges as materialized (
            select e.* from (select distinct id from walk where depth < @depth) w
            cross join lateral (select e.parent, e.child, e.kg, e.at, e.temperature_c from trace_edge e where e.child = w.id offset 0) e),
        lots as materialized (
            select l.*, k.id in (select id from root) as is_root, null::double precision as inflow
            from (select id from root union select parent from edges) k
            cross join lateral (select * from trace_lot t where t.id = k.id offset 0) l)
        """;

    // Up from a product lot by its precomputed lineage (trace_lineage, ChainLineage): the lots upstream of it in one
    // range of the (product, ancestor) key, each at the fewest edges from it, instead of the recursive walk; the rest
    // (edges of the reached lots below @depth, lots by key, checks) is the walk-up's, so the answers are the same.
    private const string LineageUp =
        """
        walk(id, depth) as (
            select id, 0 from root
            union all
            select l.ancestor, l.depth from root r cross join lateral (select * from trace_lineage l where l.product = r.id offset 0) l),
        edges as materialized (
            select e.* from (select distinct id from walk where depth < @depth) w
            cross join lateral (select e.parent, e.child, e.kg, e.at, e.temperature_c from trace_edge e where e.child = w.id offset 0) e),
        lots as materialized (
            select l.*, k.id in (select id from root) as is_root, null::double precision as inflow
            from (select id from root union select parent from edges) k
            cross join lateral (select * from trace_lot t where t.id = k.id offset 0) l)
        """;

    // Down: the same along (parent, child); each lot also carries all milk into it (for the shares).
    private const string WalkDown =
        """
        walk(id, depth) as (
            select id, 0 from root
            union
            select e.child, w.depth + 1 from walk w join trace_edge e on e.parent = w.id where w.depth < @depth),
        edges as materialized (
            select e.* from (select distinct id from walk where depth < @depth) w
            cross join lateral (select e.parent, e.child, e.kg, e.at, e.temperature_c from trace_edge e where e.parent = w.id offset 0) e),
        lots as materialized (
            select l.*, k.id in (select id from root) as is_root,
                   (select sum(i.kg) from trace_edge i where i.child = l.id) as inflow
            from (select id from root union select child from edges) k
            cross join lateral (select * from trace_lot t where t.id = k.id offset 0) l)
        """;

    private const string TraceRows =
        """
        select case when l.is_root then 0 else 1 end, l.id, null::bigint, l.kind, l.lot_id, l.pasture_id, l.plant_id, l.unit_id,
               l.product, l.details::text, l.source, l.kg, l.temperature_c, l.at, l.accepted, l.inflow
        from lots l
        union all
        select 2, e.parent, e.child, null, null, null, null, null, null, null, null, e.kg, e.temperature_c, e.at, null, null
        from edges e
        """;

    // The audits' kinds bulk_tank_lot / product_lot read as bulk_tank / product: a lot's checks are those of its own
    // kind or its audits alias, written so the (lot_kind, lot_id) index of quality_result serves the lookup.
    private const string QualityRows =
        """
        union all
        select 3, null, null,
               (case q.lot_kind when 'bulk_tank_lot' then 'bulk_tank' when 'product_lot' then 'product' else q.lot_kind end)::text,
               q.lot_id::text, q.sample_id::text, coalesce(q.sample_kind::text, ''), q.verdict::text, coalesce(q.rule_version::text, ''),
               coalesce(q.items::text, '[]'), null, null, null, q.sampled_at, null, null
        from lots l cross join lateral (
            select * from quality_result q where q.lot_id = l.lot_id
                and q.lot_kind = any (array[l.kind, case l.kind when 'bulk_tank' then 'bulk_tank_lot' when 'product' then 'product_lot' else l.kind end])
            offset 0) q
        """;

    private const string NoJitSql = "select set_config('jit', 'off', true)";

    private const string TraceBackSql = "with recursive " + RootByNaturalKey + ",\n" + WalkUp + "\n" + TraceRows;
    private const string TraceBackWithQualitySql = TraceBackSql + "\n" + QualityRows;
    private const string LineageBackSql = "with recursive " + RootByNaturalKey + ",\n" + LineageUp + "\n" + TraceRows;
    private const string LineageBackWithQualitySql = LineageBackSql + "\n" + QualityRows;
    private const string ForwardFromLotSql = "with recursive " + RootByNaturalKey + ",\n" + WalkDown + "\n" + TraceRows;
    private const string ForwardFromLotWithQualitySql = ForwardFromLotSql + "\n" + QualityRows;
    private const string ForwardFromKeysSql = "with recursive " + RootByKeys + ",\n" + WalkDown + "\n" + TraceRows;
    private const string ForwardFromKeysWithQualitySql = ForwardFromKeysSql + "\n" + QualityRows;
    private volatile bool _qualityTableSeen;

    /// <summary>
    /// The whole tree down to the pastures: from a product lot by its precomputed lineage, from any other lot by the
    /// recursive walk; with each bulk-tank lot's animals when an <see cref="ILotAnimalSource"/> is registered.
    /// </summary>
    public async Task<TraceBackResult> TraceBackAsync(CallerScope caller, LotRef lot, CancellationToken cancellationToken)
    {
        var result = await TraceBackCoreAsync(caller, lot, lot.Kind == LotKinds.Product, cancellationToken);
        return animals is null ? result : result with { Animals = await ReadAnimalsAsync(animals, result.Graph, cancellationToken) };
    }

    /// <summary>Trace back by the recursive walk of the edges whatever the lot (the path before the lineage; kept to hold the lineage's answers to it).</summary>
    public Task<TraceBackResult> RecursiveTraceBackAsync(CallerScope caller, LotRef lot, CancellationToken cancellationToken) =>
        TraceBackCoreAsync(caller, lot, false, cancellationToken);

    /// <summary>The animals of the graph's bulk-tank lots, by lot id, as the source knows them (one call for the whole answer).</summary>
    public static async Task<IReadOnlyDictionary<string, LotAnimals>> ReadAnimalsAsync(ILotAnimalSource source, ChainGraph graph, CancellationToken ct)
    {
        var ids = new List<string>();
        foreach (var lot in graph.Lots.Values)
        {
            if (lot.Kind == LotKinds.BulkTank)
            {
                ids.Add(lot.LotId);
            }
        }

        return ids.Count == 0 ? new Dictionary<string, LotAnimals>() : await source.ReadAsync(ids, ct);
    }

    private Task<TraceBackResult> TraceBackCoreAsync(CallerScope caller, LotRef lot, bool byLineage, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var quality = await QualityTableExistsAsync(connection, ct);
            var graph = new ChainGraph();
            LotNode? root;
            var command = new NpgsqlBatchCommand(byLineage
                ? quality ? LineageBackWithQualitySql : LineageBackSql
                : quality ? TraceBackWithQualitySql : TraceBackSql);
            command.Parameters.AddWithValue("kind", lot.Kind);
            command.Parameters.AddWithValue("id", lot.Id);
            command.Parameters.AddWithValue("depth", _options.MaxTraceDepth);
            (root, _) = await ReadTraceAsync(connection, command, graph, _options.RejectAboveC, ct);

            if (root is null)
            {
                throw new LotNotFoundException($"No {lot.Kind} lot '{lot.Id}'.");
            }

            if (!caller.SeesAll && !await TouchedByAsync(connection, root, caller, ct))
            {
                // A lot the caller may not see is answered exactly as a lot that does not exist.
                throw new LotNotFoundException($"No {lot.Kind} lot '{lot.Id}'.");
            }

            return new TraceBackResult(root, graph);
        }, cancellationToken);

    public Task<TraceForwardResult> TraceForwardAsync(CallerScope caller, LotRef lot, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var quality = await QualityTableExistsAsync(connection, ct);
            var graph = new ChainGraph();
            LotNode? source;
            Dictionary<long, double> inflow;
            var command = new NpgsqlBatchCommand(quality ? ForwardFromLotWithQualitySql : ForwardFromLotSql);
            command.Parameters.AddWithValue("kind", lot.Kind);
            command.Parameters.AddWithValue("id", lot.Id);
            command.Parameters.AddWithValue("depth", _options.MaxTraceDepth);
            (source, inflow) = await ReadTraceAsync(connection, command, graph, _options.RejectAboveC, ct);

            return source is null
                ? throw new LotNotFoundException($"No {lot.Kind} lot '{lot.Id}'.")
                : Forward(graph, caller, [source], inflow, null, $"No {lot.Kind} lot '{lot.Id}'.");
        }, cancellationToken);

    public Task<TraceForwardResult> TraceForwardFromPastureAsync(
        CallerScope caller, string pastureId, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var sources = await QueryLotsAsync(connection,
                $"select {LotColumns} from trace_lot where kind = 'bulk_tank' and pasture_id = @pasture and at >= @from and at < @to order by at",
                [new("pasture", pastureId), new("from", from.ToUniversalTime()), new("to", to.ToUniversalTime())], ct);
            var notFound = $"No bulk-tank lots of pasture '{pastureId}' between {from:O} and {to:O}.";
            if (sources.Count == 0)
            {
                throw new LotNotFoundException(notFound);
            }

            return await ForwardFromSourcesAsync(connection, caller, sources, null, notFound, ct);
        }, cancellationToken);

    /// <summary>Forward from the lot a sample was taken of.</summary>
    public Task<TraceForwardResult> TraceForwardFromSampleAsync(CallerScope caller, string sampleId, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            if (!await QualityTableExistsAsync(connection, ct))
            {
                throw new TracePreconditionException("Quality results are not available on this platform (no quality_result table).");
            }

            var sample = (await QueryQualityAsync(connection,
                "where q.sample_id::text = @sample order by q.sampled_at limit 1", [new("sample", sampleId)], ct)).FirstOrDefault()
                ?? throw new LotNotFoundException($"No sample '{sampleId}'.");
            var source = await FindLotAsync(connection, new LotRef(sample.LotKind, sample.LotId), ct)
                ?? throw new LotNotFoundException($"Sample '{sampleId}' names {sample.LotKind} lot '{sample.LotId}', which the chain does not know.");
            return await ForwardFromSourcesAsync(connection, caller, [source], sample, $"No sample '{sampleId}'.", ct);
        }, cancellationToken);

    /// <summary>Forward from lots already read (a pasture's window, a sample's lot): the walk, lots, inflow and checks in one statement.</summary>
    private async Task<TraceForwardResult> ForwardFromSourcesAsync(
        NpgsqlConnection connection, CallerScope caller, IReadOnlyList<LotNode> sources, QualityCheck? sample, string notFound, CancellationToken ct)
    {
        var quality = await QualityTableExistsAsync(connection, ct);
        var graph = new ChainGraph();
        var roots = new long[sources.Count];
        for (var i = 0; i < sources.Count; i++)
        {
            roots[i] = sources[i].Key;
            graph.Lots[roots[i]] = sources[i];
        }

        var command = new NpgsqlBatchCommand(quality ? ForwardFromKeysWithQualitySql : ForwardFromKeysSql);
        command.Parameters.AddWithValue("roots", roots);
        command.Parameters.AddWithValue("depth", _options.MaxTraceDepth);
        var (_, inflow) = await ReadTraceAsync(connection, command, graph, _options.RejectAboveC, ct);

        return Forward(graph, caller, sources, inflow, sample, notFound);
    }

    /// <summary>
    /// The source's milk and share in each reached lot, cut to what the caller sees (shared by the one-statement and
    /// the stepwise path). The graph holds the sources, every reached lot and edge, and the quality checks of all of them.
    /// </summary>
    private static TraceForwardResult Forward(
        ChainGraph graph, CallerScope caller, IReadOnlyList<LotNode> sources, Dictionary<long, double> inflow, QualityCheck? sample, string notFound)
    {
        var roots = new long[sources.Count];
        for (var i = 0; i < sources.Count; i++)
        {
            roots[i] = sources[i].Key;
        }

        var sourceKg = PropagateSourceMilk(graph, roots, inflow);
        var visible = VisibleLots(graph, caller);
        if (visible.Count == 0)
        {
            // Nothing of this source reached the caller: answered exactly as a source that does not exist.
            throw new LotNotFoundException(notFound);
        }

        var reached = new List<ReachedLot>();
        foreach (var (key, lot) in graph.Lots)
        {
            if (Array.IndexOf(roots, key) >= 0 || !visible.Contains(key))
            {
                continue;
            }

            var kg = sourceKg.GetValueOrDefault(key);
            var total = inflow.GetValueOrDefault(key);
            reached.Add(new ReachedLot(lot, kg, total > 0 ? kg / total : 0));
        }

        reached.Sort((a, b) => Rank(a.Lot.Kind) != Rank(b.Lot.Kind)
            ? Rank(a.Lot.Kind).CompareTo(Rank(b.Lot.Kind))
            : string.CompareOrdinal(a.Lot.LotId, b.Lot.LotId));
        graph.Edges.RemoveAll(e => !visible.Contains(e.Child) || !(visible.Contains(e.Parent) || Array.IndexOf(roots, e.Parent) >= 0));
        var removed = false;
        foreach (var key in graph.Lots.Keys.ToArray())
        {
            if (!visible.Contains(key) && Array.IndexOf(roots, key) < 0)
            {
                removed |= graph.Lots.Remove(key);
            }
        }

        if (removed && graph.QualityChecks.Count > 0)
        {
            // Only the checks of the lots the caller sees (each check belongs to exactly one lot: kind and id are unique).
            var kept = new HashSet<(string, string)>();
            foreach (var lot in graph.Lots.Values)
            {
                kept.Add((lot.Kind, lot.LotId));
            }

            graph.QualityChecks.RemoveAll(q => !kept.Contains((q.LotKind, q.LotId)));
        }

        return new TraceForwardResult(sources, reached, graph, sample);
    }

    /// <summary>
    /// The lots dated in a window that the caller sees, the edges into them and the lots those come from: for a
    /// processor, its plants' lots and the loadings of the tanker loads they received.
    /// </summary>
    public Task<ChainGraph> WindowAsync(CallerScope caller, DateTimeOffset from, DateTimeOffset to, int maxLots, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var lots = await QueryLotsAsync(connection,
                $"""
                select {LotColumns} from trace_lot
                where at >= @from and at < @to and (@plants::text[] is null or plant_id = any(@plants))
                order by at limit @limit
                """,
                [new("from", from.ToUniversalTime()), new("to", to.ToUniversalTime()),
                 new("plants", NpgsqlTypes.NpgsqlDbType.Array | NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)caller.PlantFilter ?? DBNull.Value },
                 new("limit", maxLots + 1)], ct);
            if (lots.Count > maxLots)
            {
                throw new InvalidTraceRequestException($"The window holds more than {maxLots} lots; ask for a shorter one.");
            }

            var graph = new ChainGraph();
            foreach (var lot in lots)
            {
                graph.Lots[lot.Key] = lot;
            }

            // In-edges of the window's lots, and for receipts also the pickups into their tanker loads.
            await using (var command = new NpgsqlCommand(
                """
                select e.parent, e.child, e.kg, e.at, e.temperature_c from trace_edge e where e.child = any(@ids)
                union
                select p.parent, p.child, p.kg, p.at, p.temperature_c
                from trace_edge d join trace_lot t on t.id = d.parent and t.kind = 'tanker_load' join trace_edge p on p.child = t.id
                where d.child = any(@ids)
                """, connection))
            {
                command.Parameters.AddWithValue("ids", graph.Lots.Keys.ToArray());
                await using var reader = await command.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    var edge = new ChainEdge(reader.GetInt64(0), reader.GetInt64(1), reader.GetDouble(2),
                        reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3), reader.IsDBNull(4) ? null : reader.GetDouble(4));
                    graph.Edges.Add(edge);
                    graph.Lots.TryAdd(edge.Parent, null!);
                    graph.Lots.TryAdd(edge.Child, null!);
                }
            }

            await LoadLotsAsync(connection, graph, ct);
            await LoadQualityAsync(connection, graph, ct);
            ReceiptAcceptance.Apply(graph, _options.RejectAboveC);
            await LoadLotEventsAsync(connection, graph, ct);
            return graph;
        }, cancellationToken);

    /// <summary>A lot's history: its trace back and its trace forward, as far as the caller sees, with lot events.</summary>
    public async Task<ChainGraph> HistoryAsync(CallerScope caller, LotRef lot, CancellationToken cancellationToken)
    {
        var back = await TraceBackAsync(caller, lot, cancellationToken);
        var forward = await TraceForwardAsync(caller, lot, cancellationToken);
        var graph = back.Graph;
        foreach (var (key, node) in forward.Graph.Lots)
        {
            graph.Lots.TryAdd(key, node);
        }

        var seen = new HashSet<(long, long)>();
        foreach (var edge in graph.Edges)
        {
            seen.Add((edge.Parent, edge.Child));
        }

        foreach (var edge in forward.Graph.Edges)
        {
            if (seen.Add((edge.Parent, edge.Child)))
            {
                graph.Edges.Add(edge);
            }
        }

        var samples = new HashSet<(string, string, string)>();
        foreach (var check in graph.QualityChecks)
        {
            samples.Add((check.SampleId, check.LotKind, check.LotId));
        }

        foreach (var check in forward.Graph.QualityChecks)
        {
            if (samples.Add((check.SampleId, check.LotKind, check.LotId)))
            {
                graph.QualityChecks.Add(check);
            }
        }

        await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            graph.LotEvents.Clear();
            await LoadLotEventsAsync(connection, graph, ct);
            return 0;
        }, cancellationToken);
        return graph;
    }

    private static async Task LoadLotEventsAsync(NpgsqlConnection connection, ChainGraph graph, CancellationToken ct)
    {
        // Imported sampling / holding / recall events, and the recalls declared here (exported as holding / recalled).
        await using var command = new NpgsqlCommand(
            """
            select lot, event_id, biz_step, disposition, at from trace_lot_event where lot = any(@ids)
            union all
            select lot, 'recall-declaration:' || to_char(declared_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS'), 'holding', 'recalled', declared_at
            from trace_recall where lot = any(@ids)
            order by at
            """, connection);
        command.Parameters.AddWithValue("ids", graph.Lots.Keys.ToArray());
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            graph.LotEvents.Add((reader.GetInt64(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3), reader.GetFieldValue<DateTimeOffset>(4)));
        }
    }

    /// <summary>
    /// The source's milk in each reached lot: a lot passes on to each child the fraction of its own milk that came
    /// from the source (sources pass on all of theirs). Lots are visited in topological order of the reached graph.
    /// </summary>
    public static Dictionary<long, double> PropagateSourceMilk(ChainGraph graph, long[] roots, Dictionary<long, double> inflow)
    {
        var outgoing = new Dictionary<long, List<ChainEdge>>();
        var pending = new Dictionary<long, int>();
        foreach (var edge in graph.Edges)
        {
            (outgoing.TryGetValue(edge.Parent, out var list) ? list : outgoing[edge.Parent] = []).Add(edge);
            pending[edge.Child] = pending.GetValueOrDefault(edge.Child) + 1;
        }

        var sourceKg = new Dictionary<long, double>();
        var ready = new Queue<long>();
        foreach (var root in roots)
        {
            if (!pending.ContainsKey(root))
            {
                ready.Enqueue(root);
            }
        }

        while (ready.TryDequeue(out var lot))
        {
            var fraction = Array.IndexOf(roots, lot) >= 0 ? 1.0
                : inflow.GetValueOrDefault(lot) is > 0 and var total ? sourceKg.GetValueOrDefault(lot) / total : 0.0;
            if (!outgoing.TryGetValue(lot, out var edges))
            {
                continue;
            }

            foreach (var edge in edges)
            {
                sourceKg[edge.Child] = sourceKg.GetValueOrDefault(edge.Child) + (edge.Kg * fraction);
                if (--pending[edge.Child] == 0)
                {
                    ready.Enqueue(edge.Child);
                }
            }
        }

        return sourceKg;
    }

    /// <summary>
    /// What a caller may see of a forward trace: all of it for a regulator; for a processor, the plant-side lots of
    /// its plants and the lots upstream of them (the milk it received).
    /// </summary>
    private static HashSet<long> VisibleLots(ChainGraph graph, CallerScope caller)
    {
        var visible = new HashSet<long>();
        foreach (var (key, lot) in graph.Lots)
        {
            if (caller.SeesAll || (LotKinds.IsPlantSide(lot.Kind) && caller.SeesPlant(lot.PlantId))
                || (lot.Kind == LotKinds.BulkTank && caller.SeesPasture(lot.PastureId)))
            {
                visible.Add(key);
            }
        }

        if (caller.SeesAll)
        {
            return visible;
        }

        if (caller.PastureIds is not null)
        {
            // Milk from a pasture the caller sees is followed as far as the tanker loads it was pumped into.
            foreach (var edge in graph.Edges)
            {
                if (visible.Contains(edge.Parent) && graph.Lots.TryGetValue(edge.Parent, out var parent) && parent.Kind == LotKinds.BulkTank
                    && graph.Lots.TryGetValue(edge.Child, out var child) && child.Kind == LotKinds.TankerLoad)
                {
                    visible.Add(edge.Child);
                }
            }
        }

        if (caller.PlantIds is not { Count: > 0 })
        {
            return visible;
        }

        // Upstream of a visible lot is visible: walk the edges backwards until nothing changes (the chain is shallow).
        for (var changed = true; changed;)
        {
            changed = false;
            foreach (var edge in graph.Edges)
            {
                if (visible.Contains(edge.Child) && graph.Lots.TryGetValue(edge.Parent, out var parent)
                    && !LotKinds.IsPlantSide(parent.Kind) && visible.Add(edge.Parent))
                {
                    changed = true;
                }
            }
        }

        return visible;
    }

    /// <summary>
    /// Declares a recall of a product lot (the caller's plant's, or any for the operator): the only way, besides an
    /// imported <c>recalled</c> disposition, that an export says <c>recalled</c>. A failing check alone holds lots.
    /// </summary>
    public Task<DateTimeOffset> DeclareRecallAsync(CallerScope caller, string productLotId, string reason, CancellationToken cancellationToken)
    {
        if (!caller.MayWrite)
        {
            throw new ScopeDeniedException("A regulator orders a recall through the processor; it does not declare one here.");
        }

        if (string.IsNullOrWhiteSpace(reason) || reason.Length > 500)
        {
            throw new InvalidTraceRequestException("reason: a recall needs a reason of 1-500 characters.");
        }

        return PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var lot = await FindLotAsync(connection, new LotRef(LotKinds.Product, productLotId), ct);
            if (lot is null || !caller.SeesPlant(lot.PlantId))
            {
                throw new LotNotFoundException($"No product lot '{productLotId}'.");
            }

            await using var command = new NpgsqlCommand(
                "insert into trace_recall (lot, declared_at, organisation, reason) values (@lot, @at, @organisation, @reason) on conflict do nothing returning declared_at",
                connection);
            var at = DateTimeOffset.UtcNow;
            command.Parameters.AddWithValue("lot", lot.Key);
            command.Parameters.AddWithValue("at", new DateTimeOffset(at.Ticks - (at.Ticks % 10), TimeSpan.Zero));
            command.Parameters.AddWithValue("organisation", caller.OrganisationId);
            command.Parameters.AddWithValue("reason", reason.Trim());
            await command.ExecuteNonQueryAsync(ct);
            return at;
        }, cancellationToken);
    }

    /// <summary>The product lots a failing sample's recall must hold (see <see cref="RecallAsync"/>).</summary>
    public Task<RecallImpact> RecallImpactAsync(CallerScope caller, string sampleId, CancellationToken cancellationToken) =>
        RecallAsync(caller, RecallRoot.OfSample(sampleId), cancellationToken);

    /// <summary>
    /// The product lots a recall holds, each whole (its full output kg), with the share of suspect milk beside it:
    /// <list type="bullet">
    /// <item>a failing sample of a pasture-side or plant-side lot: every product lot its milk reached;</item>
    /// <item>a failing sample of a product lot, or a line run named by one of its product lots: that lot, its siblings
    /// from the same silo batches (every product lot those batches fed) and the other lots of its line run; the suspect
    /// milk is that of the lot's silo batches;</item>
    /// <item>a silo batch: every product lot it fed.</item>
    /// </list>
    /// A line run is the product lots of one plant, line and product that were made from the same silo batches as the
    /// lot, or within <see cref="TraceabilityOptions.LineRunWindow"/> of it on that line (a lot without a line has no run).
    /// </summary>
    public async Task<RecallImpact> RecallAsync(CallerScope caller, RecallRoot root, CancellationToken cancellationToken)
    {
        if (root.SampleId is { } sampleId)
        {
            var forward = await TraceForwardFromSampleAsync(caller, sampleId, cancellationToken);
            var source = forward.Sources[0];
            if (source.Kind == LotKinds.Product)
            {
                return await ProductRecallAsync(caller, source, forward.Sample, "the sampled lot", cancellationToken);
            }

            var products = new List<RecallLot>();
            foreach (var reached in forward.Reached)
            {
                if (reached.Lot.Kind == LotKinds.Product && reached.SourceKg > 0)
                {
                    products.Add(new RecallLot(reached.Lot, reached.SourceKg, reached.Share,
                        $"milk of the sampled {source.Kind} lot{RejectedReceiptsInto(forward.Graph, reached.Lot.Key)}"));
                }
            }

            return new RecallImpact(forward.Sample, source, products);
        }

        if (root.SiloBatchId is { } batchId)
        {
            var notFound = $"No silo_batch lot '{batchId}'.";
            return await PostgresRetry.RunAsync(async ct =>
            {
                await using var connection = await dataSource.OpenConnectionAsync(ct);
                var batch = await FindLotAsync(connection, new LotRef(LotKinds.SiloBatch, batchId), ct);
                if (batch is null || !caller.SeesPlant(batch.PlantId))
                {
                    throw new LotNotFoundException(notFound);
                }

                var forward = await ForwardFromSourcesAsync(connection, caller, [batch], null, notFound, ct);
                var products = forward.Reached.Where(r => r.Lot.Kind == LotKinds.Product && r.SourceKg > 0)
                    .Select(r => new RecallLot(r.Lot, r.SourceKg, r.Share, $"fed by silo batch {batchId}")).ToList();
                return new RecallImpact(null, batch, products);
            }, cancellationToken);
        }

        if (root.LineRunOfProductLotId is { } lotId)
        {
            var lot = await PostgresRetry.RunAsync(async ct =>
            {
                await using var connection = await dataSource.OpenConnectionAsync(ct);
                return await FindLotAsync(connection, new LotRef(LotKinds.Product, lotId), ct);
            }, cancellationToken);
            if (lot is null || !caller.SeesPlant(lot.PlantId))
            {
                throw new LotNotFoundException($"No product lot '{lotId}'.");
            }

            return await ProductRecallAsync(caller, lot, null, "the named lot of the line run", cancellationToken);
        }

        throw new InvalidTraceRequestException("Give one recall root: sample_id, silo_batch_id or line_run_product_lot_id.");
    }

    /// <summary>"; with milk of rejected receipt T (why)" for each rejected receipt of the graph upstream of the lot.</summary>
    private static string RejectedReceiptsInto(ChainGraph graph, long lot)
    {
        var seen = new HashSet<long> { lot };
        var pending = new Stack<long>([lot]);
        var notes = new List<string>();
        while (pending.TryPop(out var key))
        {
            foreach (var edge in graph.Edges)
            {
                if (edge.Child == key && seen.Add(edge.Parent))
                {
                    pending.Push(edge.Parent);
                    if (graph.Lots.TryGetValue(edge.Parent, out var parent) && parent is { Kind: LotKinds.Receipt, Accepted: false })
                    {
                        notes.Add($"; with milk of rejected receipt {parent.LotId} ({parent.RejectionReason})");
                    }
                }
            }
        }

        notes.Sort(StringComparer.Ordinal);
        return string.Concat(notes);
    }

    /// <summary>A product lot, its siblings from the same silo batches and its line run, each with the share of those batches' milk.</summary>
    private Task<RecallImpact> ProductRecallAsync(CallerScope caller, LotNode product, QualityCheck? sample, string why, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var batches = await QueryLotsAsync(connection,
                $"select {LotColumns} from trace_lot where id in (select parent from trace_edge where child = @key) and kind = 'silo_batch' order by lot_id",
                [new("key", product.Key)], ct);
            var held = new Dictionary<long, RecallLot> { [product.Key] = new(product, product.Kg ?? 0, 1.0, why) };
            var order = new List<long> { product.Key };
            if (batches.Count > 0)
            {
                var forward = await ForwardFromSourcesAsync(connection, caller, batches, null, $"No product lot '{product.LotId}'.", ct);
                var names = string.Join(", ", batches.Select(b => b.LotId));
                foreach (var reached in forward.Reached)
                {
                    if (reached.Lot.Kind == LotKinds.Product && reached.SourceKg > 0)
                    {
                        if (reached.Lot.Key == product.Key)
                        {
                            held[product.Key] = new RecallLot(product, reached.SourceKg, reached.Share, why);
                        }
                        else if (held.TryAdd(reached.Lot.Key, new RecallLot(reached.Lot, reached.SourceKg, reached.Share, $"sibling: same silo batch ({names})")))
                        {
                            order.Add(reached.Lot.Key);
                        }
                    }
                }
            }

            if (product.UnitId is { } line && product.At is { } at)
            {
                var window = _options.LineRunWindow;
                var run = await QueryLotsAsync(connection,
                    $"""
                    select {LotColumns} from trace_lot l
                    where l.kind = 'product' and l.plant_id = @plant and l.unit_id = @line and l.product is not distinct from @product and l.id <> @key
                      and (l.at between @from and @to
                           or (select array_agg(e.parent order by e.parent) from trace_edge e where e.child = l.id)
                              = (select array_agg(e.parent order by e.parent) from trace_edge e where e.child = @key))
                    order by l.at, l.lot_id
                    """,
                    [new("plant", (object?)product.PlantId ?? DBNull.Value), new("line", line), new("product", NpgsqlTypes.NpgsqlDbType.Text) { Value = (object?)product.Product ?? DBNull.Value },
                     new("key", product.Key), new("from", (at - window).ToUniversalTime()), new("to", (at + window).ToUniversalTime())], ct);
                foreach (var member in run)
                {
                    if (!held.ContainsKey(member.Key) && caller.SeesPlant(member.PlantId))
                    {
                        // Made on the same line from other milk: held for the line's hygiene, with none of the suspect milk.
                        held[member.Key] = new RecallLot(member, 0, 0, $"same line run (line {line}, {product.Product})");
                        order.Add(member.Key);
                    }
                }
            }

            return new RecallImpact(sample, product, order.Select(k => held[k]).ToList());
        }, cancellationToken);

    public Task<MassBalanceResult> MassBalanceAsync(CallerScope caller, string plantId, DateOnly localDate, CancellationToken cancellationToken)
    {
        return PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            // A plant the caller may not see is answered exactly as a plant that is not registered.
            if (!caller.SeesPlant(plantId) || !await PlantExistsAsync(connection, plantId, ct))
            {
                throw new LotNotFoundException($"No plant '{plantId}'.");
            }

            var from = ChinaTime.StartOfDay(localDate);
            var to = ChinaTime.StartOfDay(localDate.AddDays(1));
            var lots = await QueryLotsAsync(connection,
                $"select {LotColumns} from trace_lot where plant_id = @plant and at >= @from and at < @to order by kind, lot_id",
                [new("plant", plantId), new("from", from), new("to", to)], ct);
            var ids = new long[lots.Count];
            for (var i = 0; i < lots.Count; i++)
            {
                ids[i] = lots[i].Key;
            }

            // Per lot of the day: milk in (sum of in-edges) and milk out (sum of out-edges).
            var inKg = new Dictionary<long, double>();
            var outKg = new Dictionary<long, double>();
            await using (var command = new NpgsqlCommand(
                """
                select id, (select coalesce(sum(kg), 0) from trace_edge where child = id), (select coalesce(sum(kg), 0) from trace_edge where parent = id)
                from unnest(@ids) as id
                """, connection))
            {
                command.Parameters.AddWithValue("ids", ids);
                await using var reader = await command.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    inKg[reader.GetInt64(0)] = reader.GetDouble(1);
                    outKg[reader.GetInt64(0)] = reader.GetDouble(2);
                }
            }

            // Each receipt's tanker load and what was pumped into it at the pastures, by pasture.
            var pickedUp = new Dictionary<long, double>();
            var byPasture = new Dictionary<long, IReadOnlyList<(string PastureId, double Kg)>>();
            await using (var command = new NpgsqlCommand(
                """
                select r.id, b.pasture_id, coalesce(sum(p.kg), 0)
                from unnest(@ids) as r(id)
                join trace_edge d on d.child = r.id
                join trace_lot t on t.id = d.parent and t.kind = 'tanker_load'
                left join trace_edge p on p.child = t.id
                left join trace_lot b on b.id = p.parent
                group by r.id, b.pasture_id
                """, connection))
            {
                command.Parameters.AddWithValue("ids", ids);
                await using var reader = await command.ExecuteReaderAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    var key = reader.GetInt64(0);
                    var kg = reader.GetDouble(2);
                    pickedUp[key] = pickedUp.GetValueOrDefault(key) + kg;
                    if (!reader.IsDBNull(1) && kg > 0)
                    {
                        var list = byPasture.TryGetValue(key, out var existing) ? (List<(string, double)>)existing : [];
                        list.Add((reader.GetString(1), kg));
                        byPasture[key] = list;
                    }
                }
            }

            var graph = new ChainGraph();
            foreach (var lot in lots)
            {
                graph.Lots[lot.Key] = lot;
            }

            await LoadQualityAsync(connection, graph, ct, includeTankerLoadsOfReceipts: true);
            var pastures = byPasture.Values.SelectMany(l => l).Select(p => p.PastureId).Distinct().ToArray();
            var baselines = pastures.Length > 0 && await QualityTableExistsAsync(connection, ct)
                ? await FreezingBaselinesAsync(connection, pastures, from, ct)
                : new Dictionary<string, FreezingBaseline>();
            return Balance(plantId, localDate, _options, lots, inKg, outKg, pickedUp, graph.QualityChecks, byPasture, baselines);
        }, cancellationToken);
    }

    /// <summary>
    /// Each pasture's freezing-point baseline: the median of the freezing points in the quality results of its
    /// bulk-tank lots sampled before <paramref name="before"/>, the most recent
    /// <see cref="TraceabilityOptions.FreezingPointBaselineSamples"/> of them.
    /// </summary>
    private async Task<Dictionary<string, FreezingBaseline>> FreezingBaselinesAsync(
        NpgsqlConnection connection, string[] pastures, DateTimeOffset before, CancellationToken ct)
    {
        var points = new Dictionary<string, List<double>>(StringComparer.Ordinal);
        await using (var command = new NpgsqlCommand(
            """
            select pa.pasture, x.items
            from unnest(@pastures::text[]) as pa(pasture)
            cross join lateral (
                select q.items::text as items
                from trace_lot l join quality_result q on q.lot_id = l.lot_id and q.lot_kind in ('bulk_tank_lot', 'bulk_tank')
                where l.kind = 'bulk_tank' and l.pasture_id = pa.pasture and q.sampled_at < @before and q.items::text ilike '%freezing%'
                order by q.sampled_at desc limit @n) x
            """, connection))
        {
            command.Parameters.AddWithValue("pastures", pastures);
            command.Parameters.AddWithValue("before", before.ToUniversalTime());
            command.Parameters.AddWithValue("n", _options.FreezingPointBaselineSamples);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                if (FreezingPoint(reader.GetString(1)) is { } point)
                {
                    (points.TryGetValue(reader.GetString(0), out var list) ? list : points[reader.GetString(0)] = []).Add(point);
                }
            }
        }

        var baselines = new Dictionary<string, FreezingBaseline>(StringComparer.Ordinal);
        foreach (var (pasture, list) in points)
        {
            list.Sort();
            var median = list.Count % 2 == 1 ? list[list.Count / 2] : (list[(list.Count / 2) - 1] + list[list.Count / 2]) / 2;
            baselines[pasture] = new FreezingBaseline(pasture, median, list.Count);
        }

        return baselines;
    }


    /// <summary>The day's balance and its flags, from the lots of the day and their edge sums (pure; unit tested).</summary>
    public static MassBalanceResult Balance(
        string plantId,
        DateOnly localDate,
        TraceabilityOptions options,
        IReadOnlyList<LotNode> lots,
        IReadOnlyDictionary<long, double> inKg,
        IReadOnlyDictionary<long, double> outKg,
        IReadOnlyDictionary<long, double> pickedUp,
        IReadOnlyList<QualityCheck> quality,
        IReadOnlyDictionary<long, IReadOnlyList<(string PastureId, double Kg)>>? pickupsByPasture = null,
        IReadOnlyDictionary<string, FreezingBaseline>? baselines = null)
    {
        var tolerance = options.MassBalanceTolerance;
        var flags = new List<MassBalanceFlag>();
        double picked = 0, received = 0, rejected = 0, blended = 0, used = 0, produced = 0;
        foreach (var stored in lots)
        {
            var lot = ReceiptAcceptance.Resolve(stored, options.RejectAboveC, quality);
            var milkIn = inKg.GetValueOrDefault(lot.Key);
            var milkOut = outKg.GetValueOrDefault(lot.Key);
            switch (lot.Kind)
            {
                case LotKinds.Receipt:
                    if (lot.Kg is not { } weighed)
                    {
                        flags.Add(new MassBalanceFlag("missing_weighbridge", lot.Ref, milkOut, 0, "blended or referenced, but no weighbridge record")
                        {
                            Evidence = [Kg("blended_kg", milkOut)],
                        });
                        break;
                    }

                    var pumped = pickedUp.GetValueOrDefault(lot.Key);
                    picked += pumped;
                    if (lot.Accepted == false)
                    {
                        rejected += weighed;
                        if (milkOut > 0)
                        {
                            flags.Add(new MassBalanceFlag("rejected_load_used", lot.Ref, 0, milkOut,
                                $"a rejected tanker load was blended into a silo: {lot.RejectionReason}")
                            {
                                Evidence = [Kg("weighed_kg", weighed), Kg("blended_kg", milkOut), new("rejected_because", lot.RejectionReason ?? "rejected"),
                                    .. lot.TemperatureC is { } t ? [Celsius("arrival_temperature_c", t), Celsius("reject_above_c", options.RejectAboveC)] : Array.Empty<KeyValuePair<string, string>>()],
                            });
                        }

                        break;
                    }

                    received += weighed;
                    var slack = Math.Max(options.WeightToleranceKg, options.WeightToleranceFraction * pumped);
                    List<KeyValuePair<string, string>> weights =
                    [
                        Kg("picked_up_kg", pumped), Kg("weighed_kg", weighed), Kg("difference_kg", weighed - pumped),
                        new("difference_percent", Number(pumped > 0 ? (weighed - pumped) / pumped * 100 : 0, "0.00")),
                        Kg("tolerance_kg", options.WeightToleranceKg), new("tolerance_percent", Number(options.WeightToleranceFraction * 100, "0.00")),
                    ];
                    if (pumped <= 0)
                    {
                        flags.Add(new MassBalanceFlag("unknown_origin", lot.Ref, 0, weighed, "no pickups recorded for this tanker load")
                        {
                            Evidence = [Kg("weighed_kg", weighed)],
                        });
                    }
                    else if (weighed > pumped + slack)
                    {
                        flags.Add(new MassBalanceFlag("watered_load", lot.Ref, pumped, weighed,
                            $"weighbridge {Number(weighed - pumped, "0")} kg above the pickups (tolerance {Number(slack, "0")} kg): water added on the way?") { Evidence = weights });
                    }
                    else if (weighed < pumped - slack)
                    {
                        flags.Add(new MassBalanceFlag("short_load", lot.Ref, pumped, weighed,
                            $"weighbridge {Number(pumped - weighed, "0")} kg below the pickups (tolerance {Number(slack, "0")} kg): milk missing on the way") { Evidence = weights });
                    }

                    if (SuspectedWatering(lot, options, quality, pickupsByPasture?.GetValueOrDefault(lot.Key), baselines) is { } suspect)
                    {
                        flags.Add(suspect);
                    }

                    if (Beyond(milkOut, weighed, tolerance) != 0)
                    {
                        flags.Add(new MassBalanceFlag(milkOut < weighed ? "unblended_receipt" : "overblended_receipt", lot.Ref, weighed, milkOut,
                            "received vs blended into silos")
                        {
                            Evidence = [Kg("weighed_kg", weighed), Kg("blended_kg", milkOut), new("tolerance_percent", Number(tolerance * 100, "0.00"))],
                        });
                    }

                    break;
                case LotKinds.SiloBatch:
                    blended += milkIn;
                    if (Beyond(milkOut, milkIn, tolerance) != 0)
                    {
                        flags.Add(new MassBalanceFlag("silo_imbalance", lot.Ref, milkIn, milkOut, "blended into the batch vs used from it")
                        {
                            Evidence = [Kg("blended_kg", milkIn), Kg("used_kg", milkOut), new("tolerance_percent", Number(tolerance * 100, "0.00"))],
                        });
                    }

                    break;
                case LotKinds.Product:
                    used += milkIn;
                    produced += lot.Kg ?? 0;
                    if (ProductionImbalance(lot, milkIn, options) is { } imbalance)
                    {
                        flags.Add(imbalance);
                    }

                    break;
            }
        }

        foreach (var check in quality)
        {
            if (FreezingPoint(check.ItemsJson) is { } point && point > options.WateredFreezingPointAboveC)
            {
                flags.Add(new MassBalanceFlag("watered_load", new LotRef(check.LotKind, check.LotId), 0, 0,
                    $"freezing point {Number(point, "0.000")} °C above {Number(options.WateredFreezingPointAboveC, "0.000")} °C in sample {check.SampleId}")
                {
                    Evidence = [new("sample_id", check.SampleId), Celsius("freezing_point_c", point), Celsius("limit_c", options.WateredFreezingPointAboveC)],
                });
            }
        }

        return new MassBalanceResult(plantId, localDate, tolerance, picked, received, rejected, blended, used, produced, flags);
    }

    /// <summary>
    /// A load whose freezing point is higher than its pastures' own baseline by more than
    /// <see cref="TraceabilityOptions.SuspectedWateringRiseC"/>: the baseline is each pasture's median of its last
    /// <see cref="TraceabilityOptions.FreezingPointBaselineSamples"/> freezing points before the day, weighted by the kg
    /// each pasture pumped into the load. The load's own freezing point is its latest sample (of the tanker load or
    /// the receipt) that has one. With too few baseline samples there is no band, and nothing is flagged.
    /// </summary>
    public static MassBalanceFlag? SuspectedWatering(
        LotNode receipt, TraceabilityOptions options, IReadOnlyList<QualityCheck> quality,
        IReadOnlyList<(string PastureId, double Kg)>? pickups, IReadOnlyDictionary<string, FreezingBaseline>? baselines)
    {
        if (pickups is not { Count: > 0 } || baselines is null)
        {
            return null;
        }

        QualityCheck? sample = null;
        double? point = null;
        foreach (var check in quality)
        {
            if (check.LotId == receipt.LotId && check.LotKind is LotKinds.TankerLoad or LotKinds.Receipt && FreezingPoint(check.ItemsJson) is { } fp
                && (sample is null || check.SampledAt >= sample.SampledAt))
            {
                (sample, point) = (check, fp);
            }
        }

        if (sample is null || point is not { } loadPoint)
        {
            return null;
        }

        double weighted = 0, total = 0;
        var samples = 0;
        var names = new List<string>();
        foreach (var (pasture, kg) in pickups)
        {
            if (!baselines.TryGetValue(pasture, out var baseline) || baseline.Samples < options.FreezingPointBaselineMinSamples)
            {
                // A pasture without a baseline leaves the load without one: its milk could hide or fake a rise.
                return null;
            }

            weighted += baseline.MedianC * kg;
            total += kg;
            samples += baseline.Samples;
            names.Add($"{pasture} {Number(baseline.MedianC, "0.0000")} °C (median of {baseline.Samples})");
        }

        if (total <= 0)
        {
            return null;
        }

        var expected = weighted / total;
        var rise = loadPoint - expected;
        if (rise <= options.SuspectedWateringRiseC)
        {
            return null;
        }

        // Water % by the usual freezing-point formula: (baseline - sample) / baseline x 100.
        var waterPercent = expected < 0 ? (expected - loadPoint) / expected * 100 : 0;
        return new MassBalanceFlag("suspected_watering", receipt.Ref, 0, 0,
            $"freezing point {Number(loadPoint, "0.000")} °C in sample {sample.SampleId} is {Number(rise, "0.0000")} °C above its pastures' baseline {Number(expected, "0.0000")} °C ({string.Join("; ", names)}): about {Number(waterPercent, "0.0")} % added water")
        {
            Evidence =
            [
                new("sample_id", sample.SampleId), Celsius("freezing_point_c", loadPoint), Celsius("baseline_c", expected),
                new("baseline_samples", samples.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                new("baseline_window", $"last {options.FreezingPointBaselineSamples} per pasture, before the day"),
                new("baseline_pastures", string.Join("; ", names)), Celsius("rise_c", rise), Celsius("threshold_rise_c", options.SuspectedWateringRiseC),
                new("estimated_water_percent", Number(waterPercent, "0.0")),
            ],
        };
    }

    /// <summary>A product lot whose yield (output kg per kg milk used) is outside its category's range.</summary>
    public static MassBalanceFlag? ProductionImbalance(LotNode lot, double milkIn, TraceabilityOptions options)
    {
        var output = lot.Kg ?? 0;
        var category = ProductLotDetails.Read(lot, ProductLotDetails.Category);
        var known = category is not null && options.ProductYields.ContainsKey(category);
        var range = known ? options.ProductYields[category!]
            : options.ProductYields.GetValueOrDefault(YieldRange.Liquid) ?? YieldRange.CreateDefaults()[YieldRange.Liquid];
        var yield = milkIn > 0 ? output / milkIn : double.PositiveInfinity;
        // Half a kg either way is weighing noise, not an imbalance (as Beyond does).
        if (output >= (milkIn * range.Min) - 0.5 && output <= (milkIn * range.Max) + 0.5)
        {
            return null;
        }

        var assumed = known ? $"{category} yield" : $"category {(category is null ? "not given" : $"'{category}' unknown")}: liquid milk yield assumed,";
        return new MassBalanceFlag("production_imbalance", lot.Ref, milkIn * (range.Min + range.Max) / 2, output,
            $"milk used vs output quantity: {assumed} {Number(range.Min, "0.000")}-{Number(range.Max, "0.000")} kg/kg, this lot {(milkIn > 0 ? Number(yield, "0.000") : "no milk used")}")
        {
            Evidence =
            [
                Kg("milk_used_kg", milkIn), Kg("output_kg", output), new("yield", milkIn > 0 ? Number(yield, "0.0000") : "n/a"),
                new("category", known ? category! : $"{category ?? "(none)"} (liquid assumed)"),
                new("yield_min", Number(range.Min, "0.000")), new("yield_max", Number(range.Max, "0.000")),
            ],
        };
    }

    private static string Number(double value, string format) => value.ToString(format, System.Globalization.CultureInfo.InvariantCulture);

    private static KeyValuePair<string, string> Kg(string name, double kg) => new(name, Number(kg, "0.###"));

    private static KeyValuePair<string, string> Celsius(string name, double c) => new(name, Number(c, "0.0000"));

    /// <summary>+1 when actual exceeds expected by more than the tolerance, -1 when it falls short by more, else 0.</summary>
    public static int Beyond(double actual, double expected, double tolerance)
    {
        var slack = Math.Max(Math.Abs(expected) * tolerance, 0.5);
        return actual > expected + slack ? 1 : actual < expected - slack ? -1 : 0;
    }

    /// <summary>
    /// The freezing point in a quality result's items, in °C. The audits component's item layout is read tolerantly:
    /// an array of objects or an object, whose item is named like "freezing_point" / "freezingPoint" with a numeric value.
    /// </summary>
    public static double? FreezingPoint(string itemsJson)
    {
        try
        {
            using var document = JsonDocument.Parse(itemsJson);
            return Find(document.RootElement);
        }
        catch (JsonException)
        {
            return null;
        }

        static double? Find(JsonElement element)
        {
            if (element.ValueKind == JsonValueKind.Array)
            {
                foreach (var item in element.EnumerateArray())
                {
                    if (item.ValueKind == JsonValueKind.Object && Find(item) is { } v)
                    {
                        return v;
                    }
                }

                return null;
            }

            if (element.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var named = false;
            double? value = null;
            foreach (var property in element.EnumerateObject())
            {
                var isName = property.Value.ValueKind == JsonValueKind.String && IsFreezing(property.Value.GetString()!);
                named |= isName;
                if (IsFreezing(property.Name) && property.Value.ValueKind == JsonValueKind.Number)
                {
                    return property.Value.GetDouble();
                }

                if (property.Name is "value" or "result" or "measured" && property.Value.ValueKind == JsonValueKind.Number)
                {
                    value = property.Value.GetDouble();
                }
            }

            return named ? value : null;
        }

        static bool IsFreezing(string name) =>
            name.Replace("_", "", StringComparison.Ordinal).Replace(" ", "", StringComparison.Ordinal)
                .Equals("freezingpoint", StringComparison.OrdinalIgnoreCase);
    }

    private static async Task<bool> PlantExistsAsync(NpgsqlConnection connection, string plantId, CancellationToken ct)
    {
        // Registered, or known to the chain (a partner's plant named by an EPCIS import).
        await using var command = new NpgsqlCommand(
            "select exists (select 1 from plant where id = @plant) or exists (select 1 from trace_lot where plant_id = @plant)", connection);
        command.Parameters.AddWithValue("plant", plantId);
        return (bool)(await command.ExecuteScalarAsync(ct))!;
    }

    private async Task<bool> TouchedByAsync(NpgsqlConnection connection, LotNode lot, CallerScope caller, CancellationToken ct)
    {
        if (LotKinds.IsPlantSide(lot.Kind))
        {
            return caller.SeesPlant(lot.PlantId);
        }

        if (lot.Kind == LotKinds.BulkTank && caller.SeesPasture(lot.PastureId))
        {
            return true;
        }

        if (caller.PlantIds is not { Count: > 0 })
        {
            return false;
        }

        // A pasture-side lot is the processor's when its milk reached one of its plants.
        await using var command = new NpgsqlCommand(
            """
            with recursive down(id, depth) as (
                select @root::bigint, 0
                union
                select e.child, d.depth + 1 from trace_edge e join down d on e.parent = d.id where d.depth < @depth)
            select exists (select 1 from trace_lot l where l.id in (select id from down) and l.plant_id = any(@plants))
            """, connection);
        command.Parameters.AddWithValue("root", lot.Key);
        command.Parameters.AddWithValue("depth", _options.MaxTraceDepth);
        command.Parameters.AddWithValue("plants", caller.PlantFilter ?? []);
        return (bool)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>
    /// Runs a one-statement trace (prepared, so planned once per connection) and reads it into the graph (lots
    /// already in it, the sources of a forward trace, are kept): the root lot (when the statement looked it up by
    /// natural key) and the milk into each lot. The planner guesses a recursive walk at thousands of rows, enough
    /// to cross jit_above_cost, and JIT-compiling takes longer than the whole walk of a few hundred index reads: the
    /// statement goes in one round trip with a transaction-local jit = off (the batch is one implicit transaction,
    /// so nothing leaks to other users of the pooled connection).
    /// </summary>
    private static async Task<(LotNode? Root, Dictionary<long, double> Inflow)> ReadTraceAsync(
        NpgsqlConnection connection, NpgsqlBatchCommand trace, ChainGraph graph, double rejectAboveC, CancellationToken ct)
    {
        LotNode? root = null;
        var inflow = new Dictionary<long, double>();
        var checks = new List<QualityCheck>();
        await using var batch = new NpgsqlBatch(connection) { BatchCommands = { new NpgsqlBatchCommand(NoJitSql), trace } };
        await batch.PrepareAsync(ct);
        await using (var reader = await batch.ExecuteReaderAsync(ct))
        {
            await reader.NextResultAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                switch (reader.GetInt32(0))
                {
                    case 0 or 1:
                        var lot = new LotNode
                        {
                            Key = reader.GetInt64(1),
                            Kind = reader.GetString(3),
                            LotId = reader.GetString(4),
                            PastureId = reader.IsDBNull(5) ? null : reader.GetString(5),
                            PlantId = reader.IsDBNull(6) ? null : reader.GetString(6),
                            UnitId = reader.IsDBNull(7) ? null : reader.GetString(7),
                            Product = reader.IsDBNull(8) ? null : reader.GetString(8),
                            Details = reader.GetString(9),
                            Source = reader.GetString(10),
                            Kg = reader.IsDBNull(11) ? null : reader.GetDouble(11),
                            TemperatureC = reader.IsDBNull(12) ? null : reader.GetDouble(12),
                            At = reader.IsDBNull(13) ? null : reader.GetFieldValue<DateTimeOffset>(13),
                            Accepted = reader.IsDBNull(14) ? null : reader.GetBoolean(14),
                        };
                        if (!reader.IsDBNull(15))
                        {
                            inflow[lot.Key] = reader.GetDouble(15);
                        }

                        if (reader.GetInt32(0) == 0)
                        {
                            root ??= lot;
                        }

                        graph.Lots.TryAdd(lot.Key, lot);
                        break;
                    case 2:
                        graph.Edges.Add(new ChainEdge(reader.GetInt64(1), reader.GetInt64(2), reader.GetDouble(11),
                            reader.IsDBNull(13) ? null : reader.GetFieldValue<DateTimeOffset>(13), reader.IsDBNull(12) ? null : reader.GetDouble(12)));
                        break;
                    default:
                        checks.Add(new QualityCheck(reader.GetString(3), reader.GetString(4), reader.GetString(5), reader.GetString(6),
                            reader.GetString(7), reader.GetString(8), reader.GetFieldValue<DateTimeOffset>(13), reader.GetString(9)));
                        break;
                }
            }
        }

        // As the stepwise path ordered them (by sample time; a stable sort keeps the rest as read).
        graph.QualityChecks.AddRange(checks.OrderBy(q => q.SampledAt));
        // Receipts show whether they were accepted and why not: too warm, or a failing plant-acceptance check.
        ReceiptAcceptance.Apply(graph, rejectAboveC);
        return (root is null ? null : graph.Lots.GetValueOrDefault(root.Key) ?? root, inflow);
    }

    /// <summary>Fills in the lots the walk only knows by key.</summary>
    private static async Task LoadLotsAsync(NpgsqlConnection connection, ChainGraph graph, CancellationToken ct)
    {
        var missing = new List<long>();
        foreach (var (key, lot) in graph.Lots)
        {
            if (lot is null)
            {
                missing.Add(key);
            }
        }

        if (missing.Count == 0)
        {
            return;
        }

        foreach (var lot in await QueryLotsAsync(connection, $"select {LotColumns} from trace_lot where id = any(@ids)", [new("ids", missing.ToArray())], ct))
        {
            graph.Lots[lot.Key] = lot;
        }
    }

    private async Task LoadQualityAsync(NpgsqlConnection connection, ChainGraph graph, CancellationToken ct, bool includeTankerLoadsOfReceipts = false)
    {
        if (graph.Lots.Count == 0 || !await QualityTableExistsAsync(connection, ct))
        {
            return;
        }

        var ids = graph.Lots.Keys.ToArray();
        var filter = includeTankerLoadsOfReceipts
            ? """
              join trace_lot l on l.kind = (case q.lot_kind when 'bulk_tank_lot' then 'bulk_tank' when 'product_lot' then 'product' else q.lot_kind end)
                and l.lot_id = q.lot_id
              where l.id = any(@ids) or l.id in (select e.parent from trace_edge e where e.child = any(@ids))
              order by q.sampled_at
              """
            : """
              join trace_lot l on l.kind = (case q.lot_kind when 'bulk_tank_lot' then 'bulk_tank' when 'product_lot' then 'product' else q.lot_kind end)
                and l.lot_id = q.lot_id
              where l.id = any(@ids) order by q.sampled_at
              """;
        graph.QualityChecks.AddRange(await QueryQualityAsync(connection, filter, [new("ids", ids)], ct));
    }

    private async Task<bool> QualityTableExistsAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        if (_qualityTableSeen)
        {
            return true;
        }

        await using var command = new NpgsqlCommand("select to_regclass('quality_result') is not null", connection);
        return _qualityTableSeen = (bool)(await command.ExecuteScalarAsync(ct))!;
    }

    private static async Task<List<QualityCheck>> QueryQualityAsync(
        NpgsqlConnection connection, string filter, NpgsqlParameter[] parameters, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            $"""
            select (case q.lot_kind when 'bulk_tank_lot' then 'bulk_tank' when 'product_lot' then 'product' else q.lot_kind end)::text, q.lot_id::text, q.sample_id::text, coalesce(q.sample_kind::text, ''), q.verdict::text,
                   coalesce(q.rule_version::text, ''), q.sampled_at, coalesce(q.items::text, '[]')
            from quality_result q {filter}
            """, connection);
        command.Parameters.AddRange(parameters);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var checks = new List<QualityCheck>();
        while (await reader.ReadAsync(ct))
        {
            checks.Add(new QualityCheck(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3),
                reader.GetString(4), reader.GetString(5), reader.GetFieldValue<DateTimeOffset>(6), reader.GetString(7)));
        }

        return checks;
    }

    public static async Task<LotNode?> FindLotAsync(NpgsqlConnection connection, LotRef lot, CancellationToken ct) =>
        (await QueryLotsAsync(connection, $"select {LotColumns} from trace_lot where kind = @kind and lot_id = @id",
            [new("kind", lot.Kind), new("id", lot.Id)], ct)).FirstOrDefault();

    public static async Task<List<LotNode>> QueryLotsAsync(NpgsqlConnection connection, string sql, NpgsqlParameter[] parameters, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddRange(parameters);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var lots = new List<LotNode>();
        while (await reader.ReadAsync(ct))
        {
            lots.Add(new LotNode
            {
                Key = reader.GetInt64(0),
                Kind = reader.GetString(1),
                LotId = reader.GetString(2),
                PastureId = reader.IsDBNull(3) ? null : reader.GetString(3),
                PlantId = reader.IsDBNull(4) ? null : reader.GetString(4),
                UnitId = reader.IsDBNull(5) ? null : reader.GetString(5),
                Kg = reader.IsDBNull(6) ? null : reader.GetDouble(6),
                TemperatureC = reader.IsDBNull(7) ? null : reader.GetDouble(7),
                At = reader.IsDBNull(8) ? null : reader.GetFieldValue<DateTimeOffset>(8),
                Accepted = reader.IsDBNull(9) ? null : reader.GetBoolean(9),
                Product = reader.IsDBNull(10) ? null : reader.GetString(10),
                Details = reader.GetString(11),
                Source = reader.GetString(12),
            });
        }

        return lots;
    }

    public static int Rank(string kind) => Array.IndexOf(LotKinds.All, kind);
}
