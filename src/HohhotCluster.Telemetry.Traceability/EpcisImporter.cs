using HohhotCluster.Telemetry.Contracts;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Dapper;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.Traceability;

public sealed record EpcisImportResult(int Events, int Imported, int Duplicates, IReadOnlyList<string> Ignored, int Lots, int Edges);

/// <summary>
/// Imports an EPCIS 2.0 document from a partner milk source. The document must validate against the official schema
/// (otherwise it is refused with the schema's problems); then each event is mapped onto the chain:
/// <list type="bullet">
/// <item>ObjectEvent <c>loading</c>: each mass quantity is a bulk-tank lot pumped into the tanker load named by its
/// <c>bol</c> business transaction (at the pasture of readPoint/bizLocation), temperature from a sensor report;</item>
/// <item>ObjectEvent <c>receiving</c>: the tanker load (bol, or the quantity's class) weighed in at the plant of
/// bizLocation, rejected when the disposition is <c>non_conformant</c>;</item>
/// <item>TransformationEvent: inputs (kg) blended into silo batches or used for product lots (outputs, kg);</item>
/// <item>sampling / holding events and <c>recalled</c> dispositions: attached to the lots they name;</item>
/// <item>anything else (aggregation, transaction, association, events without mass): recorded and listed as ignored.</item>
/// </list>
/// A chain event with a quantity that is not a mass (KGM or TNE) is a problem: the document is refused whole, so a
/// mass balance never rests on half a document. Events are idempotent by eventID (or the hash of the event when it
/// has none).
/// <para>Ownership: events only at the caller's plants; a lot the import creates is owned by the caller's
/// organisation; an existing lot is changed (kg, in-edges, its record) only when that organisation created it by
/// import, never when telemetry recorded it or another organisation owns it; an existing lot is used as an input only
/// when it is the caller's (its own import, or a lot at one of its plants). A conflicting event refuses the whole
/// document with PERMISSION_DENIED naming the lot. A document is at most <see cref="MaxEvents"/> events, checked
/// before the (costly) schema validation, and imports run one at a time per host (one that waits longer than
/// <see cref="MaxQueueWait"/> for its turn is refused as busy).</para>
/// </summary>
public sealed class EpcisImporter(NpgsqlDataSource dataSource, EpcisSchemaValidator schema, IOptions<TraceabilityOptions> options)
{
    public const int MaxEvents = 500;

    /// <summary>How long an import waits for the one before it; then RESOURCE_EXHAUSTED-like refusal (retry later).</summary>
    public static readonly TimeSpan MaxQueueWait = TimeSpan.FromSeconds(30);
    private readonly EpcisIds _ids = new(options.Value.EpcisIdBase);
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    public async Task<EpcisImportResult> ImportAsync(CallerScope caller, string json, CancellationToken cancellationToken)
    {
        if (!caller.MayWrite)
        {
            throw new ScopeDeniedException("A regulator reads the chain; it does not import into it.");
        }

        if (!await _oneAtATime.WaitAsync(MaxQueueWait, cancellationToken))
        {
            throw new TraceBusyException($"Other imports have held this host for {MaxQueueWait.TotalSeconds:0} s; retry shortly.");
        }

        try
        {
            return await ImportOneAsync(caller, json, cancellationToken);
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    private async Task<EpcisImportResult> ImportOneAsync(CallerScope caller, string json, CancellationToken cancellationToken)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException exception)
        {
            throw new InvalidTraceRequestException("The document is not JSON.", [$"/: not JSON ({exception.Message})"]);
        }

        using (document)
        {
            var root = document.RootElement;
            if (CountEvents(root) > MaxEvents)
            {
                throw new InvalidTraceRequestException($"The document holds more than {MaxEvents} events; send it in parts.");
            }

            var problems = schema.Validate(root);
            if (problems.Count > 0)
            {
                throw new InvalidTraceRequestException($"The document does not validate against the EPCIS 2.0 schema ({problems.Count} problems).", problems);
            }

            if (root.GetProperty("type").GetString() != "EPCISDocument")
            {
                throw new InvalidTraceRequestException("Only an EPCISDocument is imported.",
                    [$"/type: '{root.GetProperty("type").GetString()}' is valid EPCIS but not an EPCISDocument with events to import"]);
            }

            var plan = Plan(root.GetProperty("epcisBody").GetProperty("eventList"), caller);
            if (plan.Problems.Count > 0)
            {
                throw new InvalidTraceRequestException($"The document has {plan.Problems.Count} problems for the milk chain.", plan.Problems);
            }

            return await PostgresRetry.RunAsync(ct => WriteAsync(plan, caller, ct), cancellationToken);
        }
    }

    private sealed class ImportPlan
    {
        public List<string> Problems { get; } = [];
        public List<string> Ignored { get; } = [];
        public List<(string EventId, string Type, string? BizStep, string? Disposition, DateTimeOffset Time, ChainWrite? Write)> Events { get; } = [];
        public int Count { get; set; }
    }

    private ImportPlan Plan(JsonElement eventList, CallerScope caller)
    {
        var plan = new ImportPlan();
        var index = 0;
        foreach (var e in eventList.EnumerateArray())
        {
            var at = $"/epcisBody/eventList/{index++}";
            plan.Count++;
            var type = e.GetProperty("type").GetString()!;
            var eventId = e.TryGetProperty("eventID", out var id) ? id.GetString()! : DerivedEventId(e);
            var time = DateTimeOffset.Parse(e.GetProperty("eventTime").GetString()!, CultureInfo.InvariantCulture);
            var bizStep = Vocabulary(e, "bizStep", "BizStep-", "bizstep:");
            var disposition = Vocabulary(e, "disposition", "Disp-", "disp:");
            ChainWrite? write = null;
            if (e.TryGetProperty("errorDeclaration", out _))
            {
                plan.Ignored.Add($"{at} ({eventId}): an error declaration; the corrected event must be sent itself");
            }
            else if (type == "ObjectEvent" && bizStep is "loading" or "receiving" && !e.TryGetProperty("quantityList", out _))
            {
                // Instance-level EPCs (cases, pallets) are not milk in kg: nothing for the chain, nothing wrong either.
                plan.Ignored.Add($"{at} ({eventId}): {bizStep} of items (epcList), not of milk in kg");
            }
            else if (type == "ObjectEvent" && bizStep is "loading")
            {
                write = Loading(e, at, time, caller, plan.Problems);
            }
            else if (type == "ObjectEvent" && bizStep is "receiving")
            {
                write = Receiving(e, at, time, disposition, caller, plan.Problems);
            }
            else if (type == "TransformationEvent" && (e.TryGetProperty("inputQuantityList", out _) || e.TryGetProperty("outputQuantityList", out _)))
            {
                write = Transformation(e, at, time, caller, plan.Problems);
            }
            else if (type == "ObjectEvent" && (bizStep is "sampling" or "holding" || disposition is "recalled") && e.TryGetProperty("quantityList", out var held))
            {
                write = new ChainWrite { ImportedBy = caller.OrganisationId };
                foreach (var q in held.EnumerateArray())
                {
                    var lot = LotOf(q.GetProperty("epcClass").GetString()!, LotKinds.Product);
                    write.LotEvents.Add((lot, eventId, bizStep, disposition, time));
                }
            }
            else
            {
                plan.Ignored.Add($"{at} ({eventId}): {type}{(bizStep is null ? "" : " " + bizStep)} carries no milk-chain movement in kg");
            }

            plan.Events.Add((eventId, type, bizStep, disposition, time, write));
        }

        return plan;
    }

    private ChainWrite? Loading(JsonElement e, string at, DateTimeOffset time, CallerScope caller, List<string> problems)
    {
        var load = BillOfLading(e);
        if (load is null)
        {
            problems.Add($"{at}: a loading event needs a bizTransactionList entry of type bol naming the tanker load");
            return null;
        }

        var place = Place(e);
        var temperature = Temperature(e);
        var write = new ChainWrite { ImportedBy = caller.OrganisationId };
        foreach (var (epcClass, kg) in Masses(e, "quantityList", at, problems))
        {
            var lot = LotOf(epcClass, LotKinds.BulkTank);
            write.Lots.Add(new LotNode { Kind = lot.Kind, LotId = lot.Id, PastureId = place, Kg = kg, At = time, TemperatureC = temperature, Source = "epcis" });
            write.Edges.Add(new EdgeWrite(lot, new LotRef(LotKinds.TankerLoad, load), kg, time, temperature));
        }

        return write;
    }

    private ChainWrite? Receiving(JsonElement e, string at, DateTimeOffset time, string? disposition, CallerScope caller, List<string> problems)
    {
        var plant = Place(e);
        if (plant is null)
        {
            problems.Add($"{at}: a receiving event needs the plant as bizLocation");
            return null;
        }

        if (!caller.SeesPlant(plant))
        {
            throw new ScopeDeniedException($"{at}: receiving at '{plant}', which is not one of your plants.");
        }

        var masses = Masses(e, "quantityList", at, problems);
        var load = BillOfLading(e) ?? (masses.Count == 1 ? _ids.ParseTankerLoad(LotOf(masses[0].EpcClass, LotKinds.TankerLoad).Id) : null);
        if (load is null || masses.Count != 1)
        {
            problems.Add($"{at}: a receiving event needs exactly one mass quantity and the tanker load as a bol business transaction");
            return null;
        }

        var temperature = Temperature(e);
        var write = new ChainWrite { ImportedBy = caller.OrganisationId };
        var receipt = new LotNode
        {
            Kind = LotKinds.Receipt, LotId = load, PlantId = plant, Kg = masses[0].Kg, TemperatureC = temperature, At = time,
            Accepted = disposition != "non_conformant", Source = "epcis",
        };
        write.Lots.Add(receipt);
        write.Edges.Add(new EdgeWrite(new LotRef(LotKinds.TankerLoad, load), receipt.Ref, masses[0].Kg, time, temperature));
        return write;
    }

    private ChainWrite? Transformation(JsonElement e, string at, DateTimeOffset time, CallerScope caller, List<string> problems)
    {
        var inputs = Masses(e, "inputQuantityList", at, problems);
        var outputs = Masses(e, "outputQuantityList", at, problems);
        if (inputs.Count == 0 || outputs.Count == 0)
        {
            problems.Add($"{at}: a transformation needs inputQuantityList and outputQuantityList in kg");
            return null;
        }

        var plant = Place(e);
        if (plant is not null && !caller.SeesPlant(plant) || plant is null && !caller.SeesAll)
        {
            throw new ScopeDeniedException($"{at}: a transformation at '{plant ?? "(no bizLocation)"}', which is not one of your plants.");
        }

        // Inputs of the platform's own receipts make silo batches; anything else makes product lots.
        var inputLots = new List<LotRef>();
        var fromReceipts = false;
        foreach (var (epcClass, _) in inputs)
        {
            var lot = LotOf(epcClass, LotKinds.SiloBatch);
            fromReceipts |= lot.Kind is LotKinds.Receipt or LotKinds.TankerLoad;
            inputLots.Add(lot);
        }

        var write = new ChainWrite { ImportedBy = caller.OrganisationId };
        double outputTotal = 0;
        foreach (var (_, kg) in outputs)
        {
            outputTotal += kg;
        }

        foreach (var (epcClass, kg) in outputs)
        {
            var lot = LotOf(epcClass, fromReceipts ? LotKinds.SiloBatch : LotKinds.Product);
            write.Lots.Add(new LotNode { Kind = lot.Kind, LotId = lot.Id, PlantId = plant, Kg = lot.Kind == LotKinds.SiloBatch ? null : kg, At = time, Source = "epcis" });
            for (var i = 0; i < inputs.Count; i++)
            {
                // With several outputs, each input is shared in proportion to the outputs' mass.
                write.Edges.Add(new EdgeWrite(inputLots[i], lot, outputTotal > 0 ? inputs[i].Kg * kg / outputTotal : 0, time, null));
            }
        }

        return write;
    }

    private static int CountEvents(JsonElement root) =>
        root.ValueKind == JsonValueKind.Object && root.TryGetProperty("epcisBody", out var body) && body.ValueKind == JsonValueKind.Object
        && body.TryGetProperty("eventList", out var list) && list.ValueKind == JsonValueKind.Array ? list.GetArrayLength() : 0;

    private async Task<EpcisImportResult> WriteAsync(ImportPlan plan, CallerScope caller, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        int imported = 0, duplicates = 0, lots = 0, edges = 0;
        foreach (var (eventId, type, bizStep, disposition, time, write) in plan.Events)
        {
            var inserted = await connection.ExecuteAsync(new CommandDefinition(
                """
                insert into epcis_event (event_id, event_type, biz_step, disposition, event_time)
                values (@eventId, @type, @bizStep, @disposition, @time) on conflict do nothing
                """, new { eventId, type, bizStep, disposition, time = time.ToUniversalTime() }, transaction, cancellationToken: ct));
            if (inserted == 0)
            {
                duplicates++;
                continue;
            }

            if (write is not null)
            {
                var refused = await OwnershipProblemsAsync(connection, transaction, caller, eventId, write, ct);
                if (refused.Count > 0)
                {
                    throw new ScopeDeniedException($"The document changes lots that are not yours: {string.Join("; ", refused.Take(5))}" +
                        (refused.Count > 5 ? $" (and {refused.Count - 5} more)" : "") + ". Nothing was imported.");
                }

                await ChainStore.WriteAsync(connection, transaction, write, ct);
                imported++;
                lots += write.Lots.Count;
                edges += write.Edges.Count;
            }
        }

        await transaction.CommitAsync(ct);
        return new EpcisImportResult(plan.Count, imported, duplicates, plan.Ignored, lots, edges);
    }

    /// <summary>
    /// What in one event's write crosses an owner: an existing lot changed (upserted, given an in-edge) that telemetry
    /// recorded or another organisation created; an existing lot used as an input or annotated that is not the
    /// caller's; a new bulk-tank lot at a pasture registered on the platform (its lots come from its own telemetry).
    /// </summary>
    private static async Task<List<string>> OwnershipProblemsAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, CallerScope caller, string eventId, ChainWrite write, CancellationToken ct)
    {
        var changed = new HashSet<LotRef>();
        foreach (var lot in write.Lots)
        {
            changed.Add(lot.Ref);
        }

        foreach (var edge in write.Edges)
        {
            changed.Add(edge.Child);
        }

        var used = new HashSet<LotRef>();
        foreach (var edge in write.Edges)
        {
            if (!changed.Contains(edge.Parent))
            {
                used.Add(edge.Parent);
            }
        }

        foreach (var (lot, _, _, _, _) in write.LotEvents)
        {
            if (!changed.Contains(lot))
            {
                used.Add(lot);
            }
        }

        var refs = changed.Concat(used).ToArray();
        var rows = await connection.QueryAsync<(long Key, string Kind, string LotId, string Source, string? Owner, string? PlantId, double? Kg, bool? Accepted)>(new CommandDefinition(
            """
            select id, kind, lot_id, source, owner_organisation, plant_id, kg, accepted from trace_lot
            where (kind, lot_id) in (select * from unnest(@kinds::text[], @ids::text[]))
            """, new { kinds = refs.Select(r => r.Kind).ToArray(), ids = refs.Select(r => r.Id).ToArray() }, transaction, cancellationToken: ct));
        var problems = new List<string>();
        var existing = new HashSet<LotRef>();
        foreach (var row in rows)
        {
            var lot = new LotRef(row.Kind, row.LotId);
            existing.Add(lot);
            var name = $"{row.Kind} lot '{TextLimits.Shorten(row.LotId, 80)}' (event {TextLimits.Shorten(eventId, 80)})";
            if (changed.Contains(lot))
            {
                if ((row.Source == "telemetry" || row.Owner != caller.OrganisationId)
                    && await RestatesAsync(connection, transaction, write, lot, row.Key, row.Kg, row.Accepted, ct))
                {
                    // The event says again what the lot already holds (an exported document imported back): the lot
                    // is left as it is, nothing of it is written.
                    write.Lots.RemoveAll(l => l.Ref == lot);
                }
                else if (row.Source == "telemetry")
                {
                    problems.Add($"{name} was recorded by telemetry; an import does not change it");
                }
                else if (row.Owner != caller.OrganisationId)
                {
                    problems.Add($"{name} belongs to another organisation");
                }
            }
            else if (!(row.Owner == caller.OrganisationId
                       || (LotKinds.IsPlantSide(row.Kind) && caller.SeesPlant(row.PlantId))
                       || (row.Kind == LotKinds.TankerLoad && row.Source == "telemetry")))
            {
                problems.Add($"{name} is not yours to use");
            }
        }

        var newPastures = write.Lots.Where(l => l.Kind == LotKinds.BulkTank && l.PastureId is not null && !existing.Contains(l.Ref))
            .Select(l => l.PastureId!).Distinct().ToArray();
        if (newPastures.Length > 0)
        {
            var registered = await connection.QueryAsync<string>(new CommandDefinition(
                "select id from pasture where id = any(@newPastures)", new { newPastures }, transaction, cancellationToken: ct));
            foreach (var pasture in registered)
            {
                problems.Add($"a bulk-tank lot at pasture '{TextLimits.Shorten(pasture, 80)}' (event {TextLimits.Shorten(eventId, 80)}): that pasture reports its own lots by telemetry");
            }
        }

        return problems;
    }

    /// <summary>Whether the write says of an existing lot only what it holds: the same kg and verdict, and only in-edges it already has.</summary>
    private static async Task<bool> RestatesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ChainWrite write, LotRef lot, long key,
        double? kg, bool? accepted, CancellationToken ct)
    {
        foreach (var node in write.Lots)
        {
            if (node.Ref == lot && !(Same(node.Kg, kg) && (node.Accepted is null || node.Accepted == accepted)))
            {
                return false;
            }
        }

        var incoming = write.Edges.Where(e => e.Child == lot).ToList();
        if (incoming.Count == 0)
        {
            return true;
        }

        var existing = (await connection.QueryAsync<(string Kind, string LotId, double Kg)>(new CommandDefinition(
            "select p.kind, p.lot_id, e.kg from trace_edge e join trace_lot p on p.id = e.parent where e.child = @key",
            new { key }, transaction, cancellationToken: ct))).ToList();
        return incoming.All(e => existing.Any(x => x.Kind == e.Parent.Kind && x.LotId == e.Parent.Id && Math.Abs(x.Kg - e.Kg) < 1e-6));

        static bool Same(double? given, double? stored) => given is not { } value || (stored is { } old && Math.Abs(old - value) < 1e-6);
    }


    private LotRef LotOf(string epcClass, string kindIfForeign) => _ids.ParseLot(epcClass) ?? new LotRef(kindIfForeign, epcClass);

    private static List<(string EpcClass, double Kg)> Masses(JsonElement e, string list, string at, List<string> problems)
    {
        var masses = new List<(string, double)>();
        if (!e.TryGetProperty(list, out var quantities))
        {
            return masses;
        }

        var i = 0;
        foreach (var q in quantities.EnumerateArray())
        {
            var epcClass = q.GetProperty("epcClass").GetString()!;
            var where = $"{at}/{list}/{i++}";
            var uom = q.TryGetProperty("uom", out var u) ? u.GetString() : null;
            var factor = uom switch { "KGM" => 1.0, "TNE" => 1000.0, _ => 0.0 };
            if (epcClass.StartsWith("urn:epc:idpat:", StringComparison.Ordinal))
            {
                problems.Add($"{where}: '{epcClass}' is a pattern, not a lot");
            }
            else if (!q.TryGetProperty("quantity", out var quantity))
            {
                problems.Add($"{where}: '{epcClass}' has no quantity; the chain needs its mass in KGM");
            }
            else if (factor == 0)
            {
                problems.Add($"{where}: '{epcClass}' is measured in {uom ?? "items (no uom)"}; the chain needs a mass (KGM or TNE)");
            }
            else if (quantity.GetDouble() is var value && !(value > 0))
            {
                problems.Add($"{where}: '{epcClass}' quantity must be positive");
            }
            else
            {
                masses.Add((epcClass, quantity.GetDouble() * factor));
            }
        }

        return masses;
    }

    private string? BillOfLading(JsonElement e)
    {
        if (!e.TryGetProperty("bizTransactionList", out var list))
        {
            return null;
        }

        foreach (var transaction in list.EnumerateArray())
        {
            var type = transaction.TryGetProperty("type", out var t) ? t.GetString() : null;
            if (type is "bol" or "https://ref.gs1.org/cbv/BTT-bol" or "urn:epcglobal:cbv:btt:bol")
            {
                return _ids.ParseTankerLoad(transaction.GetProperty("bizTransaction").GetString()!);
            }
        }

        return null;
    }

    private string? Place(JsonElement e) =>
        e.TryGetProperty("bizLocation", out var location) ? _ids.ParsePlace(location.GetProperty("id").GetString()!)
        : e.TryGetProperty("readPoint", out var point) ? _ids.ParsePlace(point.GetProperty("id").GetString()!)
        : null;

    /// <summary>The first temperature sensor report, in °C (CEL, or FAH converted).</summary>
    public static double? Temperature(JsonElement e)
    {
        if (!e.TryGetProperty("sensorElementList", out var elements))
        {
            return null;
        }

        foreach (var element in elements.EnumerateArray())
        {
            foreach (var report in element.GetProperty("sensorReport").EnumerateArray())
            {
                if (report.GetProperty("type").GetString() is "Temperature" or "gs1:Temperature" && report.TryGetProperty("value", out var value))
                {
                    var uom = report.TryGetProperty("uom", out var u) ? u.GetString() : "CEL";
                    return uom == "FAH" ? (value.GetDouble() - 32) * 5 / 9 : value.GetDouble();
                }
            }
        }

        return null;
    }

    private static string? Vocabulary(JsonElement e, string name, string webPrefix, string urnPrefix)
    {
        if (!e.TryGetProperty(name, out var value) || value.GetString() is not { } text)
        {
            return null;
        }

        var web = text.IndexOf(webPrefix, StringComparison.Ordinal);
        if (web >= 0)
        {
            return text[(web + webPrefix.Length)..];
        }

        var urn = text.IndexOf(urnPrefix, StringComparison.Ordinal);
        return urn >= 0 ? text[(urn + urnPrefix.Length)..] : text;
    }

    /// <summary>An event without an eventID is known by the hash of its JSON text (EPCIS 2.0 section 8.9 does it canonically).</summary>
    private static string DerivedEventId(JsonElement e) =>
        "ni:///sha-256;" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(e.GetRawText()))) + "?ver=CBV2.0";
}
