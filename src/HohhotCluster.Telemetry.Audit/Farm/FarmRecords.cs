namespace HohhotCluster.Telemetry.Audit.Farm;

/// <summary>A pasture's manure account for one local day (a <c>manure</c> message).</summary>
public sealed record ManureRecord(
    DateOnly LocalDate, double ProducedKg, double CollectedKg, double AppliedKg, double TreatedKg, string? Treatment);

/// <summary>A <c>health</c> message: a vaccination session, a census of the programme's population, or antibody titre tests.</summary>
public sealed record HealthRecord
{
    /// <summary><c>vaccination</c>, <c>census</c> or <c>antibody_test</c>.</summary>
    public required string Event { get; init; }
    public required string Programme { get; init; }
    public string? Species { get; init; }
    public required DateOnly LocalDate { get; init; }
    public int Vaccinated { get; init; }
    public int InStock { get; init; }
    public int Due { get; init; }
    public IReadOnlyList<int> Titres { get; init; } = [];
}
