using HohhotCluster.Telemetry.Traceability;

namespace HohhotCluster.Telemetry.Traceability.Tests;

/// <summary>
/// What one processor could do to another's chain through EPCIS import before lots had owners: rewrite its receipt
/// (995 kg accepted -> 1 kg rejected), shrink a pasture's bulk-tank lot (1,000 -> 5 kg), blend its receipt into
/// one's own silo batch. Each is refused now, naming the lot, and leaves the chain as it was.
/// </summary>
public sealed class EpcisOwnershipTests(ChainDatabase db) : IClassFixture<ChainDatabase>
{
    private const string Base = "https://id.hohhot-dairy.example/";

    private static string Document(params string[] events) => $$"""
        {
          "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
          "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-03-10T12:00:00.000+08:00",
          "epcisBody": { "eventList": [{{string.Join(",", events)}}] }
        }
        """;

    private static string Loading(string bulkLot, double kg, string load) => $$"""
        { "type": "ObjectEvent", "eventID": "urn:uuid:{{Guid.NewGuid()}}", "action": "OBSERVE", "bizStep": "loading",
          "eventTime": "2026-03-10T05:00:00.000+08:00", "eventTimeZoneOffset": "+08:00",
          "readPoint": {"id": "urn:epc:id:sgln:6901234.00001.0"},
          "quantityList": [{"epcClass": "{{bulkLot}}", "quantity": {{kg}}, "uom": "KGM"}],
          "bizTransactionList": [{"type": "bol", "bizTransaction": "{{load}}"}] }
        """;

    private static string Receiving(string plant, string load, double kg, string disposition) => $$"""
        { "type": "ObjectEvent", "eventID": "urn:uuid:{{Guid.NewGuid()}}", "action": "OBSERVE", "bizStep": "receiving",
          "disposition": "{{disposition}}", "eventTime": "2026-03-10T09:00:00.000+08:00", "eventTimeZoneOffset": "+08:00",
          "bizLocation": {"id": "https://id.hohhot-dairy.example/plant/{{plant}}"},
          "quantityList": [{"epcClass": "urn:epc:class:lgtin:6901234.000009.{{Guid.NewGuid():N}}", "quantity": {{kg}}, "uom": "KGM"}],
          "bizTransactionList": [{"type": "bol", "bizTransaction": "{{load}}"}] }
        """;

    private static string Blending(string plant, string inputLot, string siloBatch, double kg) => $$"""
        { "type": "TransformationEvent", "eventID": "urn:uuid:{{Guid.NewGuid()}}", "bizStep": "commissioning",
          "eventTime": "2026-03-10T10:00:00.000+08:00", "eventTimeZoneOffset": "+08:00",
          "bizLocation": {"id": "https://id.hohhot-dairy.example/plant/{{plant}}"},
          "inputQuantityList": [{"epcClass": "{{inputLot}}", "quantity": {{kg}}, "uom": "KGM"}],
          "outputQuantityList": [{"epcClass": "{{siloBatch}}", "quantity": {{kg}}, "uom": "KGM"}] }
        """;

    [Fact]
    public async Task AProcessorCannotRewriteShrinkOrBlendAnotherProcessorsLotsAndARefusedDocumentChangesNothing()
    {
        var p = "w" + Guid.NewGuid().ToString("N")[..8];
        var dairyA = CallerScope.ProcessorOf(p + "-a", p + "-PLA");
        var dairyB = CallerScope.ProcessorOf(p + "-b", p + "-PLB");
        var bulk = "urn:epc:class:lgtin:6901234.000001." + p;
        var load = p + "-TL";
        await db.Importer.ImportAsync(dairyA, Document(Loading(bulk, 1000, Base + "tanker-load/" + load), Receiving(p + "-PLA", Base + "tanker-load/" + load, 995, "conformant")), default);
        var receipt = new LotRef(LotKinds.Receipt, load);

        // A's receipt, rewritten as received (and rejected) at B's own plant under A's bill of lading.
        var rewrite = await Assert.ThrowsAsync<ScopeDeniedException>(() =>
            db.Importer.ImportAsync(dairyB, Document(Receiving(p + "-PLB", Base + "tanker-load/" + load, 1, "non_conformant")), default));
        Assert.Contains($"receipt lot '{load}'", rewrite.Message, StringComparison.Ordinal);
        // The pasture's bulk-tank lot that A's import created, shrunk by B loading it again with 5 kg.
        var shrink = await Assert.ThrowsAsync<ScopeDeniedException>(() =>
            db.Importer.ImportAsync(dairyB, Document(Loading(bulk, 5, Base + "tanker-load/" + p + "-TLB")), default));
        Assert.Contains($"bulk_tank lot '{bulk}'", shrink.Message, StringComparison.Ordinal);
        Assert.Contains("belongs to another organisation", shrink.Message, StringComparison.Ordinal);
        // A's receipt blended into B's silo batch at B's plant.
        var blend = await Assert.ThrowsAsync<ScopeDeniedException>(() =>
            db.Importer.ImportAsync(dairyB, Document(Blending(p + "-PLB", Base + "lot/receipt/" + load, "urn:epc:class:lgtin:6901234.000002." + p + "S", 995)), default));
        Assert.Contains("not yours to use", blend.Message, StringComparison.Ordinal);

        var back = await db.Queries.TraceBackAsync(dairyA, receipt, default);
        Assert.Equal((995.0, true, p + "-PLA"), (back.Root.Kg!.Value, back.Root.Accepted!.Value, back.Root.PlantId!));
        Assert.Equal(1000.0, back.Graph.Lots.Values.Single(l => l.Kind == LotKinds.BulkTank).Kg!.Value);
        Assert.DoesNotContain(back.Graph.Lots.Values, l => l.PlantId == p + "-PLB");

        // A itself may blend its own receipt into a silo batch of its own...
        var siloA = "urn:epc:class:lgtin:6901234.000002." + p + "A";
        await db.Importer.ImportAsync(dairyA, Document(Blending(p + "-PLA", Base + "lot/receipt/" + load, siloA, 995)), default);
        // ...and B cannot pour milk of its own into A's silo batch.
        await db.Importer.ImportAsync(dairyB, Document(Loading("urn:epc:class:lgtin:6901234.000001." + p + "B", 700, Base + "tanker-load/" + p + "-TLB2"),
            Receiving(p + "-PLB", Base + "tanker-load/" + p + "-TLB2", 700, "conformant")), default);
        var intoForeignBatch = await Assert.ThrowsAsync<ScopeDeniedException>(() =>
            db.Importer.ImportAsync(dairyB, Document(Blending(p + "-PLB", Base + "lot/receipt/" + p + "-TLB2", Base + "lot/silo_batch/" + Uri.EscapeDataString(siloA), 700)), default));
        Assert.Contains("belongs to another organisation", intoForeignBatch.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoImportChangesALotThatTelemetryRecordedOrClaimsAPastureThatReportsByTelemetry()
    {
        var c = new HandBuiltChain("v" + Guid.NewGuid().ToString("N")[..8]);
        await c.BuildAsync(db);
        var processor = CallerScope.ProcessorOf("dairy-" + c.Plant, c.Plant);

        // The telemetry bulk-tank lot B1 (10,000 kg), re-loaded by import with 5 kg into an imported tanker load.
        var shrink = await Assert.ThrowsAsync<ScopeDeniedException>(() => db.Importer.ImportAsync(processor,
            Document(Loading(Base + "lot/bulk_tank/" + c.B1, 5, Base + "tanker-load/" + c.B1 + "-TL")), default));
        Assert.Contains("recorded by telemetry", shrink.Message, StringComparison.Ordinal);

        // Even the platform operator does not rewrite telemetry's receipt T1.
        var rewrite = await Assert.ThrowsAsync<ScopeDeniedException>(() => db.Importer.ImportAsync(CallerScope.Everything,
            Document(Receiving(c.Plant, Base + "tanker-load/" + c.T1, 1, "non_conformant")), default));
        Assert.Contains($"receipt lot '{c.T1}'", rewrite.Message, StringComparison.Ordinal);

        var back = await db.Queries.TraceBackAsync(CallerScope.Everything, new LotRef(LotKinds.Receipt, c.T1), default);
        Assert.Equal(18_000.0, back.Root.Kg!.Value);
        Assert.Equal(10_000.0, back.Graph.Lots.Values.Single(l => l.LotId == c.B1).Kg!.Value);

        // The plant's own processor may still blend its telemetry receipt into a batch of its own.
        await db.Importer.ImportAsync(processor, Document(Blending(c.Plant, Base + "lot/receipt/" + c.T1, "urn:epc:class:lgtin:6901234.000002." + c.Plant + "Z", 100)), default);
    }
}
