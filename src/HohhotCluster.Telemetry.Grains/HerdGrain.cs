using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Grains;

/// <summary>One herd's milkings, as measured by its parlour's milk meters.</summary>
public sealed class HerdGrain(
    [PersistentState(GrainStateNames.Herd, StorageServiceCollectionExtensions.GrainStorageName)] IPersistentState<OwnedTotalsState> state)
    : OwnedTotalsGrain(state), IHerdGrain
{
    public Task<ApplyResult> ApplyMilkingsAsync(MilkingReading[] batch) =>
        batch.Length == 0
            ? Task.FromResult(new ApplyResult([], null))
            : ApplyAsync(
                batch,
                static r => r.Key,
                static r => r.EventTime,
                static r => new DailyTotals(0, 0, 0, 0, r.YieldKg, 1),
                batch[0].CountyId,
                batch[0].PastureId);

    protected override string MemberKey => GrainStateNames.Herd + ":" + this.GetPrimaryKeyString();
}
