using System.Globalization;
using System.Text;
using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Traceability;

/// <summary>
/// Writes a part of the chain as an EPCIS 2.0 JSON-LD document: loading (bulk-tank lot into tanker load, ObjectEvent),
/// receiving (tanker load at the plant, conformant or non_conformant), transformation (receipts into a silo batch,
/// silo batches into a product lot), sampling (each quality check), holding (each failing check's lot, and each product
/// lot downstream of it, disposition <c>non_sellable_other</c>) and recall (disposition <c>recalled</c>, only for a
/// declared recall: one recorded by <see cref="ChainQueries.DeclareRecallAsync"/> or imported), plus the sampling,
/// holding and recall events imported for these lots. Quantities in KGM, temperatures as sensor reports in CEL, every
/// time at +08:00; each event's id is its CBV 2.0 event hash (<see cref="EpcisEventHash"/>), so an export imported
/// twice is recognised and a corrected event (another kg) has another id. Places and lots use GS1 keys where
/// <see cref="TraceabilityOptions.Gs1Places"/> has them (<see cref="EpcisIds"/>); product lots carry their GTIN and
/// best-before date in <c>ilmd</c> when the plant gave them. A receiving event carries the load's road as sensor data
/// after the arrival temperature: one sensor element per <c>tanker_log</c> reading on the route (the logger as its
/// deviceID; a Temperature report in CEL per compartment, <c>hohhot:compartment</c> naming it; latitude and longitude
/// as Angle in DD, WGS 84 being EPCIS's default reference system; Speed in KMH when given).
/// </summary>
public sealed class EpcisExporter(ChainQueries queries, Tanker.TankerLogStore tankerLogs, TimeProvider clock, IOptions<TraceabilityOptions> options)
{
    public const int MaxWindowLots = 200_000;
    private const string Context = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";
    private readonly EpcisIds _ids = new(options.Value.EpcisIdBase, options.Value.Gs1Places);
    private Dictionary<LotRef, LotNode> _byRef = [];
    private IReadOnlyDictionary<string, Tanker.TankerRoad> _roads = new Dictionary<string, Tanker.TankerRoad>();

    public async Task<(string Json, int Events)> ExportLotAsync(CallerScope caller, LotRef lot, CancellationToken cancellationToken) =>
        await WithRoadsAsync(await queries.HistoryAsync(caller, lot, cancellationToken), cancellationToken);

    public async Task<(string Json, int Events)> ExportWindowAsync(CallerScope caller, DateTimeOffset from, DateTimeOffset to, CancellationToken cancellationToken) =>
        await WithRoadsAsync(await queries.WindowAsync(caller, from, to, MaxWindowLots, cancellationToken), cancellationToken);

    private async Task<(string Json, int Events)> WithRoadsAsync(ChainGraph graph, CancellationToken cancellationToken)
    {
        var loads = new List<string>();
        foreach (var lot in graph.Lots.Values)
        {
            if (lot is { Kind: LotKinds.TankerLoad })
            {
                loads.Add(lot.LotId);
            }
        }

        return Write(graph, loads.Count == 0 ? null : await tankerLogs.RoadsAsync(loads, cancellationToken));
    }

    /// <summary>The document of a graph; <paramref name="roads"/> (by tanker load id) adds each load's road to its receiving event.</summary>
    public (string Json, int Events) Write(ChainGraph graph, IReadOnlyDictionary<string, Tanker.TankerRoad>? roads = null)
    {
        _byRef = [];
        _roads = roads ?? new Dictionary<string, Tanker.TankerRoad>();
        foreach (var lot in graph.Lots.Values)
        {
            if (lot is not null)
            {
                _byRef[lot.Ref] = lot;
            }
        }

        var events = new List<(DateTimeOffset Time, Action<Utf8JsonWriter> Body)>();
        var intoLot = new Dictionary<long, List<ChainEdge>>();
        foreach (var edge in graph.Edges)
        {
            if (!graph.Lots.TryGetValue(edge.Parent, out var parent) || !graph.Lots.TryGetValue(edge.Child, out var child) || parent is null || child is null)
            {
                continue;
            }

            if (child.Kind == LotKinds.TankerLoad)
            {
                var time = edge.At ?? child.At ?? parent.At;
                if (time is { } t)
                {
                    events.Add((t, w => Loading(w, parent, child, edge, t)));
                }
            }
            else if (child.Kind == LotKinds.Receipt && parent.Kind == LotKinds.TankerLoad)
            {
                if ((edge.At ?? child.At) is { } t)
                {
                    events.Add((t, w => Receiving(w, parent, child, edge, t)));
                }
            }
            else
            {
                (intoLot.TryGetValue(edge.Child, out var list) ? list : intoLot[edge.Child] = []).Add(edge);
            }
        }

        foreach (var (key, inputs) in intoLot)
        {
            var output = graph.Lots[key];
            var time = output.At ?? inputs[0].At;
            if (time is { } t)
            {
                events.Add((t, w => Transformation(w, graph, output, inputs, t)));
            }
        }

        var failing = new HashSet<LotRef>();
        foreach (var check in graph.QualityChecks)
        {
            var lot = new LotRef(check.LotKind, check.LotId);
            events.Add((check.SampledAt, w => Observation(w, lot, "sampling",
                check.Failed ? "non_conformant" : "conformant", check.SampledAt, check)));
            if (check.Failed)
            {
                failing.Add(lot);
                events.Add((check.SampledAt, w => Observation(w, lot, "holding", "non_sellable_other", check.SampledAt, check)));
            }
        }

        // A failing check holds the product lots its milk reached; only a declared recall (a lot event) says recalled.
        foreach (var product in HeldProducts(graph, failing))
        {
            if (failing.Contains(product.Ref))
            {
                continue;
            }

            var time = product.At ?? clock.GetUtcNow();
            events.Add((time, w => Observation(w, product.Ref, "holding", "non_sellable_other", time, null)));
        }

        foreach (var (lotKey, eventId, bizStep, disposition, at) in graph.LotEvents)
        {
            var lot = graph.Lots[lotKey].Ref;
            events.Add((at, w => Observation(w, lot, bizStep ?? "holding", disposition, at, null)));
        }

        // Each event's content is written first; its id is the CBV 2.0 hash of that content.
        // The prefixes an importer reads from the document written below: the official context's and hohhot.
        var prefixes = EpcisEventHash.Prefixes(default);
        prefixes["hohhot"] = _ids.Base + "voc/";
        var hashed = new List<(DateTimeOffset Time, string Body)>(events.Count);
        foreach (var (time, body) in events)
        {
            using var one = new MemoryStream();
            using (var bw = new Utf8JsonWriter(one))
            {
                bw.WriteStartObject();
                body(bw);
                bw.WriteEndObject();
            }

            hashed.Add((time, Encoding.UTF8.GetString(one.ToArray())));
        }

        hashed.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : string.CompareOrdinal(a.Body, b.Body));
        var count = 0;
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartArray("@context");
            w.WriteStringValue(Context);
            w.WriteStartObject();
            w.WriteString("hohhot", _ids.Base + "voc/");
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteString("type", "EPCISDocument");
            w.WriteString("schemaVersion", "2.0");
            w.WriteString("creationDate", Time(clock.GetUtcNow()));
            w.WriteStartObject("epcisBody");
            w.WriteStartArray("eventList");
            var written = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (_, body) in hashed)
            {
                using var content = JsonDocument.Parse(body);
                var id = EpcisEventHash.Of(content.RootElement, prefixes);
                if (!written.Add(id))
                {
                    continue;
                }

                w.WriteStartObject();
                w.WriteString("eventID", id);
                foreach (var property in content.RootElement.EnumerateObject())
                {
                    property.WriteTo(w);
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }

        using (var written = JsonDocument.Parse(buffer.ToArray()))
        {
            count = written.RootElement.GetProperty("epcisBody").GetProperty("eventList").GetArrayLength();
        }

        return (Encoding.UTF8.GetString(buffer.ToArray()), count);
    }

    /// <summary>Product lots in the graph that a failing lot's milk reached.</summary>
    private static List<LotNode> HeldProducts(ChainGraph graph, HashSet<LotRef> failing)
    {
        var tainted = new HashSet<long>();
        foreach (var (key, lot) in graph.Lots)
        {
            if (lot is not null && failing.Contains(lot.Ref))
            {
                tainted.Add(key);
            }
        }

        for (var changed = tainted.Count > 0; changed;)
        {
            changed = false;
            foreach (var edge in graph.Edges)
            {
                changed |= tainted.Contains(edge.Parent) && tainted.Add(edge.Child);
            }
        }

        var products = new List<LotNode>();
        foreach (var key in tainted)
        {
            if (graph.Lots[key] is { Kind: LotKinds.Product } product)
            {
                products.Add(product);
            }
        }

        return products;
    }

    private void Loading(Utf8JsonWriter w, LotNode bulk, LotNode load, ChainEdge edge, DateTimeOffset time)
    {
        Header(w, "ObjectEvent", time);
        w.WriteString("action", "OBSERVE");
        w.WriteString("bizStep", "loading");
        w.WriteString("disposition", "in_transit");
        if (bulk.PastureId is { } pasture)
        {
            w.WriteStartObject("readPoint");
            w.WriteString("id", _ids.Pasture(pasture));
            w.WriteEndObject();
        }

        Quantities(w, "quantityList", [(bulk.Ref, edge.Kg)]);
        BillOfLading(w, load.LotId);
        Temperature(w, edge.TemperatureC ?? bulk.TemperatureC, time);
        if (load.UnitId is { } plate)
        {
            w.WriteString("hohhot:tankerPlate", plate);
        }
    }

    private void Receiving(Utf8JsonWriter w, LotNode load, LotNode receipt, ChainEdge edge, DateTimeOffset time)
    {
        Header(w, "ObjectEvent", time);
        w.WriteString("action", "OBSERVE");
        w.WriteString("bizStep", "receiving");
        w.WriteString("disposition", receipt.Accepted == false ? "non_conformant" : "conformant");
        if (receipt.PlantId is { } plant)
        {
            w.WriteStartObject("bizLocation");
            w.WriteString("id", _ids.Plant(plant));
            w.WriteEndObject();
        }

        Quantities(w, "quantityList", [(load.Ref, edge.Kg)]);
        BillOfLading(w, load.LotId);
        SensorElements(w, edge.TemperatureC ?? receipt.TemperatureC, time, _roads.GetValueOrDefault(load.LotId));
    }

    private void Transformation(Utf8JsonWriter w, ChainGraph graph, LotNode output, List<ChainEdge> inputs, DateTimeOffset time)
    {
        Header(w, "TransformationEvent", time);
        var list = new List<(LotRef, double)>(inputs.Count);
        double total = 0;
        foreach (var edge in inputs)
        {
            list.Add((graph.Lots[edge.Parent].Ref, edge.Kg));
            total += edge.Kg;
        }

        Quantities(w, "inputQuantityList", list);
        Quantities(w, "outputQuantityList", [(output.Ref, output.Kg ?? total)]);
        w.WriteString("bizStep", "commissioning");
        w.WriteString("disposition", "active");
        if (output.PlantId is { } plant)
        {
            w.WriteStartObject("bizLocation");
            w.WriteString("id", _ids.Plant(plant));
            w.WriteEndObject();
        }

        if (output.Product is { } product)
        {
            w.WriteStartObject("ilmd");
            w.WriteString("hohhot:product", product);
            if (output.UnitId is { } line)
            {
                w.WriteString("hohhot:line", line);
            }

            if (ProductLotDetails.Read(output, ProductLotDetails.Category) is { } category)
            {
                w.WriteString("hohhot:productCategory", category);
            }

            if (ProductLotDetails.Read(output, ProductLotDetails.Gtin) is { } gtin)
            {
                w.WriteString("hohhot:gtin", gtin);
            }

            if (ProductLotDetails.Read(output, ProductLotDetails.BestBefore) is { } bestBefore)
            {
                // CBV master data attribute for the lot's best-before date (xsd:date).
                w.WriteString("cbvmda:bestBeforeDate", bestBefore);
            }

            w.WriteEndObject();
        }
    }

    private void Observation(Utf8JsonWriter w, LotRef lot, string bizStep, string? disposition, DateTimeOffset time, QualityCheck? check)
    {
        Header(w, "ObjectEvent", time);
        w.WriteString("action", "OBSERVE");
        w.WriteString("bizStep", bizStep);
        if (disposition is not null)
        {
            w.WriteString("disposition", disposition);
        }

        w.WriteStartArray("quantityList");
        w.WriteStartObject();
        w.WriteString("epcClass", LotId(lot));
        w.WriteEndObject();
        w.WriteEndArray();
        if (check is not null)
        {
            w.WriteString("hohhot:sampleId", check.SampleId);
            w.WriteString("hohhot:verdict", check.Verdict);
            w.WriteString("hohhot:ruleVersion", check.RuleVersion);
        }
    }

    private static void Header(Utf8JsonWriter w, string type, DateTimeOffset time)
    {
        w.WriteString("type", type);
        w.WriteString("eventTime", Time(time));
        w.WriteString("eventTimeZoneOffset", "+08:00");
    }

    private string LotId(LotRef lot) => _byRef.TryGetValue(lot, out var node) ? _ids.Lot(node) : _ids.Lot(lot);

    private void Quantities(Utf8JsonWriter w, string name, List<(LotRef Lot, double Kg)> quantities)
    {
        w.WriteStartArray(name);
        foreach (var (lot, kg) in quantities)
        {
            w.WriteStartObject();
            w.WriteString("epcClass", LotId(lot));
            w.WriteNumber("quantity", Math.Round(kg, 3));
            w.WriteString("uom", "KGM");
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private void BillOfLading(Utf8JsonWriter w, string tankerLoadId)
    {
        w.WriteStartArray("bizTransactionList");
        w.WriteStartObject();
        w.WriteString("type", "bol");
        w.WriteString("bizTransaction", _ids.TankerLoad(tankerLoadId));
        w.WriteEndObject();
        w.WriteEndArray();
    }

    private static void Temperature(Utf8JsonWriter w, double? celsius, DateTimeOffset time)
    {
        if (celsius is not { } c)
        {
            return;
        }

        w.WriteStartArray("sensorElementList");
        ArrivalElement(w, c, time);
        w.WriteEndArray();
    }

    private static void ArrivalElement(Utf8JsonWriter w, double celsius, DateTimeOffset time)
    {
        w.WriteStartObject();
        w.WriteStartObject("sensorMetadata");
        w.WriteString("time", Time(time));
        w.WriteEndObject();
        w.WriteStartArray("sensorReport");
        w.WriteStartObject();
        w.WriteString("type", "Temperature");
        w.WriteNumber("value", celsius);
        w.WriteString("uom", "CEL");
        w.WriteEndObject();
        w.WriteEndArray();
        w.WriteEndObject();
    }

    /// <summary>
    /// The arrival temperature first (an importer takes the first Temperature report as the load's), then the road's
    /// readings in time order, each its own element with the logger as deviceID.
    /// </summary>
    private void SensorElements(Utf8JsonWriter w, double? arrivalC, DateTimeOffset time, Tanker.TankerRoad? road)
    {
        if (arrivalC is null && (road is null || road.Readings.Count == 0))
        {
            return;
        }

        w.WriteStartArray("sensorElementList");
        if (arrivalC is { } c)
        {
            ArrivalElement(w, c, time);
        }

        foreach (var reading in road?.Readings ?? [])
        {
            w.WriteStartObject();
            w.WriteStartObject("sensorMetadata");
            w.WriteString("time", Time(reading.At));
            w.WriteString("deviceID", _ids.Device(reading.DeviceId));
            w.WriteEndObject();
            w.WriteStartArray("sensorReport");
            foreach (var compartment in reading.Compartments)
            {
                w.WriteStartObject();
                w.WriteString("type", "Temperature");
                w.WriteNumber("value", compartment.TemperatureC);
                w.WriteString("uom", "CEL");
                w.WriteNumber("hohhot:compartment", compartment.Compartment);
                w.WriteEndObject();
            }

            Angle(w, "latitude", reading.Position.LatitudeDeg);
            Angle(w, "longitude", reading.Position.LongitudeDeg);
            if (reading.SpeedKmh is { } speed)
            {
                w.WriteStartObject();
                w.WriteString("type", "Speed");
                w.WriteNumber("value", speed);
                w.WriteString("uom", "KMH");
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        w.WriteEndArray();
    }

    private static void Angle(Utf8JsonWriter w, string component, double degrees)
    {
        w.WriteStartObject();
        w.WriteString("type", "Angle");
        w.WriteString("component", component);
        w.WriteNumber("value", degrees);
        w.WriteString("uom", "DD");
        w.WriteEndObject();
    }

    public static string Time(DateTimeOffset time) =>
        time.ToOffset(ChinaTime.Offset).ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture);
}
