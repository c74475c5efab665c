namespace HohhotCluster.Telemetry.Traceability;

public interface ILotAnimalSource { Task<IReadOnlyDictionary<string, LotAnimals>> ReadAsync(IReadOnlyCollection<string> bulkTankLotIds, CancellationToken cancellationToken); }
public sealed record LotAnimals(string BulkTankLotId, int Animals, decimal MilkKg, IReadOnlyList<string> UnderWithdrawalEarTags, bool ColostrumIncluded, IReadOnlyList<string> SampleEarTags);
