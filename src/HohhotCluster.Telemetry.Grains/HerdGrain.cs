using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Logging;

namespace HohhotCluster.Telemetry.Grains;

/// <summary>One herd's milkings, as measured by its parlour's milk meters.</summary>
public sealed class HerdGrain(
    [PersistentState(GrainStateNames.Herd, StorageServiceCollectionExtensions.GrainStorageName)] IPersistentState<OwnedTotalsState> state,
    ILogger<HerdGrain> logger)
    : OwnedTotalsGrain(state, logger), IHerdGrain
{
    public Task<ApplyOutcome[]> ApplyMilkingsAsync(MilkingReading[] batch) =>
        batch.Length == 0
            ? Task.FromResult(Array.Empty<ApplyOutcome>())
            : ApplyAsync(
                batch,
                static r => r.Key,
                static r => r.EventTime,
                static r => new DailyTotals(0, 0, 0, 0, r.YieldKg, 1),
                batch[0].CountyId,
                batch[0].PastureId);

    protected override string MemberKey => GrainStateNames.Herd + ":" + this.GetPrimaryKeyString();
}
