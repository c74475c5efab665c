using System.Globalization;
using System.Text;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Traceability;
using Npgsql;

namespace HohhotCluster.Telemetry.Traceability.Tests;

/// <summary>
/// Trace back and trace forward answer in one statement; these tests hold them to the stepwise path they replaced
/// (root, walk, lots, inflow and quality checks as separate statements): the same lots with every field, the same
/// edges, the same quality checks, the same reached lots, source kg and shares, for every lot of a chain as the
/// root, for a regulator and for processors, and with the depth guard on a chain longer than it and on a cycle.
/// </summary>
public sealed class OneStatementTraceTests(ChainDatabase db) : IClassFixture<ChainDatabase>
{
    private static readonly CallerScope Regulator = CallerScope.CityRegulator;

    private static string Prefix() => "o" + Guid.NewGuid().ToString("N")[..8];

    [Fact]
    public async Task Every_lot_of_the_hand_built_chain_traces_back_and_forward_as_the_stepwise_path_does()
    {
        var c = new HandBuiltChain(Prefix());
        await c.BuildAsync(db);
        // Checks on lots of every kind, under the audits' names too (bulk_tank_lot, product_lot), two on one lot.
        var at = HandBuiltChain.Day.AddHours(9);
        await db.AddQualityResultAsync("bulk_tank_lot", c.B1, c.B1 + "-Q1", "pass", """[{"item": "fat", "value": 3.7}]""", at);
        await db.AddQualityResultAsync(LotKinds.BulkTank, c.B3, c.B3 + "-Q1", "fail", """[{"item": "antibiotic", "value": "positive"}]""", at.AddMinutes(1));
        await db.AddQualityResultAsync(LotKinds.TankerLoad, c.T2, c.T2 + "-Q1", "pass", """[{"item": "freezing_point", "value": -0.52}]""", at.AddSeconds(30));
        await db.AddQualityResultAsync(LotKinds.SiloBatch, c.S1, c.S1 + "-Q1", "pass", "[]", at.AddMinutes(-5));
        await db.AddQualityResultAsync("product_lot", c.X2, c.X2 + "-Q1", "pass", "[]", at.AddMinutes(2));
        await db.AddQualityResultAsync("product_lot", c.X2, c.X2 + "-Q2", "fail", "[]", at.AddMinutes(3));
        var own = CallerScope.ProcessorOf("proc", c.Plant);
        var other = CallerScope.ProcessorOf("proc", "someone-else");
        LotRef[] lots =
        [
            new(LotKinds.BulkTank, c.B1), new(LotKinds.BulkTank, c.B2), new(LotKinds.BulkTank, c.B3),
            new(LotKinds.TankerLoad, c.T1), new(LotKinds.TankerLoad, c.T2), new(LotKinds.Receipt, c.T1), new(LotKinds.Receipt, c.T2),
            new(LotKinds.SiloBatch, c.S1), new(LotKinds.SiloBatch, c.S2), new(LotKinds.Product, c.X1), new(LotKinds.Product, c.X2),
        ];

        var compared = 0;
        foreach (var lot in lots)
        {
            foreach (var caller in new[] { Regulator, own, other })
            {
                Assert.Equal(
                    await Answer(() => db.Queries.StepwiseTraceBackAsync(caller, lot, default), r => Describe(r.Root, r.Graph)),
                    await Answer(() => db.Queries.TraceBackAsync(caller, lot, default), r => Describe(r.Root, r.Graph)));
                Assert.Equal(
                    await Answer(() => db.Queries.StepwiseTraceForwardAsync(caller, lot, default), Describe),
                    await Answer(() => db.Queries.TraceForwardAsync(caller, lot, default), Describe));
                compared += 2;
            }
        }

        Assert.Equal(66, compared);
        var back = await db.Queries.TraceBackAsync(Regulator, new LotRef(LotKinds.Product, c.X2), default);
        Assert.Equal([c.S1 + "-Q1", c.B1 + "-Q1", c.T2 + "-Q1", c.B3 + "-Q1", c.X2 + "-Q1", c.X2 + "-Q2"],
            back.Graph.QualityChecks.Select(q => q.SampleId));
        Assert.Equal([LotKinds.SiloBatch, LotKinds.BulkTank, LotKinds.TankerLoad, LotKinds.BulkTank, LotKinds.Product, LotKinds.Product],
            back.Graph.QualityChecks.Select(q => q.LotKind));
    }

    [Fact]
    public async Task Forward_from_a_pasture_window_and_from_a_sample_match_the_stepwise_path()
    {
        var c = new HandBuiltChain(Prefix());
        await c.BuildAsync(db);
        await db.AddQualityResultAsync("bulk_tank_lot", c.B2, c.B2 + "-SMP", "fail", "[]", HandBuiltChain.Day.AddHours(8));
        var own = CallerScope.ProcessorOf("proc", c.Plant);

        foreach (var caller in new[] { Regulator, own })
        {
            var window = await db.Queries.TraceForwardFromPastureAsync(caller, c.PastureA, HandBuiltChain.Day.AddHours(-1), HandBuiltChain.Day.AddHours(1), default);
            var sample = await db.Queries.TraceForwardFromSampleAsync(caller, c.B2 + "-SMP", default);
            await using var connection = await db.DataSource.OpenConnectionAsync();
            var windowSources = await ChainQueries.QueryLotsAsync(connection,
                "select id, kind, lot_id, pasture_id, plant_id, unit_id, kg, temperature_c, at, accepted, product, details::text, source from trace_lot where kind = 'bulk_tank' and pasture_id = @pasture order by at",
                [new NpgsqlParameter("pasture", c.PastureA)], default);
            var sampleSource = await ChainQueries.FindLotAsync(connection, new LotRef(LotKinds.BulkTank, c.B2), default);

            Assert.Equal([c.B1, c.B2], windowSources.Select(s => s.LotId));
            Assert.Equal(Describe(await db.Queries.StepwiseForwardAsync(connection, caller, windowSources, null, default)), Describe(window));
            Assert.Equal(Describe(await db.Queries.StepwiseForwardAsync(connection, caller, [sampleSource!], sample.Sample, default)), Describe(sample));
            Assert.Contains(window.Reached, r => r.Lot.LotId == c.X2 && r.SourceKg > 0);
        }
    }

    [Fact]
    public async Task The_depth_guard_cuts_a_long_chain_and_a_cycle_where_the_stepwise_path_does()
    {
        // Written directly (no kind publishes such chains): a line of 20 silo batches, and a two-lot cycle.
        var p = Prefix();
        var line = new long[20];
        for (var i = 0; i < line.Length; i++)
        {
            line[i] = await InsertLotAsync(LotKinds.SiloBatch, $"{p}-L{i:00}");
        }

        for (var i = 1; i < line.Length; i++)
        {
            await InsertEdgeAsync(line[i - 1], line[i], 1000 - i);
        }

        var a = await InsertLotAsync(LotKinds.SiloBatch, p + "-CA");
        var b = await InsertLotAsync(LotKinds.SiloBatch, p + "-CB");
        await InsertEdgeAsync(a, b, 10);
        await InsertEdgeAsync(b, a, 5);

        foreach (var lot in new LotRef[] { new(LotKinds.SiloBatch, $"{p}-L19"), new(LotKinds.SiloBatch, $"{p}-L00"), new(LotKinds.SiloBatch, p + "-CA") })
        {
            var back = await db.Queries.TraceBackAsync(Regulator, lot, default);
            var backStepwise = await db.Queries.StepwiseTraceBackAsync(Regulator, lot, default);
            var forward = await db.Queries.TraceForwardAsync(Regulator, lot, default);
            Assert.Equal(Describe(backStepwise.Root, backStepwise.Graph), Describe(back.Root, back.Graph));
            Assert.Equal(Describe(await db.Queries.StepwiseTraceForwardAsync(Regulator, lot, default)), Describe(forward));
        }

        var fromEnd = await db.Queries.TraceBackAsync(Regulator, new LotRef(LotKinds.SiloBatch, $"{p}-L19"), default);
        Assert.Equal(db.Options.Value.MaxTraceDepth, fromEnd.Graph.Edges.Count);
        Assert.Equal(2, (await db.Queries.TraceBackAsync(Regulator, new LotRef(LotKinds.SiloBatch, p + "-CA"), default)).Graph.Edges.Count);
    }

    [Fact]
    public async Task A_lot_without_edges_answers_with_itself_and_an_unknown_lot_is_not_found_on_both_paths()
    {
        var p = Prefix();
        await db.CollectAsync(p + "-P", p + "-alone", 1_000, HandBuiltChain.Day);
        var alone = new LotRef(LotKinds.BulkTank, p + "-alone");
        var missing = new LotRef(LotKinds.Product, p + "-missing");

        var back = await db.Queries.TraceBackAsync(Regulator, alone, default);
        var stepwise = await db.Queries.StepwiseTraceBackAsync(Regulator, alone, default);

        Assert.Equal(Describe(stepwise.Root, stepwise.Graph), Describe(back.Root, back.Graph));
        Assert.Equal([p + "-alone"], back.Graph.Lots.Values.Select(l => l.LotId));
        Assert.Empty(back.Graph.Edges);
        Assert.Equal(Describe(await db.Queries.StepwiseTraceForwardAsync(Regulator, alone, default)),
            Describe(await db.Queries.TraceForwardAsync(Regulator, alone, default)));
        await Assert.ThrowsAsync<LotNotFoundException>(() => db.Queries.TraceBackAsync(Regulator, missing, default));
        await Assert.ThrowsAsync<LotNotFoundException>(() => db.Queries.TraceForwardAsync(Regulator, missing, default));
    }

    private async Task<long> InsertLotAsync(string kind, string lotId)
    {
        await using var command = db.DataSource.CreateCommand("insert into trace_lot (kind, lot_id, plant_id, kg) values ($1, $2, 'PL-x', 1000) returning id");
        command.Parameters.AddWithValue(kind);
        command.Parameters.AddWithValue(lotId);
        return (long)(await command.ExecuteScalarAsync())!;
    }

    private async Task InsertEdgeAsync(long parent, long child, double kg)
    {
        await using var command = db.DataSource.CreateCommand("insert into trace_edge (parent, child, kg, at) values ($1, $2, $3, now())");
        command.Parameters.AddWithValue(parent);
        command.Parameters.AddWithValue(child);
        command.Parameters.AddWithValue(kg);
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>The answer as text, or the kind of exception it was refused with.</summary>
    internal static async Task<string> Answer<T>(Func<Task<T>> call, Func<T, string> describe)
    {
        try
        {
            return describe(await call());
        }
        catch (Exception e) when (e is ScopeDeniedException or LotNotFoundException)
        {
            return e.GetType().Name;
        }
    }

    private static string Describe(TraceForwardResult result)
    {
        var text = new StringBuilder();
        text.AppendLine("sources " + string.Join(", ", result.Sources.Select(Describe)));
        foreach (var reached in result.Reached)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"reached {Describe(reached.Lot)} source {reached.SourceKg:0.######} share {reached.Share:0.########}");
        }

        text.AppendLine("sample " + (result.Sample is { } s ? Describe(s) : "-"));
        return text.Append(Describe(null, result.Graph)).ToString();
    }

    /// <summary>Everything in a graph, in an order of its own (the order rows come in is not part of the answer).</summary>
    internal static string Describe(LotNode? root, ChainGraph graph)
    {
        var text = new StringBuilder();
        text.AppendLine("root " + (root is null ? "-" : Describe(root)));
        foreach (var (key, lot) in graph.Lots.OrderBy(l => l.Key))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"lot {key} {Describe(lot)}");
        }

        foreach (var edge in graph.Edges.OrderBy(e => e.Parent).ThenBy(e => e.Child))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"edge {edge.Parent} -> {edge.Child} {edge.Kg:R} {edge.At:O} {edge.TemperatureC:R}");
        }

        // Checks come ordered by sample time; among checks of one instant the order is not part of the answer.
        var checks = graph.QualityChecks.Select(Describe).ToList();
        Assert.Equal(graph.QualityChecks.OrderBy(q => q.SampledAt).Select(q => q.SampledAt), graph.QualityChecks.Select(q => q.SampledAt));
        foreach (var check in checks.Order(StringComparer.Ordinal))
        {
            text.AppendLine("check " + check);
        }

        return text.ToString();
    }

    private static string Describe(LotNode lot) => string.Create(CultureInfo.InvariantCulture,
        $"{lot.Key} {lot.Ref} pasture={lot.PastureId} plant={lot.PlantId} unit={lot.UnitId} kg={lot.Kg:R} t={lot.TemperatureC:R} at={lot.At:O} accepted={lot.Accepted} product={lot.Product} details={lot.Details} source={lot.Source}");

    private static string Describe(QualityCheck q) => string.Create(CultureInfo.InvariantCulture,
        $"{q.LotKind}:{q.LotId} {q.SampleId} {q.SampleKind} {q.Verdict} {q.RuleVersion} {q.SampledAt:O} {q.ItemsJson}");
}
