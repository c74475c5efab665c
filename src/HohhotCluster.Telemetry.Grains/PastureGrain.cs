using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Grains;

/// <summary>A pasture's bulk tanks: level samples are kept as points only; collections are its production of record.</summary>
public sealed class PastureGrain(
    [PersistentState(GrainStateNames.Pasture, StorageServiceCollectionExtensions.GrainStorageName)] IPersistentState<OwnedTotalsState> state)
    : OwnedTotalsGrain(state), IPastureGrain
{
    public Task<ApplyResult> ApplyBulkTankAsync(BulkTankReading[] batch) =>
        batch.Length == 0
            ? Task.FromResult(new ApplyResult([], null))
            : ApplyAsync(
                batch,
                static r => r.Key,
                static r => r.EventTime,
                static r => r.Kind == BulkTankEventKind.Collection
                    ? new DailyTotals(0, 0, r.CollectedKg ?? 0, 1, 0, 0)
                    : default,
                batch[0].CountyId,
                this.GetPrimaryKeyString());

    protected override string MemberKey => GrainStateNames.Pasture + ":" + this.GetPrimaryKeyString();
}
