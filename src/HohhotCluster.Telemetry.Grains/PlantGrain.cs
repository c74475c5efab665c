using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Grains;

/// <summary>A processing plant's weighbridge intake: its processing of record.</summary>
public sealed class PlantGrain(
    [PersistentState(GrainStateNames.Plant, StorageServiceCollectionExtensions.GrainStorageName)] IPersistentState<OwnedTotalsState> state)
    : OwnedTotalsGrain(state), IPlantGrain
{
    public Task<ApplyResult> ApplyIntakesAsync(PlantIntakeReading[] batch) =>
        batch.Length == 0
            ? Task.FromResult(new ApplyResult([], null))
            : ApplyAsync(
                batch,
                static r => r.Key,
                static r => r.EventTime,
                static r => new DailyTotals(r.NetKg, 1, 0, 0, 0, 0),
                batch[0].CountyId,
                pastureId: null);

    protected override string MemberKey => GrainStateNames.Plant + ":" + this.GetPrimaryKeyString();
}
