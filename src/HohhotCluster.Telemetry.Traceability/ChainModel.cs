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

public sealed record TraceBackResult(LotNode Root, ChainGraph Graph);

/// <summary>A lot reached from the source, with how much of the source's milk is in it.</summary>
public sealed record ReachedLot(LotNode Lot, double SourceKg, double Share);

public sealed record TraceForwardResult(IReadOnlyList<LotNode> Sources, IReadOnlyList<ReachedLot> Reached, ChainGraph Graph, QualityCheck? Sample);

public sealed record MassBalanceFlag(string Kind, LotRef Lot, double ExpectedKg, double ActualKg, string Detail)
{
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
