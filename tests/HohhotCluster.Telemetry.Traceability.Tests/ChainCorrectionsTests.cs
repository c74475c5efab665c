using System.Globalization;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Traceability;

namespace HohhotCluster.Telemetry.Traceability.Tests;

/// <summary>Issue 13, "The chain and EPCIS": acceptance, watering, yields and recall (one test per correction).</summary>
public sealed class ChainCorrectionsTests(ChainDatabase db) : IClassFixture<ChainDatabase>
{
    private static readonly CallerScope Regulator = CallerScope.CityRegulator;

    private static string Prefix() => "k" + Guid.NewGuid().ToString("N")[..8];

    private static string Fp(double celsius) =>
        $$"""[{"item": "freezing_point", "unit": "°C", "value": {{celsius.ToString(CultureInfo.InvariantCulture)}}, "verdict": "pass"}]""";

    [Fact]
    public async Task Receipt_whose_plant_acceptance_check_of_its_load_fails_is_rejected_with_the_reason_and_flagged_when_blended()
    {
        var c = new HandBuiltChain(Prefix());
        await c.BuildAsync(db);
        // The load arrived cold (accepted by temperature) but its acceptance sample failed: antibiotic residue.
        await db.AddQualityResultAsync(LotKinds.TankerLoad, c.T2, c.T2 + "-ACC", "fail",
            """[{"item": "antibiotic_beta_lactam", "result": "positive", "verdict": "fail"}]""", HandBuiltChain.Day.AddHours(3.6), "plant_acceptance");
        // A failing supervisory result of T1 is not an acceptance check: T1 stays accepted.
        await db.AddQualityResultAsync(LotKinds.TankerLoad, c.T1, c.T1 + "-SUP", "fail", "[]", HandBuiltChain.Day.AddHours(3.6));

        await db.AddQualityResultAsync(LotKinds.BulkTank, c.B3, c.B3 + "-SMP", "fail", "[]", HandBuiltChain.Day.AddHours(8));

        var balance = await db.Queries.MassBalanceAsync(Regulator, c.Plant, ChinaTime.LocalDate(HandBuiltChain.Day), default);
        var back = await db.Queries.TraceBackAsync(Regulator, new LotRef(LotKinds.Product, c.X2), default);
        var recall = await db.Queries.RecallImpactAsync(Regulator, c.B3 + "-SMP", default);

        Assert.Equal((18_000.0, 12_000.0), (balance.ReceivedKg, balance.RejectedKg));
        var used = Assert.Single(balance.Flags, f => f.Kind == "rejected_load_used");
        Assert.Equal((c.T2, 12_000.0), (used.Lot.Id, used.ActualKg));
        Assert.Contains(used.Evidence, e => e.Key == "rejected_because" && e.Value.Contains(c.T2 + "-ACC", StringComparison.Ordinal)
            && e.Value.Contains("antibiotic_beta_lactam", StringComparison.Ordinal));
        var receipt = back.Graph.Lots.Values.Single(l => l.Kind == LotKinds.Receipt && l.LotId == c.T2);
        Assert.False(receipt.Accepted);
        Assert.Contains("plant_acceptance sample " + c.T2 + "-ACC", receipt.RejectionReason, StringComparison.Ordinal);
        Assert.True(back.Graph.Lots.Values.Single(l => l.Kind == LotKinds.Receipt && l.LotId == c.T1).Accepted);
        Assert.All(recall.Products, p => Assert.Contains($"with milk of rejected receipt {c.T2} (plant_acceptance sample {c.T2}-ACC", p.Reason, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Warm_receipt_shows_the_temperature_as_its_rejection_reason()
    {
        var p = Prefix();
        var day = new DateTimeOffset(2026, 3, 14, 5, 0, 0, TimeSpan.FromHours(8));
        await db.CollectAsync(p + "-P", p + "-B", 20_000, day, tankerLoad: p + "-T");
        await db.IntakeAsync(p + "-PL", p + "-T", 20_000, day.AddHours(3), temperature: 11.5);

        var back = await db.Queries.TraceBackAsync(Regulator, new LotRef(LotKinds.Receipt, p + "-T"), default);

        Assert.False(back.Root.Accepted);
        Assert.Equal("arrived at 11.5 °C, above 10.0 °C", back.Root.RejectionReason);
    }

    /// <summary>Five earlier bulk-tank samples of a pasture around its own freezing point make its baseline.</summary>
    private async Task PastureHistoryAsync(string pasture, double baseline, DateTimeOffset day)
    {
        double[] wobble = [-0.002, 0.001, 0.0, 0.002, -0.001];
        for (var i = 0; i < wobble.Length; i++)
        {
            var lot = $"{pasture}-H{i}";
            var at = day.AddDays(-5 + i);
            await db.CollectAsync(pasture, lot, 10_000, at);
            await db.AddQualityResultAsync("bulk_tank_lot", lot, lot + "-S", "pass", Fp(baseline + wobble[i]), at.AddHours(1), "pasture_self_check");
        }
    }

    [Theory]
    [InlineData("cow", -0.540, 1.0)]
    [InlineData("cow", -0.540, 4.0)]
    [InlineData("goat", -0.560, 1.0)]
    [InlineData("goat", -0.560, 2.5)]
    public async Task Load_watered_1_to_4_percent_is_flagged_against_its_pastures_baseline_and_by_weight_with_evidence(string species, double baseline, double waterPercent)
    {
        var p = Prefix() + species;
        var plant = p + "-PL";
        var day = new DateTimeOffset(2026, 3, 20, 5, 0, 0, TimeSpan.FromHours(8));
        await PastureHistoryAsync(p + "-P", baseline, day);
        // 30 t picked up; water added on the way: weighed heavier, freezing point raised by the water's share.
        var water = Math.Round(30_000 * waterPercent / 100);
        var point = Math.Round(baseline * (1 - (waterPercent / 100)), 4);
        await db.CollectAsync(p + "-P", p + "-B", 30_000, day, tankerLoad: p + "-T");
        await db.IntakeAsync(plant, p + "-T", 30_000 + water, day.AddHours(3));
        await db.AddQualityResultAsync(LotKinds.TankerLoad, p + "-T", p + "-ACC", "pass", Fp(point), day.AddHours(3.2), "plant_acceptance");

        var balance = await db.Queries.MassBalanceAsync(Regulator, plant, ChinaTime.LocalDate(day), default);

        // The old rules let this through: within 2 % by weight and below the -0.500 °C limit.
        Assert.True(point < -0.500);
        var suspect = Assert.Single(balance.Flags, f => f.Kind == "suspected_watering");
        var evidence = suspect.Evidence.ToDictionary(e => e.Key, e => e.Value);
        Assert.Equal(p + "-ACC", evidence["sample_id"]);
        Assert.Equal(point, double.Parse(evidence["freezing_point_c"], CultureInfo.InvariantCulture), 4);
        Assert.Equal(baseline, double.Parse(evidence["baseline_c"], CultureInfo.InvariantCulture), 4);
        Assert.Equal("5", evidence["baseline_samples"]);
        Assert.Equal("0.0050", evidence["threshold_rise_c"]);
        Assert.Equal(waterPercent, double.Parse(evidence["estimated_water_percent"], CultureInfo.InvariantCulture), 0);
        var weight = Assert.Single(balance.Flags, f => f.Kind == "watered_load" && f.Lot.Kind == LotKinds.Receipt);
        var weights = weight.Evidence.ToDictionary(e => e.Key, e => e.Value);
        Assert.Equal(("30000", (30_000 + water).ToString(CultureInfo.InvariantCulture), water.ToString(CultureInfo.InvariantCulture)),
            (weights["picked_up_kg"], weights["weighed_kg"], weights["difference_kg"]));
        Assert.Equal(("60", "0.50"), (weights["tolerance_kg"], weights["tolerance_percent"]));
    }

    [Fact]
    public async Task Goat_load_at_its_own_pastures_freezing_point_is_not_suspected()
    {
        var p = Prefix();
        var plant = p + "-PL";
        var day = new DateTimeOffset(2026, 3, 21, 5, 0, 0, TimeSpan.FromHours(8));
        await PastureHistoryAsync(p + "-G", -0.562, day);
        await db.CollectAsync(p + "-G", p + "-B", 8_000, day, tankerLoad: p + "-T");
        await db.IntakeAsync(plant, p + "-T", 8_020, day.AddHours(3));
        await db.AddQualityResultAsync(LotKinds.TankerLoad, p + "-T", p + "-ACC", "pass", Fp(-0.560), day.AddHours(3.2), "plant_acceptance");

        var balance = await db.Queries.MassBalanceAsync(Regulator, plant, ChinaTime.LocalDate(day), default);

        Assert.DoesNotContain(balance.Flags, f => f.Kind is "suspected_watering" or "watered_load");
    }

    [Fact]
    public async Task Milk_powder_and_cheese_made_at_their_yields_are_not_production_imbalances_and_an_uncategorised_lot_is_checked_as_liquid()
    {
        var p = Prefix();
        var plant = p + "-PL";
        var device = ChainDatabase.Device(plant, "plant");
        var day = new DateTimeOffset(2026, 3, 22, 5, 0, 0, TimeSpan.FromHours(8));
        await db.CollectAsync(p + "-P", p + "-B", 30_000, day, tankerLoad: p + "-T");
        await db.IntakeAsync(plant, p + "-T", 30_000, day.AddHours(3));
        await db.PublishAsync(new SiloTransferKind(db.Store), device, day.AddHours(4), HandBuiltChain.Transfer(p + "-S", (p + "-T", 30_000)));
        var production = new ProductionKind(db.Store);
        await db.PublishAsync(production, device, day.AddHours(6),
            $$"""{"productLotId": "{{p}}-WMP", "product": "whole milk powder 25 kg", "productCategory": "milk_powder", "outputKg": 1250, "silos": [{"siloBatchId": "{{p}}-S", "kg": 10000}]}""");
        await db.PublishAsync(production, device, day.AddHours(6),
            $$"""{"productLotId": "{{p}}-CH", "product": "cheddar", "productCategory": "cheese", "outputKg": 1000, "silos": [{"siloBatchId": "{{p}}-S", "kg": 10000}]}""");
        await db.PublishAsync(production, device, day.AddHours(6),
            $$"""{"productLotId": "{{p}}-U", "product": "something", "outputKg": 1250, "silos": [{"siloBatchId": "{{p}}-S", "kg": 10000}]}""");

        var balance = await db.Queries.MassBalanceAsync(Regulator, plant, ChinaTime.LocalDate(day), default);

        var imbalance = Assert.Single(balance.Flags, f => f.Kind == "production_imbalance");
        Assert.Equal(p + "-U", imbalance.Lot.Id);
        Assert.Contains("category not given: liquid milk yield assumed", imbalance.Detail, StringComparison.Ordinal);
        Assert.Contains(imbalance.Evidence, e => e.Key == "yield" && e.Value == "0.1250");
    }

    [Fact]
    public async Task Production_refuses_an_unknown_category_and_a_gtin_with_a_wrong_check_digit_naming_the_field()
    {
        var kind = new ProductionKind(db.Store);
        foreach (var (json, field) in new[]
        {
            ("""{"productLotId": "X", "product": "p", "productCategory": "ice_cream", "outputKg": 1, "silos": [{"siloBatchId": "S", "kg": 1}]}""", "productCategory"),
            ("""{"productLotId": "X", "product": "p", "gtin": "06901234000017", "outputKg": 1, "silos": [{"siloBatchId": "S", "kg": 1}]}""", "gtin"),
            ("""{"productLotId": "X", "product": "p", "bestBefore": "20/03/2026", "outputKg": 1, "silos": [{"siloBatchId": "S", "kg": 1}]}""", "bestBefore"),
        })
        {
            using var document = System.Text.Json.JsonDocument.Parse(json);
            Assert.False(kind.TryParse(document.RootElement, db.NextKey("d"), DateTimeOffset.UtcNow, out _, out var rejection));
            Assert.StartsWith(field, rejection.Detail, StringComparison.Ordinal);
        }

        Assert.Equal("06901234000016", ProductionKind.Gtin14("6901234000016"));
    }

    [Fact]
    public async Task Failing_product_lot_sample_recalls_its_sibling_lots_from_the_same_silo_batch_each_held_whole()
    {
        var c = new HandBuiltChain(Prefix());
        await c.BuildAsync(db);
        await db.AddQualityResultAsync("product_lot", c.X1, c.X1 + "-SMP", "fail", "[]", HandBuiltChain.Day.AddHours(9));

        var recall = await db.Queries.RecallImpactAsync(Regulator, c.X1 + "-SMP", default);

        // X1 is all S1 milk; X2 took 12,000 of its 18,000 kg from S1: held whole (18,000), two thirds suspect.
        Assert.Equal([(c.X1, 12_000.0, 1.0), (c.X2, 18_000.0, 0.6667)],
            recall.Products.Select(r => (r.Lot.LotId, r.HeldKg, Math.Round(r.Share, 4))));
        Assert.Contains("same silo batch", recall.Products[1].Reason, StringComparison.Ordinal);
        Assert.Equal(12_000, recall.Products[1].SourceKg, 6);
    }

    [Fact]
    public async Task Line_run_siblings_made_from_other_milk_are_held_and_a_silo_batch_or_line_run_is_a_recall_root()
    {
        var c = new HandBuiltChain(Prefix());
        await c.BuildAsync(db);
        var plant = ChainDatabase.Device(c.Plant, "plant");
        // Another lot of the same product on line L2 two hours later, from a separate silo batch: same line run.
        var other = c.Plant + "-S9";
        await db.CollectAsync(c.PastureA, c.B1 + "-9", 5_000, HandBuiltChain.Day, tankerLoad: c.T1 + "-9");
        await db.IntakeAsync(c.Plant, c.T1 + "-9", 5_000, HandBuiltChain.Day.AddHours(3));
        await db.PublishAsync(new SiloTransferKind(db.Store), plant, HandBuiltChain.Day.AddHours(4), HandBuiltChain.Transfer(other, (c.T1 + "-9", 5_000)));
        await db.PublishAsync(new ProductionKind(db.Store), plant, HandBuiltChain.Day.AddHours(8), HandBuiltChain.Production(c.X1 + "-9", 5_000, (other, 5_000)));
        await db.AddQualityResultAsync("product_lot", c.X1, c.X1 + "-SMP", "fail", "[]", HandBuiltChain.Day.AddHours(9));

        var bySample = await db.Queries.RecallImpactAsync(Regulator, c.X1 + "-SMP", default);
        var bySilo = await db.Queries.RecallAsync(Regulator, RecallRoot.OfSiloBatch(c.S2), default);
        var byRun = await db.Queries.RecallAsync(Regulator, RecallRoot.OfLineRun(c.X2), default);

        Assert.Equal([(c.X1, 1.0), (c.X2, 0.6667), (c.X1 + "-9", 0.0)], bySample.Products.Select(r => (r.Lot.LotId, Math.Round(r.Share, 4))));
        Assert.Contains("same line run", bySample.Products[2].Reason, StringComparison.Ordinal);
        Assert.Equal(5_000, bySample.Products[2].HeldKg);
        Assert.Equal((LotKinds.SiloBatch, c.S2), (bySilo.Root.Kind, bySilo.Root.LotId));
        Assert.Equal([(c.X2, 18_000.0, 6_000.0)], bySilo.Products.Select(r => (r.Lot.LotId, r.HeldKg, Math.Round(r.SourceKg, 6))));
        Assert.Null(byRun.Sample);
        Assert.Equal([c.X2, c.X1, c.X1 + "-9"], byRun.Products.Select(r => r.Lot.LotId));
        await Assert.ThrowsAsync<LotNotFoundException>(() => db.Queries.RecallAsync(CallerScope.ProcessorOf("o", "elsewhere"), RecallRoot.OfSiloBatch(c.S2), default));
    }
}
