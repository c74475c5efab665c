namespace HohhotCluster.Telemetry.Contracts;

/// <summary>
/// The animals whose milk went into bulk-tank lots, by lot id: what traceability asks of the animals component for a
/// trace back (implemented by Animals' <c>BulkTankLotMilk</c>). A lot it has nothing for is absent from the answer.
/// </summary>
public interface ILotAnimalSource
{
    Task<IReadOnlyDictionary<string, LotAnimals>> ReadAsync(IReadOnlyCollection<string> bulkTankLotIds, CancellationToken cancellationToken);
}

/// <summary>
/// One bulk-tank lot's milkings: the animals milked into it, their milk, and the milk GB 19301 keeps out of a tank
/// that reached it anyway (animals under withdrawal, colostrum). <see cref="RoutingKnown"/> false: the pasture never
/// said which tank its milk line fed before this lot was collected, so its milkings cannot be placed in it (the counts
/// are then zero, which is not "no animals").
/// </summary>
public sealed record LotAnimals(
    string BulkTankLotId, int Animals, decimal MilkKg, IReadOnlyList<string> UnderWithdrawalEarTags, bool ColostrumIncluded, IReadOnlyList<string> SampleEarTags)
{
    public bool RoutingKnown { get; init; } = true;

    public int Milkings { get; init; }

    public int WithdrawalMilkings { get; init; }

    public int ColostrumMilkings { get; init; }

    /// <summary>The milk that reached the tank from <see cref="WindowFrom"/> (its previous collection) up to its collection.</summary>
    public DateTimeOffset? WindowFrom { get; init; }

    public DateTimeOffset? WindowTo { get; init; }
}
