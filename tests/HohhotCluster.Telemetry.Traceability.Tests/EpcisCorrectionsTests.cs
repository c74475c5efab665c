using System.Text.Json;
using System.Text.RegularExpressions;
using HohhotCluster.Telemetry.Traceability;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Traceability.Tests;

/// <summary>Issue 13, EPCIS: content-hash ids, error declarations, declared recalls, import source, GS1 keys, field-named refusals.</summary>
public sealed partial class EpcisCorrectionsTests(ChainDatabase db) : IClassFixture<ChainDatabase>
{
    private static readonly CallerScope Operator = CallerScope.Everything;

    private static string Prefix() => "h" + Guid.NewGuid().ToString("N")[..8];

    [GeneratedRegex("^ni:///sha-256;[0-9a-f]{64}\\?ver=CBV2\\.0$")]
    private static partial Regex HashId();

    private static List<JsonElement> Events(string json)
    {
        using var document = JsonDocument.Parse(json);
        return [.. document.RootElement.GetProperty("epcisBody").GetProperty("eventList").EnumerateArray().Select(e => e.Clone())];
    }

    private static JsonElement Loading(string json) => Events(json).Single(e => e.TryGetProperty("bizStep", out var s) && s.GetString() == "loading");

    [Fact]
    public async Task Corrected_event_600_to_650_kg_gets_a_new_id_which_is_the_hash_of_its_content()
    {
        var p = Prefix();
        var pasture = ChainDatabase.Device(p + "-P", "pasture");
        var pickup = new TankerPickupKind(db.Store);
        await db.PublishAsync(pickup, pasture, HandBuiltChain.Day, HandBuiltChain.Pickup(p + "-B", p + "-T", 600));
        var (before, _) = await db.Exporter.ExportLotAsync(Operator, new LotRef(LotKinds.BulkTank, p + "-B"), default);
        var (again, _) = await db.Exporter.ExportLotAsync(Operator, new LotRef(LotKinds.BulkTank, p + "-B"), default);
        await db.PublishAsync(pickup, pasture, HandBuiltChain.Day, HandBuiltChain.Pickup(p + "-B", p + "-T", 650));
        var (after, _) = await db.Exporter.ExportLotAsync(Operator, new LotRef(LotKinds.BulkTank, p + "-B"), default);

        var first = Loading(before).GetProperty("eventID").GetString()!;
        var corrected = Loading(after);
        Assert.Matches(HashId(), first);
        Assert.Equal(first, Loading(again).GetProperty("eventID").GetString());
        Assert.Equal(650, corrected.GetProperty("quantityList")[0].GetProperty("quantity").GetDouble());
        Assert.NotEqual(first, corrected.GetProperty("eventID").GetString());
        // The id is the CBV 2.0 hash of the event's content (eventID itself is not part of it).
        using var document = JsonDocument.Parse(after);
        Assert.Equal(corrected.GetProperty("eventID").GetString(), EpcisEventHash.Of(corrected, EpcisEventHash.Prefixes(document.RootElement)));
    }

    [Fact]
    public void Event_hash_follows_the_canonical_rules_whatever_the_serialisation()
    {
        // The same event twice: members in another order, CBV values bare vs as web URIs, a local time vs UTC,
        // 600.0 vs 600, an LGTIN URN vs its canonical Digital Link.
        const string a = """
        {"type": "ObjectEvent", "eventTime": "2026-03-10T05:00:00+08:00", "eventTimeZoneOffset": "+08:00", "action": "OBSERVE",
         "bizStep": "loading", "disposition": "in_transit",
         "quantityList": [{"epcClass": "urn:epc:class:lgtin:6901234.000001.L1", "quantity": 600.0, "uom": "KGM"}]}
        """;
        const string b = """
        {"quantityList": [{"uom": "KGM", "quantity": 600, "epcClass": "https://id.gs1.org/01/06901234000016/10/L1"}],
         "disposition": "https://ref.gs1.org/cbv/Disp-in_transit", "bizStep": "urn:epcglobal:cbv:bizstep:loading",
         "action": "OBSERVE", "eventTimeZoneOffset": "+08:00", "eventTime": "2026-03-09T21:00:00.000Z", "type": "ObjectEvent", "eventID": "urn:uuid:x"}
        """;
        var prefixes = new Dictionary<string, string>();
        using var x = JsonDocument.Parse(a);
        using var y = JsonDocument.Parse(b);

        Assert.Equal(
            "eventType=ObjectEventeventTime=2026-03-09T21:00:00.000ZeventTimeZoneOffset=+08:00"
            + "quantityListquantityElementepcClass=https://id.gs1.org/01/06901234000016/10/L1quantity=600uom=KGM"
            + "action=OBSERVEbizStep=https://ref.gs1.org/cbv/BizStep-loadingdisposition=https://ref.gs1.org/cbv/Disp-in_transit",
            EpcisEventHash.PreHash(x.RootElement, prefixes));
        Assert.Equal(EpcisEventHash.Of(x.RootElement, prefixes), EpcisEventHash.Of(y.RootElement, prefixes));
    }

    private static string Document(params string[] events) => $$"""
        {
          "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
          "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-03-10T12:00:00.000+08:00",
          "epcisBody": { "eventList": [{{string.Join(",", events)}}] }
        }
        """;

    private static string PartnerLoading(string id, string bulkLot, double kg, string load, string? errorDeclaration = null) => $$"""
        { "type": "ObjectEvent", "eventID": "{{id}}", "action": "OBSERVE", "bizStep": "loading",
          "eventTime": "2026-03-10T05:00:00.000+08:00", "eventTimeZoneOffset": "+08:00",
          "readPoint": {"id": "urn:epc:id:sgln:6901234.00001.0"},
          "quantityList": [{"epcClass": "{{bulkLot}}", "quantity": {{kg}}, "uom": "KGM"}],
          "bizTransactionList": [{"type": "bol", "bizTransaction": "{{load}}"}]{{(errorDeclaration is null ? "" : ", " + errorDeclaration)}} }
        """;

    [Fact]
    public async Task Error_declaration_retracts_the_imported_300_kg_from_the_chain_and_honours_its_corrective_ids()
    {
        var p = Prefix();
        var dairy = CallerScope.ProcessorOf(p + "-org", p + "-PL");
        var load = "urn:epcglobal:cbv:bt:6901234000004:" + p;
        var wrong = "urn:uuid:" + Guid.NewGuid();
        var good = "urn:uuid:" + Guid.NewGuid();
        var wrongLot = $"urn:epc:class:lgtin:6901234.000001.{p}W";
        await db.Importer.ImportAsync(dairy, Document(
            PartnerLoading(wrong, wrongLot, 300, load), PartnerLoading(good, $"urn:epc:class:lgtin:6901234.000001.{p}G", 500, load)), default);
        var loadLot = new LotRef(LotKinds.TankerLoad, load);
        var before = await db.Queries.TraceBackAsync(Operator, loadLot, default);

        // The error declaration: the same event (same id and content), with errorDeclaration added.
        var corrective = "urn:uuid:" + Guid.NewGuid();
        var declaration = Document(PartnerLoading(wrong, wrongLot, 300, load,
            $$"""
            "errorDeclaration": {"declarationTime": "2026-03-10T13:00:00.000+08:00", "reason": "incorrect_data", "correctiveEventIDs": ["{{corrective}}"]}
            """));
        var stranger = await Assert.ThrowsAsync<ScopeDeniedException>(() => db.Importer.ImportAsync(CallerScope.ProcessorOf("other", p + "-PL"), declaration, default));
        var result = await db.Importer.ImportAsync(dairy, declaration, default);
        var twice = await db.Importer.ImportAsync(dairy, declaration, default);
        var after = await db.Queries.TraceBackAsync(Operator, loadLot, default);

        Assert.Equal(800, before.Root.Kg);
        Assert.Contains("another organisation", stranger.Message, StringComparison.Ordinal);
        Assert.Equal((1, 0), (result.Retracted, result.Duplicates));
        Assert.Contains(result.Notes, i => i.Contains(corrective, StringComparison.Ordinal) && i.Contains("not held yet", StringComparison.Ordinal));
        Assert.Equal((0, 1), (twice.Retracted, twice.Duplicates));
        Assert.Equal(500, after.Root.Kg);
        Assert.DoesNotContain(after.Graph.Lots.Values, l => l.LotId == wrongLot);
        Assert.Equal(500, Assert.Single(after.Graph.Edges).Kg);
        await Assert.ThrowsAsync<LotNotFoundException>(() => db.Queries.TraceForwardAsync(Operator, new LotRef(LotKinds.BulkTank, wrongLot), default));
    }

    [Fact]
    public async Task Error_declaration_without_the_events_id_finds_it_by_its_content_hash()
    {
        var p = Prefix();
        var dairy = CallerScope.ProcessorOf(p + "-org", p + "-PL");
        var load = "urn:epcglobal:cbv:bt:6901234000004:" + p;
        var lot = $"urn:epc:class:lgtin:6901234.000001.{p}";
        await db.Importer.ImportAsync(dairy, Document(PartnerLoading("urn:uuid:" + Guid.NewGuid(), lot, 300, load)), default);
        // The partner re-sends the event without an id (its hash is then its id), in a different member order.
        var declaration = Document($$"""
            { "eventTime": "2026-03-10T05:00:00.000+08:00", "type": "ObjectEvent", "eventTimeZoneOffset": "+08:00", "action": "OBSERVE", "bizStep": "loading",
              "bizTransactionList": [{"type": "bol", "bizTransaction": "{{load}}"}],
              "quantityList": [{"uom": "KGM", "quantity": 300.0, "epcClass": "{{lot}}"}],
              "readPoint": {"id": "urn:epc:id:sgln:6901234.00001.0"},
              "errorDeclaration": {"declarationTime": "2026-03-10T13:00:00.000+08:00", "reason": "incorrect_data"} }
            """);

        var result = await db.Importer.ImportAsync(dairy, declaration, default);

        Assert.Equal(1, result.Retracted);
        await Assert.ThrowsAsync<LotNotFoundException>(() => db.Queries.TraceBackAsync(Operator, new LotRef(LotKinds.TankerLoad, load), default));
    }

    [Fact]
    public async Task Lots_an_import_creates_carry_source_epcis()
    {
        var p = Prefix();
        var dairy = CallerScope.ProcessorOf(p + "-org", p + "-PL");
        var load = "urn:epcglobal:cbv:bt:6901234000004:" + p;
        await db.Importer.ImportAsync(dairy, Document(PartnerLoading("urn:uuid:" + Guid.NewGuid(), $"urn:epc:class:lgtin:6901234.000001.{p}", 700, load)), default);

        var back = await db.Queries.TraceBackAsync(Operator, new LotRef(LotKinds.TankerLoad, load), default);

        Assert.Equal(2, back.Graph.Lots.Count);
        Assert.All(back.Graph.Lots.Values, l => Assert.Equal("epcis", l.Source));
    }

    private static List<string> Dispositions(string json, string disposition) =>
        [.. Events(json).Where(e => e.TryGetProperty("disposition", out var d) && d.GetString() == disposition)
            .Select(e => e.GetProperty("quantityList")[0].GetProperty("epcClass").GetString()!)];

    [Fact]
    public async Task Recalled_is_exported_only_where_a_recall_was_declared_and_a_failing_check_alone_holds()
    {
        var c = new HandBuiltChain(Prefix());
        await c.BuildAsync(db);
        await db.AddQualityResultAsync(LotKinds.BulkTank, c.B3, c.B3 + "-SMP", "fail", "[]", HandBuiltChain.Day.AddHours(8));
        var x2 = $"https://id.hohhot-dairy.example/lot/product/{c.X2}";

        var (held, _) = await db.Exporter.ExportLotAsync(Operator, new LotRef(LotKinds.Product, c.X2), default);
        await Assert.ThrowsAsync<ScopeDeniedException>(() => db.Queries.DeclareRecallAsync(CallerScope.CityRegulator, c.X2, "B3 antibiotic", default));
        await db.Queries.DeclareRecallAsync(CallerScope.ProcessorOf("proc", c.Plant), c.X2, "B3 antibiotic positive", default);
        var (recalled, _) = await db.Exporter.ExportLotAsync(Operator, new LotRef(LotKinds.Product, c.X2), default);

        Assert.Empty(Dispositions(held, "recalled"));
        Assert.Contains(x2, Dispositions(held, "non_sellable_other"));
        Assert.Equal([x2], Dispositions(recalled, "recalled"));
    }

    [Fact]
    public async Task Places_and_lots_use_SGLN_and_LGTIN_where_the_place_has_a_GS1_company_prefix_and_product_lots_carry_gtin_and_best_before()
    {
        var p = Prefix();
        var plant = p + "-PL";
        var pasture = p + "-PA";
        var options = new TraceabilityOptions();
        options.Gs1Places[plant] = new Gs1Place { CompanyPrefix = "6901234", LocationReference = "00002" };
        options.Gs1Places[pasture] = new Gs1Place { CompanyPrefix = "6905678", LocationReference = "00001", MilkItemReference = "000001" };
        var exporter = new EpcisExporter(db.Queries, db.TankerLogs, TimeProvider.System, Options.Create(options));
        var device = ChainDatabase.Device(plant, "plant");
        await db.CollectAsync(pasture, p + "-B", 10_000, HandBuiltChain.Day, tankerLoad: p + "-T");
        await db.IntakeAsync(plant, p + "-T", 10_000, HandBuiltChain.Day.AddHours(3));
        await db.PublishAsync(new SiloTransferKind(db.Store), device, HandBuiltChain.Day.AddHours(4), HandBuiltChain.Transfer(p + "-S", (p + "-T", 10_000)));
        await db.PublishAsync(new ProductionKind(db.Store), device, HandBuiltChain.Day.AddHours(6),
            $$"""{"productLotId": "{{p}}-X", "product": "UHT 250 mL", "productCategory": "sterilised_milk", "gtin": "06901234000016", "bestBefore": "2026-09-10", "line": "L1", "outputKg": 9900, "silos": [{"siloBatchId": "{{p}}-S", "kg": 10000}]}""");

        var (json, _) = await exporter.ExportLotAsync(Operator, new LotRef(LotKinds.Product, p + "-X"), default);
        var events = Events(json);

        var production = events.Single(e => e.GetProperty("type").GetString() == "TransformationEvent"
            && e.GetProperty("outputQuantityList")[0].GetProperty("epcClass").GetString()!.Contains(p + "-X", StringComparison.Ordinal));
        Assert.Equal($"urn:epc:class:lgtin:6901234.000001.{p}-X", production.GetProperty("outputQuantityList")[0].GetProperty("epcClass").GetString());
        Assert.Equal("urn:epc:id:sgln:6901234.00002.0", production.GetProperty("bizLocation").GetProperty("id").GetString());
        Assert.Equal(("06901234000016", "2026-09-10"),
            (production.GetProperty("ilmd").GetProperty("hohhot:gtin").GetString(), production.GetProperty("ilmd").GetProperty("cbvmda:bestBeforeDate").GetString()));
        var loading = Loading(json);
        Assert.Equal("urn:epc:id:sgln:6905678.00001.0", loading.GetProperty("readPoint").GetProperty("id").GetString());
        Assert.Equal($"urn:epc:class:lgtin:6905678.000001.{p}-B", loading.GetProperty("quantityList")[0].GetProperty("epcClass").GetString());
        // The GTIN of the LGTIN is the product's: 0 + 6901234 + 00001 + check digit 6.
        Assert.Equal($"https://id.gs1.org/01/06901234000016/10/{p}-X", Gs1Keys.ToDigitalLink($"urn:epc:class:lgtin:6901234.000001.{p}-X"));
        using var document = JsonDocument.Parse(json);
        Assert.True(EpcisSchema.Value.Evaluate(document.RootElement, new Json.Schema.EvaluationOptions { RequireFormatValidation = true }).IsValid, json);
    }

    private static readonly Lazy<Json.Schema.JsonSchema> EpcisSchema = new(() => Json.Schema.JsonSchema.FromFile(
        Path.Combine(EpcisTests.EpcisRoot, "EPCIS-JSON-Schema.json"), new Json.Schema.BuildOptions { SchemaRegistry = new Json.Schema.SchemaRegistry() }));
}

/// <summary>
/// Every refusal of an invalid document names the field that failed. The documents below are written here after the
/// failure classes of OpenEPCIS's invalid capture fixtures (github.com/openepcis/openepcis-test-resources,
/// 2.0/EPCIS/JSON/**/Invalid); when HOHHOT_OPENEPCIS_INVALID names a folder of such fixtures, those are checked too.
/// </summary>
public sealed class EpcisRefusalTests(ChainDatabase db) : IClassFixture<ChainDatabase>
{
    private const string Head = """
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "EPCISDocument", "schemaVersion": "2.0",
        "creationDate": "2026-07-22T10:30:00Z"
        """;

    private static string Doc(string events) => $$"""{ {{Head}}, "epcisBody": { "eventList": [ {{events}} ] } }""";

    private const string Event = """
        "type": "ObjectEvent", "eventTime": "2026-07-22T06:45:00+02:00", "eventTimeZoneOffset": "+02:00", "action": "ADD",
        "epcList": ["https://id.gs1.org/01/09521141012345/21/2017"]
        """;

    public static TheoryData<string, string, string> Invalid() => new()
    {
        { "missing mandatory fields", Doc("""{ "type": "ObjectEvent", "epcList": ["https://id.gs1.org/01/09521141012345/21/2017"] }"""), "/epcisBody/eventList/0/action" },
        { "no @context", """{ "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-07-22T10:30:00Z", "epcisBody": { "eventList": [] } }""", "/@context" },
        { "invalid action", Doc($$"""{ {{Event.Replace("\"ADD\"", "\"CREATE\"", StringComparison.Ordinal)}} }"""), "/epcisBody/eventList/0/action" },
        { "eventTime format", Doc($$"""{ {{Event.Replace("2026-07-22T06:45:00+02:00", "22-07-2026", StringComparison.Ordinal)}} }"""), "/epcisBody/eventList/0/eventTime" },
        { "non-standard bizStep", Doc($$"""{ {{Event}}, "bizStep": "dancing" }"""), "/epcisBody/eventList/0/bizStep" },
        { "non-standard bizStep in the second event", Doc($$"""{ {{Event}} }, { {{Event}}, "bizStep": "dancing" }"""), "/epcisBody/eventList/1/bizStep" },
        { "non-standard disposition", Doc($$"""{ {{Event}}, "disposition": "happy" }"""), "/epcisBody/eventList/0/disposition" },
        { "quantity as text", Doc($$"""{ {{Event}}, "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": "ten", "uom": "KGM"}] }"""), "/epcisBody/eventList/0/quantityList/0/quantity" },
        { "unknown field in quantityList", Doc($$"""{ {{Event}}, "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 10, "uom": "KGM", "colour": "red"}] }"""), "/epcisBody/eventList/0/quantityList/0/colour" },
        { "ilmd field without namespace", Doc($$"""{ {{Event}}, "ilmd": {"bestBefore": "2026-09-01"} }"""), "/epcisBody/eventList/0/ilmd" },
        { "no identifier list", Doc("""{ "type": "ObjectEvent", "eventTime": "2026-07-22T06:45:00+02:00", "eventTimeZoneOffset": "+02:00", "action": "ADD" }"""), "/epcisBody/eventList/0/epcList" },
        { "unit kg", Doc($$"""{ {{Event}}, "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 10, "uom": "kg"}] }"""), "/epcisBody/eventList/0/quantityList/0/uom" },
        { "not a document at all", """{ "eventType": ["ObjectEvent"], "GE_eventTime": "not-a-date" }""", "/" },
    };

    /// <summary>The pointer of a problem ("pointer: message") names a member or an item of a list, never only an event or the document.</summary>
    public static bool NamesField(string problem)
    {
        var pointer = problem[..problem.IndexOf(": ", StringComparison.Ordinal)];
        var segments = pointer.Split('/', StringSplitOptions.RemoveEmptyEntries);
        return segments.Length > 0 && !(segments.Length >= 2 && segments[^2] == "eventList" && int.TryParse(segments[^1], out _));
    }

    [Theory]
    [MemberData(nameof(Invalid))]
    public async Task Every_refusal_of_an_invalid_document_names_the_field_that_failed(string what, string json, string field)
    {
        var refusal = await Assert.ThrowsAsync<InvalidTraceRequestException>(() => db.Importer.ImportAsync(CallerScope.Everything, json, default));

        Assert.True(refusal.Problems.All(NamesField), $"{what}: {string.Join(" | ", refusal.Problems)}");
        Assert.Contains(refusal.Problems, p => p.StartsWith(field == "/" ? "/" : field, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Every_refusal_of_the_OpenEPCIS_invalid_fixtures_names_the_field_that_failed_when_they_are_present()
    {
        if (Environment.GetEnvironmentVariable("HOHHOT_OPENEPCIS_INVALID") is not { Length: > 0 } folder)
        {
            return;
        }

        var unnamed = new List<string>();
        var files = Directory.EnumerateFiles(folder, "*.json", SearchOption.AllDirectories)
            .Where(f => f.Split(Path.DirectorySeparatorChar).Contains("Invalid")).Order(StringComparer.Ordinal).ToList();
        foreach (var file in files)
        {
            try
            {
                await db.Importer.ImportAsync(CallerScope.Everything, await File.ReadAllTextAsync(file), default);
                unnamed.Add($"{Path.GetFileName(file)}: imported");
            }
            catch (InvalidTraceRequestException refusal)
            {
                Console.WriteLine($"{Path.GetFileName(file)}\t{string.Join(" | ", refusal.Problems)}");
                unnamed.AddRange(refusal.Problems.Where(p => !NamesField(p)).Select(p => $"{Path.GetFileName(file)}: {p}"));
            }
        }

        Assert.True(files.Count > 0, folder);
        Assert.Empty(unnamed);
    }
}
