using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Traceability;

namespace HohhotCluster.Telemetry.Traceability.Tests;

public sealed class ChainTraceTests(ChainDatabase db) : IClassFixture<ChainDatabase>
{
    private static readonly CallerScope Regulator = CallerScope.CityRegulator;

    private static string Prefix() => "c" + Guid.NewGuid().ToString("N")[..8];

    private static List<string> Edges(ChainGraph graph) =>
        [.. graph.Edges.Select(e => $"{graph.Lots[e.Parent].Ref} -> {graph.Lots[e.Child].Ref} {e.Kg:0}").Order(StringComparer.Ordinal)];

    [Fact]
    public async Task Trace_back_from_a_product_lot_returns_exactly_its_edges_and_quantities()
    {
        var c = new HandBuiltChain(Prefix());
        await c.BuildAsync(db);

        var result = await db.Queries.TraceBackAsync(Regulator, new LotRef(LotKinds.Product, c.X1), default);

        string[] expected =
        [
            $"bulk_tank:{c.B1} -> tanker_load:{c.T1} 10000",
            $"bulk_tank:{c.B2} -> tanker_load:{c.T1} 8000",
            $"bulk_tank:{c.B3} -> tanker_load:{c.T2} 12000",
            $"receipt:{c.T1} -> silo_batch:{c.S1} 18000",
            $"receipt:{c.T2} -> silo_batch:{c.S1} 6000",
            $"silo_batch:{c.S1} -> product:{c.X1} 12000",
            $"tanker_load:{c.T1} -> receipt:{c.T1} 18000",
            $"tanker_load:{c.T2} -> receipt:{c.T2} 12000",
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), Edges(result.Graph));
        Assert.Equal(12_000, result.Root.Kg);
        var b1 = result.Graph.Lots.Values.Single(l => l.LotId == c.B1);
        Assert.Equal((c.PastureA, 10_000.0, 3.5), (b1.PastureId, b1.Kg!.Value, b1.TemperatureC!.Value));
        var tanker = result.Graph.Lots.Values.Single(l => l.Kind == LotKinds.TankerLoad && l.LotId == c.T1);
        Assert.Equal(18_000, tanker.Kg);
        Assert.Contains("Wang Wei", tanker.Details, StringComparison.Ordinal);
        Assert.Equal(3.8, result.Graph.Edges.Single(e => result.Graph.Lots[e.Parent].LotId == c.B1).TemperatureC);
    }

    [Fact]
    public async Task Trace_forward_from_a_bulk_tank_lot_returns_every_reached_lot_with_the_sources_kg_and_share()
    {
        var c = new HandBuiltChain(Prefix());
        await c.BuildAsync(db);

        var result = await db.Queries.TraceForwardAsync(Regulator, new LotRef(LotKinds.BulkTank, c.B3), default);

        var reached = result.Reached.Select(r => $"{r.Lot.Ref} {r.SourceKg:0} {r.Share:0.00}").ToList();
        Assert.Equal(
            [
                $"tanker_load:{c.T2} 12000 1.00", $"receipt:{c.T2} 12000 1.00", $"silo_batch:{c.S1} 6000 0.25",
                $"silo_batch:{c.S2} 6000 1.00", $"product:{c.X1} 3000 0.25", $"product:{c.X2} 9000 0.50",
            ],
            reached);
        Assert.Equal(
            [
                $"bulk_tank:{c.B3} -> tanker_load:{c.T2} 12000", $"receipt:{c.T2} -> silo_batch:{c.S1} 6000",
                $"receipt:{c.T2} -> silo_batch:{c.S2} 6000", $"silo_batch:{c.S1} -> product:{c.X1} 12000",
                $"silo_batch:{c.S1} -> product:{c.X2} 12000", $"silo_batch:{c.S2} -> product:{c.X2} 6000",
                $"tanker_load:{c.T2} -> receipt:{c.T2} 12000",
            ],
            Edges(result.Graph));
    }

    [Fact]
    public async Task Antibiotic_positive_bulk_tank_lot_recall_finds_exactly_the_affected_product_lots_and_kg()
    {
        var c = new HandBuiltChain(Prefix());
        await c.BuildAsync(db);
        var sample = c.B3 + "-SMP";
        await db.AddQualityResultAsync(LotKinds.BulkTank, c.B3, sample, "fail",
            """[{"item": "antibiotic_beta_lactam", "value": "positive", "pass": false}]""", HandBuiltChain.Day.AddHours(8));
        await db.AddQualityResultAsync(LotKinds.BulkTank, c.B1, c.B1 + "-SMP", "pass", "[]", HandBuiltChain.Day.AddHours(8));

        var (check, _, products) = await db.Queries.RecallImpactAsync(Regulator, sample, default);
        var forward = await db.Queries.TraceForwardFromSampleAsync(Regulator, sample, default);

        Assert.True(check!.Failed);
        Assert.Equal([(c.X1, 3000.0, 12_000.0), (c.X2, 9000.0, 18_000.0)],
            products.Select(p => (p.Lot.LotId, Math.Round(p.SourceKg, 6), p.Lot.Kg!.Value)).OrderBy(p => p.LotId, StringComparer.Ordinal));
        Assert.Equal(12_000, products.Sum(p => p.SourceKg), 6);
        Assert.All(products, p => Assert.Equal(c.Plant, p.Lot.PlantId));
        Assert.Equal([c.X1, c.X2], forward.Reached.Where(r => r.Lot.Kind == LotKinds.Product).Select(r => r.Lot.LotId).Order(StringComparer.Ordinal));

        // Trace back from X1 shows both checks on the way, each with its verdict and rule version.
        var back = await db.Queries.TraceBackAsync(Regulator, new LotRef(LotKinds.Product, c.X1), default);
        Assert.Equal([(c.B1, "pass"), (c.B3, "fail")], back.Graph.QualityChecks.Select(q => (q.LotId, q.Verdict)).OrderBy(q => q.LotId, StringComparer.Ordinal));
        Assert.All(back.Graph.QualityChecks, q => Assert.Equal("GB19301-2010+A1", q.RuleVersion));
    }

    [Fact]
    public async Task Processor_sees_only_lots_its_plants_touched_and_is_denied_the_others()
    {
        var c = new HandBuiltChain(Prefix());
        await c.BuildAsync(db);
        var own = CallerScope.ProcessorOf("proc", c.Plant);
        var other = CallerScope.ProcessorOf("proc", "someone-else");

        var back = await db.Queries.TraceBackAsync(own, new LotRef(LotKinds.Product, c.X2), default);
        var forward = await db.Queries.TraceForwardAsync(own, new LotRef(LotKinds.BulkTank, c.B1), default);

        Assert.Equal(c.X2, back.Root.LotId);
        Assert.Contains(forward.Reached, r => r.Lot.LotId == c.X1);
        // A lot or plant the caller may not see is answered exactly as one that does not exist: nobody learns what exists elsewhere.
        var foreignBack = await Assert.ThrowsAsync<LotNotFoundException>(() => db.Queries.TraceBackAsync(other, new LotRef(LotKinds.Product, c.X2), default));
        var missingBack = await Assert.ThrowsAsync<LotNotFoundException>(() => db.Queries.TraceBackAsync(other, new LotRef(LotKinds.Product, c.X2 + "-none"), default));
        Assert.Equal(missingBack.Message.Replace("-none", "", StringComparison.Ordinal), foreignBack.Message);
        var foreignForward = await Assert.ThrowsAsync<LotNotFoundException>(() => db.Queries.TraceForwardAsync(other, new LotRef(LotKinds.BulkTank, c.B1), default));
        var missingForward = await Assert.ThrowsAsync<LotNotFoundException>(() => db.Queries.TraceForwardAsync(other, new LotRef(LotKinds.BulkTank, c.B1 + "-none"), default));
        Assert.Equal(missingForward.Message.Replace("-none", "", StringComparison.Ordinal), foreignForward.Message);
        var foreignPlant = await Assert.ThrowsAsync<LotNotFoundException>(() => db.Queries.MassBalanceAsync(other, c.Plant, ChinaTime.LocalDate(HandBuiltChain.Day), default));
        var missingPlant = await Assert.ThrowsAsync<LotNotFoundException>(() => db.Queries.MassBalanceAsync(CallerScope.ProcessorOf("proc", c.Plant + "-none"), c.Plant + "-none", ChinaTime.LocalDate(HandBuiltChain.Day), default));
        Assert.Equal(missingPlant.Message.Replace("-none", "", StringComparison.Ordinal), foreignPlant.Message);
        await Assert.ThrowsAsync<LotNotFoundException>(() => db.Queries.TraceBackAsync(Regulator, new LotRef(LotKinds.Product, c.X2 + "-nope"), default));
    }

    [Fact]
    public async Task Redelivered_pickup_is_a_duplicate_and_changes_nothing()
    {
        var c = new HandBuiltChain(Prefix());
        await c.BuildAsync(db);
        var pickup = new TankerPickupKind(db.Store);
        var device = ChainDatabase.Device(c.PastureA, "pasture");
        var key = db.NextKey(device.DeviceId);

        var first = await db.PublishAsync(pickup, device, HandBuiltChain.Day, HandBuiltChain.Pickup(c.B1, c.T1, 9_000), key);
        var again = await db.PublishAsync(pickup, device, HandBuiltChain.Day, HandBuiltChain.Pickup(c.B1, c.T1, 9_000), key);

        Assert.Equal((ApplyOutcome.Applied, ApplyOutcome.Duplicate), (first, again));
        var back = await db.Queries.TraceBackAsync(Regulator, new LotRef(LotKinds.Receipt, c.T1), default);
        Assert.Equal(17_000, back.Graph.Lots.Values.Single(l => l.Kind == LotKinds.TankerLoad).Kg);
    }

    [Fact]
    public async Task Pickup_into_another_pastures_lot_is_rejected()
    {
        var c = new HandBuiltChain(Prefix());
        await c.BuildAsync(db);
        var pickup = new TankerPickupKind(db.Store);
        using var document = System.Text.Json.JsonDocument.Parse(HandBuiltChain.Pickup(c.B3, c.T1, 1_000));
        var key = db.NextKey("x");
        Assert.True(pickup.TryParse(document.RootElement, key, HandBuiltChain.Day, out var record, out _));

        var rejection = await pickup.CheckAsync(new Accepted<TankerPickupRecord>(key, HandBuiltChain.Day, ChainDatabase.Device(c.PastureA, "pasture"), "t", record!), default);

        Assert.NotNull(rejection);
        Assert.Equal("invalid_field", rejection.Value.Reason);
    }

    [Theory]
    [InlineData("x'; drop table trace_edge; --")]
    [InlineData("\" or 1=1 --")]
    [InlineData("%' union select * from pg_user --")]
    [InlineData("lot\\\\with\\\\backslashes and 蒙A 中文")]
    public async Task Injection_like_lot_ids_are_treated_as_values(string evil)
    {
        var p = Prefix();
        await db.CollectAsync(p + "-P", evil + p, 5_000, HandBuiltChain.Day, tankerLoad: p + evil);
        await db.IntakeAsync(p + "-PL", p + evil, 5_000, HandBuiltChain.Day.AddHours(2));

        var forward = await db.Queries.TraceForwardAsync(Regulator, new LotRef(LotKinds.BulkTank, evil + p), default);
        var missing = await Record.ExceptionAsync(() => db.Queries.TraceBackAsync(Regulator, new LotRef(LotKinds.Product, evil), default));

        Assert.Equal([$"tanker_load:{p + evil}", $"receipt:{p + evil}"], forward.Reached.Select(r => r.Lot.Ref.ToString()));
        Assert.IsType<LotNotFoundException>(missing);
        await using var command = db.DataSource.CreateCommand("select count(*) from trace_edge");
        Assert.True((long)(await command.ExecuteScalarAsync())! > 0);
    }
}
