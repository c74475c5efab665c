using HohhotCluster.Telemetry.Contracts;
using System.Globalization;
using System.Text.Json;
using Dapper;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.Traceability;

public sealed record EpcisImportResult(int Events, int Imported, int Duplicates, IReadOnlyList<string> Ignored, int Lots, int Edges)
{
    /// <summary>Earlier events an errorDeclaration in this document retracted.</summary>
    public int Retracted { get; init; }

    /// <summary>What the importer should know beyond the events: corrective events a declaration names that are not held yet.</summary>
    public IReadOnlyList<string> Notes { get; init; } = [];
}

/// <summary>An event's errorDeclaration: which event it retracts (by id, or by content hash), why, and what corrects it.</summary>
public sealed record Retraction(string? DeclaredEventId, string ContentHash, string? Reason, IReadOnlyList<string> CorrectiveEventIds);

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
/// mass balance never rests on half a document. Events are idempotent by eventID (or, when it has none, its CBV 2.0
/// event hash, <see cref="EpcisEventHash"/>).
/// <para>An event carrying an <c>errorDeclaration</c> retracts the event it declares in error, found by its eventID
/// or by its content hash (the declaration is the original event with the declaration added, so the hashes agree):
/// the edges that event made and the lots it created are removed (a lot still used by other events stays, its kg
/// left out), its sampling / holding / recall marks go, tanker loads and silo batches are summed again, and the
/// retraction (time, reason, corrective event ids) is kept on the event. Only the organisation that imported an event
/// may retract it. A declaration of an event not held here is recorded, so that event is refused as a duplicate if it
/// comes later.</para>
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
    private readonly EpcisIds _ids = new(options.Value.EpcisIdBase, options.Value.Gs1Places);
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

            var plan = Plan(root.GetProperty("epcisBody").GetProperty("eventList"), caller, EpcisEventHash.Prefixes(root));
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
        public List<(string EventId, string Type, string? BizStep, string? Disposition, DateTimeOffset Time, ChainWrite? Write, string Hash, Retraction? Retraction)> Events { get; } = [];
        public int Count { get; set; }
    }

    private ImportPlan Plan(JsonElement eventList, CallerScope caller, IReadOnlyDictionary<string, string> prefixes)
    {
        var plan = new ImportPlan();
        var index = 0;
        foreach (var e in eventList.EnumerateArray())
        {
            var at = $"/epcisBody/eventList/{index++}";
            plan.Count++;
            var type = e.GetProperty("type").GetString()!;
            var hash = EpcisEventHash.Of(e, prefixes);
            var eventId = e.TryGetProperty("eventID", out var id) ? id.GetString()! : hash;
            var time = DateTimeOffset.Parse(e.GetProperty("eventTime").GetString()!, CultureInfo.InvariantCulture);
            var bizStep = Vocabulary(e, "bizStep", "BizStep-", "bizstep:");
            var disposition = Vocabulary(e, "disposition", "Disp-", "disp:");
            ChainWrite? write = null;
            Retraction? retraction = null;
            if (e.TryGetProperty("errorDeclaration", out var declaration))
            {
                var corrective = new List<string>();
                if (declaration.TryGetProperty("correctiveEventIDs", out var ids) && ids.ValueKind == JsonValueKind.Array)
                {
                    corrective.AddRange(ids.EnumerateArray().Where(c => c.ValueKind == JsonValueKind.String).Select(c => c.GetString()!));
                }

                retraction = new Retraction(id.ValueKind == JsonValueKind.String ? id.GetString() : null, hash,
                    declaration.TryGetProperty("reason", out var reason) && reason.ValueKind == JsonValueKind.String ? reason.GetString() : null, corrective);
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

            if (write is not null)
            {
                write.EpcisEventId = eventId;
            }

            plan.Events.Add((eventId, type, bizStep, disposition, time, write, hash, retraction));
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
        int imported = 0, duplicates = 0, lots = 0, edges = 0, retracted = 0;
        var ignored = new List<string>(plan.Ignored);
        var notes = new List<string>();
        var inDocument = plan.Events.Select(x => x.EventId).ToHashSet(StringComparer.Ordinal);
        var index = 0;
        foreach (var (eventId, type, bizStep, disposition, time, write, hash, retraction) in plan.Events)
        {
            var at = $"/epcisBody/eventList/{index++}";
            if (retraction is not null)
            {
                switch (await RetractAsync(connection, transaction, caller, at, eventId, type, bizStep, disposition, time, retraction, ct))
                {
                    case RetractOutcome.Retracted:
                        retracted++;
                        imported++;
                        foreach (var corrective in retraction.CorrectiveEventIds)
                        {
                            if (!inDocument.Contains(corrective) && !await EventHeldAsync(connection, transaction, corrective, ct))
                            {
                                notes.Add($"{at} ({eventId}): corrective event {TextLimits.Shorten(corrective, 80)} is not held yet; send it to put the corrected kg in the chain");
                            }
                        }

                        break;
                    case RetractOutcome.RetractedNothing:
                        retracted++;
                        ignored.Add($"{at} ({eventId}): an error declaration of an event that had put nothing into the chain; recorded as retracted");
                        break;
                    case RetractOutcome.AlreadyRetracted:
                        duplicates++;
                        break;
                    default:
                        ignored.Add($"{at} ({eventId}): an error declaration of an event this platform does not hold; recorded, so that event is not imported later");
                        break;
                }

                continue;
            }

            var inserted = await connection.ExecuteAsync(new CommandDefinition(
                """
                insert into epcis_event (event_id, event_type, biz_step, disposition, event_time, content_hash, organisation)
                values (@eventId, @type, @bizStep, @disposition, @time, @hash, @organisation) on conflict do nothing
                """, new { eventId, type, bizStep, disposition, time = time.ToUniversalTime(), hash, organisation = caller.OrganisationId },
                transaction, cancellationToken: ct));
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
        return new EpcisImportResult(plan.Count, imported, duplicates, ignored, lots, edges) { Retracted = retracted, Notes = notes };
    }

    private enum RetractOutcome
    {
        Retracted,
        RetractedNothing,
        AlreadyRetracted,
        NotHeld,
    }

    private static async Task<bool> EventHeldAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string eventId, CancellationToken ct) =>
        await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "select exists (select 1 from epcis_event where event_id = @eventId and retracted_at is null)", new { eventId }, transaction, cancellationToken: ct));

    /// <summary>
    /// Retracts the event an errorDeclaration names (by eventID, else by content hash): removes the edges it made, its
    /// lot marks and the lots it created that nothing else uses; a created lot still used elsewhere keeps its place
    /// but loses the kg the event gave it. Tanker loads and silo batches it fed are summed again.
    /// </summary>
    private static async Task<RetractOutcome> RetractAsync(
        NpgsqlConnection connection, NpgsqlTransaction transaction, CallerScope caller, string at, string eventId, string type, string? bizStep,
        string? disposition, DateTimeOffset time, Retraction retraction, CancellationToken ct)
    {
        var target = await connection.QueryFirstOrDefaultAsync<(string EventId, string? Organisation, DateTime? RetractedAt)>(new CommandDefinition(
            """
            select event_id, organisation, retracted_at from epcis_event
            where event_id = @declared or content_hash = @hash
            order by (event_id = @declared) desc nulls last, event_time limit 1
            """, new { declared = retraction.DeclaredEventId, hash = retraction.ContentHash }, transaction, cancellationToken: ct));
        var reason = retraction.Reason ?? "error declared";
        var corrective = retraction.CorrectiveEventIds.ToArray();
        if (target.EventId is null)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                insert into epcis_event (event_id, event_type, biz_step, disposition, event_time, content_hash, organisation, retracted_at, retraction_reason, corrective_event_ids)
                values (@eventId, @type, @bizStep, @disposition, @time, @hash, @organisation, now(), @reason, @corrective) on conflict do nothing
                """, new { eventId, type, bizStep, disposition, time = time.ToUniversalTime(), hash = retraction.ContentHash, organisation = caller.OrganisationId, reason, corrective },
                transaction, cancellationToken: ct));
            return RetractOutcome.NotHeld;
        }

        if (target.RetractedAt is not null)
        {
            return RetractOutcome.AlreadyRetracted;
        }

        if (target.Organisation != caller.OrganisationId && caller.Role != CallerRole.Operator)
        {
            throw new ScopeDeniedException($"{at}: event {TextLimits.Shorten(target.EventId, 80)} was imported by another organisation; only it may declare it in error. Nothing was imported.");
        }

        // One statement at a time: a data-modifying CTE's other parts would still see the deleted edges.
        var children = (await connection.QueryAsync<long>(new CommandDefinition(
            "delete from trace_edge where epcis_event_id = @id returning child", new { id = target.EventId }, transaction, cancellationToken: ct))).Distinct().ToArray();
        await ChainLineage.RefreshAsync(connection, transaction, children, ct);
        var marks = await connection.ExecuteAsync(new CommandDefinition(
            "delete from trace_lot_event where event_id = @id", new { id = target.EventId }, transaction, cancellationToken: ct));
        await connection.ExecuteAsync(new CommandDefinition(
            """
            update trace_lot t set kg = (select sum(e.kg) from trace_edge e where e.child = t.id)
            where t.id = any(@children) and t.kind in ('tanker_load', 'silo_batch')
            """, new { children }, transaction, cancellationToken: ct));
        var lots = await connection.ExecuteAsync(new CommandDefinition(
            """
            delete from trace_lot l
            where l.epcis_event_id = @id
              and not exists (select 1 from trace_edge e where e.child = l.id)
              and not exists (select 1 from trace_edge e where e.parent = l.id)
              and not exists (select 1 from trace_lot_event v where v.lot = l.id)
            """, new { id = target.EventId }, transaction, cancellationToken: ct));
        lots += await connection.ExecuteAsync(new CommandDefinition(
            """
            update trace_lot set details = details || jsonb_build_object('retractedEvent', @id::text), kg = null
            where epcis_event_id = @id and kind not in ('tanker_load', 'silo_batch')
            """, new { id = target.EventId }, transaction, cancellationToken: ct));
        await connection.ExecuteAsync(new CommandDefinition(
            "update epcis_event set retracted_at = now(), retraction_reason = @reason, corrective_event_ids = @corrective where event_id = @id",
            new { id = target.EventId, reason, corrective }, transaction, cancellationToken: ct));
        return children.Length + marks + lots > 0 ? RetractOutcome.Retracted : RetractOutcome.RetractedNothing;
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

}
