using HohhotCluster.Telemetry.Contracts;

namespace HohhotCluster.Telemetry.Traceability;

/// <summary>The kinds of lot in the chain, in the order milk flows through them; the stored text is the constant.</summary>
public static class LotKinds
{
    public const string BulkTank = "bulk_tank";
    public const string TankerLoad = "tanker_load";
    public const string Receipt = "receipt";
    public const string SiloBatch = "silo_batch";
    public const string Product = "product";

    public static readonly string[] All = [BulkTank, TankerLoad, Receipt, SiloBatch, Product];

    public static bool IsKnown(string kind) => Array.IndexOf(All, kind) >= 0;

    public static bool IsPlantSide(string kind) => kind is Receipt or SiloBatch or Product;
}

public readonly record struct LotRef(string Kind, string Id)
{
    public override string ToString() => $"{Kind}:{Id}";
}

/// <summary>A lot as stored. Receipts are keyed by their tanker load id (one receipt per tanker load).</summary>
public sealed record LotNode
{
    public long Key { get; init; }
    public required string Kind { get; init; }
    public required string LotId { get; init; }
    public string? PastureId { get; init; }
    public string? PlantId { get; init; }
    public string? UnitId { get; init; }
    public double? Kg { get; init; }
    public double? TemperatureC { get; init; }
    public DateTimeOffset? At { get; init; }
    public bool? Accepted { get; init; }
    public string? Product { get; init; }
    public string Details { get; init; } = "{}";
    public string Source { get; init; } = "telemetry";

    /// <summary>Receipts rejected at the plant: why (too warm, or a failing plant-acceptance check of the load or receipt).</summary>
    public string? RejectionReason { get; init; }

    public LotRef Ref => new(Kind, LotId);
}

/// <summary>Milk moving from one lot into another.</summary>
public sealed record ChainEdge(long Parent, long Child, double Kg, DateTimeOffset? At, double? TemperatureC);

/// <summary>A quality check from the audits component's <c>quality_result</c> table.</summary>
public sealed record QualityCheck(string LotKind, string LotId, string SampleId, string SampleKind, string Verdict, string RuleVersion, DateTimeOffset SampledAt, string ItemsJson)
{
    /// <summary>Anything but a pass is treated as failing: a hold is safer than a miss.</summary>
    public bool Failed => !string.Equals(Verdict, "pass", StringComparison.OrdinalIgnoreCase)
        && !string.Equals(Verdict, "passed", StringComparison.OrdinalIgnoreCase);
}

/// <summary>A sub-graph of the chain: its lots by key and the edges between them, with the lots' quality checks.</summary>
public sealed class ChainGraph
{
    public Dictionary<long, LotNode> Lots { get; } = [];
    public List<ChainEdge> Edges { get; } = [];
    public List<QualityCheck> QualityChecks { get; } = [];
    public List<(long Lot, string EventId, string? BizStep, string? Disposition, DateTimeOffset At)> LotEvents { get; } = [];
}

public sealed record TraceBackResult(LotNode Root, ChainGraph Graph)
{
    /// <summary>
    /// Each bulk-tank lot's animals by lot id, as the registered <see cref="ILotAnimalSource"/> knows them (a lot it has
    /// no milkings for is absent); null when no source is registered: the animals are not known, which is not zero.
    /// </summary>
    public IReadOnlyDictionary<string, LotAnimals>? Animals { get; init; }
}

/// <summary>A lot reached from the source, with how much of the source's milk is in it.</summary>
public sealed record ReachedLot(LotNode Lot, double SourceKg, double Share);

public sealed record TraceForwardResult(IReadOnlyList<LotNode> Sources, IReadOnlyList<ReachedLot> Reached, ChainGraph Graph, QualityCheck? Sample);

/// <summary>A mass-balance flag with the numbers it compared (name, value with its unit), in the order they were compared.</summary>
public sealed record MassBalanceFlag(string Kind, LotRef Lot, double ExpectedKg, double ActualKg, string Detail)
{
    public IReadOnlyList<KeyValuePair<string, string>> Evidence { get; init; } = [];

    public double DifferenceKg => ActualKg - ExpectedKg;

    public double Relative => ExpectedKg == 0 ? 0 : (ActualKg - ExpectedKg) / ExpectedKg;
}

public sealed record MassBalanceResult(
    string PlantId,
    DateOnly LocalDate,
    double Tolerance,
    double PickedUpKg,
    double ReceivedKg,
    double RejectedKg,
    double BlendedKg,
    double UsedKg,
    double ProducedKg,
    IReadOnlyList<MassBalanceFlag> Flags);

/// <summary>
/// Whether a receipt was accepted at the plant. One predicate, shared with the audits' "processed" view (KPI engineer):
/// a receipt is rejected when its stored <c>accepted</c> is false (it arrived warmer than
/// <see cref="TraceabilityOptions.RejectAboveC"/>), or when any <c>plant_acceptance</c> quality result with verdict
/// <c>fail</c> names its tanker load (<c>lot_kind = 'tanker_load'</c>, lot id = the load id, which is also the receipt's
/// id) or the receipt itself. A database without the audits' <c>quality_result</c> answers with the stored flag only.
/// </summary>
public static class ReceiptAcceptance
{
    public const string PlantAcceptance = "plant_acceptance";

    /// <summary>Verdicts on which a plant sends a load back: a fail, or a suspect (a positive rapid screen).</summary>
    private static readonly string[] SendsBack = ["fail", "suspect"];

    private static bool SendsLoadBack(string? verdict) => SendsBack.Contains(verdict, StringComparer.OrdinalIgnoreCase);

    public static bool FailsAcceptance(QualityCheck check, string receiptLotId) =>
        check.SampleKind == PlantAcceptance && SendsLoadBack(check.Verdict)
        && check.LotId == receiptLotId && check.LotKind is LotKinds.TankerLoad or LotKinds.Receipt;

    /// <summary>The receipt with its acceptance and reason resolved against the checks (other lots are returned as they are).</summary>
    public static LotNode Resolve(LotNode lot, double rejectAboveC, IEnumerable<QualityCheck> checks)
    {
        if (lot.Kind != LotKinds.Receipt)
        {
            return lot;
        }

        var reasons = new List<string>();
        if (lot.Accepted == false)
        {
            reasons.Add(lot.TemperatureC is { } t
                ? $"arrived at {t.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)} °C, above {rejectAboveC.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture)} °C"
                : "rejected at the weighbridge");
        }

        foreach (var check in checks)
        {
            if (FailsAcceptance(check, lot.LotId))
            {
                reasons.Add($"plant_acceptance sample {check.SampleId} of the {(check.LotKind == LotKinds.TankerLoad ? "tanker load" : "receipt")} failed ({FailingItems(check.ItemsJson, check.Verdict)})");
            }
        }

        return reasons.Count == 0 ? lot : lot with { Accepted = false, RejectionReason = string.Join("; ", reasons) };
    }

    /// <summary>The items that sent the load back (a suspect marked so), by name; the sample's verdict when the items do not say.</summary>
    private static string FailingItems(string itemsJson, string verdict)
    {
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(itemsJson);
            var names = new List<string>();
            if (document.RootElement.ValueKind == System.Text.Json.JsonValueKind.Array)
            {
                foreach (var item in document.RootElement.EnumerateArray())
                {
                    if (item.ValueKind == System.Text.Json.JsonValueKind.Object
                        && item.TryGetProperty("verdict", out var v) && v.ValueKind == System.Text.Json.JsonValueKind.String && SendsLoadBack(v.GetString())
                        && item.TryGetProperty("item", out var name) && name.ValueKind == System.Text.Json.JsonValueKind.String)
                    {
                        names.Add(v.GetString() == "fail" ? name.GetString()! : $"{name.GetString()} {v.GetString()}");
                    }
                }
            }

            return names.Count > 0 ? string.Join(", ", names) : "verdict " + verdict;
        }
        catch (System.Text.Json.JsonException)
        {
            return "verdict " + verdict;
        }
    }

    /// <summary>Resolves every receipt of a graph against the graph's checks.</summary>
    public static void Apply(ChainGraph graph, double rejectAboveC)
    {
        if (graph.QualityChecks.Count == 0 && !graph.Lots.Values.Any(l => l is { Kind: LotKinds.Receipt, Accepted: false }))
        {
            return;
        }

        foreach (var key in graph.Lots.Keys.ToArray())
        {
            if (graph.Lots[key] is { Kind: LotKinds.Receipt } receipt)
            {
                graph.Lots[key] = Resolve(receipt, rejectAboveC, graph.QualityChecks);
            }
        }
    }
}

/// <summary>A pasture's own freezing-point baseline: the median of its most recent samples, and how many there were.</summary>
public sealed record FreezingBaseline(string PastureId, double MedianC, int Samples);

/// <summary>Where a recall starts: a failing sample, a silo batch, or the line run of a product lot (exactly one).</summary>
public sealed record RecallRoot(string? SampleId, string? SiloBatchId, string? LineRunOfProductLotId)
{
    public static RecallRoot OfSample(string sampleId) => new(sampleId, null, null);

    public static RecallRoot OfSiloBatch(string siloBatchId) => new(null, siloBatchId, null);

    public static RecallRoot OfLineRun(string productLotId) => new(null, null, productLotId);
}

/// <summary>
/// A product lot a recall holds: the whole lot (<see cref="HeldKg"/>, its full output), and beside it the suspect milk
/// in it (<see cref="SourceKg"/>) and its share of the lot's milk; <see cref="Reason"/> says why it is held.
/// </summary>
public sealed record RecallLot(LotNode Lot, double SourceKg, double Share, string Reason)
{
    public double HeldKg => Lot.Kg ?? 0;
}

/// <summary>A recall's answer: the sample (when it started from one), the root lot, and the product lots to hold.</summary>
public sealed record RecallImpact(QualityCheck? Sample, LotNode Root, IReadOnlyList<RecallLot> Products);
