using HohhotCluster.Telemetry.Storage;
using Npgsql;

namespace HohhotCluster.Telemetry.Traceability;

/// <summary>
/// The stepwise trace back and trace forward (one statement each for the root, the walk, the lots, the inflow and the
/// quality checks: four to five round trips) that the one-statement queries replaced. Kept, internal, so the tests can
/// check that both give the same answers and the benchmark can measure one against the other in the same session.
/// </summary>
public sealed partial class ChainQueries
{
    internal Task<TraceBackResult> StepwiseTraceBackAsync(CallerScope caller, LotRef lot, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var root = await FindLotAsync(connection, lot, ct) ?? throw new LotNotFoundException($"No {lot.Kind} lot '{lot.Id}'.");
            if (!caller.SeesAll && !await TouchedByAsync(connection, root, caller, ct))
            {
                throw new LotNotFoundException($"No {lot.Kind} lot '{lot.Id}'.");
            }

            var graph = new ChainGraph();
            await WalkAsync(connection, [root.Key], upstream: true, graph, ct);
            graph.Lots[root.Key] = root;
            await LoadLotsAsync(connection, graph, ct);
            await LoadQualityAsync(connection, graph, ct);
            ReceiptAcceptance.Apply(graph, _options.RejectAboveC);
            return new TraceBackResult(graph.Lots.GetValueOrDefault(root.Key) ?? root, graph);
        }, cancellationToken);

    internal Task<TraceForwardResult> StepwiseTraceForwardAsync(CallerScope caller, LotRef lot, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var source = await FindLotAsync(connection, lot, ct) ?? throw new LotNotFoundException($"No {lot.Kind} lot '{lot.Id}'.");
            return await StepwiseForwardAsync(connection, caller, [source], null, ct);
        }, cancellationToken);

    internal async Task<TraceForwardResult> StepwiseForwardAsync(
        NpgsqlConnection connection, CallerScope caller, IReadOnlyList<LotNode> sources, QualityCheck? sample, CancellationToken ct)
    {
        var graph = new ChainGraph();
        var roots = new long[sources.Count];
        for (var i = 0; i < sources.Count; i++)
        {
            roots[i] = sources[i].Key;
            graph.Lots[roots[i]] = sources[i];
        }

        await WalkAsync(connection, roots, upstream: false, graph, ct);
        await LoadLotsAsync(connection, graph, ct);

        // Milk into each reached lot from anywhere, to know which part of it came from the source.
        var inflow = new Dictionary<long, double>();
        await using (var command = new NpgsqlCommand("select child, sum(kg) from trace_edge where child = any(@ids) group by child", connection))
        {
            command.Parameters.AddWithValue("ids", graph.Lots.Keys.ToArray());
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                inflow[reader.GetInt64(0)] = reader.GetDouble(1);
            }
        }

        var sourceKg = PropagateSourceMilk(graph, roots, inflow);
        var visible = VisibleLots(graph, caller);
        if (visible.Count == 0)
        {
            throw new LotNotFoundException("Nothing of this source reached a lot you may see.");
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
        foreach (var key in graph.Lots.Keys.ToArray())
        {
            if (!visible.Contains(key) && Array.IndexOf(roots, key) < 0)
            {
                graph.Lots.Remove(key);
            }
        }

        await LoadQualityAsync(connection, graph, ct);
        ReceiptAcceptance.Apply(graph, _options.RejectAboveC);
        return new TraceForwardResult(sources, reached, graph, sample);
    }

    private async Task WalkAsync(NpgsqlConnection connection, long[] roots, bool upstream, ChainGraph graph, CancellationToken ct)
    {
        // Only the direction differs; both are written out so each uses its own index.
        var sql = upstream
            ? """
              with recursive walk(id, depth) as (
                  select unnest(@roots::bigint[]), 0
                  union
                  select e.parent, w.depth + 1 from trace_edge e join walk w on e.child = w.id where w.depth < @depth)
              select e.parent, e.child, e.kg, e.at, e.temperature_c
              from trace_edge e where e.child in (select distinct id from walk where depth < @depth)
              """
            : """
              with recursive walk(id, depth) as (
                  select unnest(@roots::bigint[]), 0
                  union
                  select e.child, w.depth + 1 from trace_edge e join walk w on e.parent = w.id where w.depth < @depth)
              select e.parent, e.child, e.kg, e.at, e.temperature_c
              from trace_edge e where e.parent in (select distinct id from walk where depth < @depth)
              """;
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("roots", roots);
        command.Parameters.AddWithValue("depth", _options.MaxTraceDepth);
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var edge = new ChainEdge(
                reader.GetInt64(0),
                reader.GetInt64(1),
                reader.GetDouble(2),
                reader.IsDBNull(3) ? null : reader.GetFieldValue<DateTimeOffset>(3),
                reader.IsDBNull(4) ? null : reader.GetDouble(4));
            graph.Edges.Add(edge);
            graph.Lots.TryAdd(edge.Parent, null!);
            graph.Lots.TryAdd(edge.Child, null!);
        }
    }
}
