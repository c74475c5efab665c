using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Logging;

namespace HohhotCluster.Telemetry.Grains;

/// <summary>A processing plant's weighbridge intake: its processing of record.</summary>
public sealed class PlantGrain(
    [PersistentState(GrainStateNames.Plant, StorageServiceCollectionExtensions.GrainStorageName)] IPersistentState<OwnedTotalsState> state,
    ILogger<PlantGrain> logger)
    : OwnedTotalsGrain(state, logger), IPlantGrain
{
    public Task<ApplyOutcome[]> ApplyIntakesAsync(PlantIntakeReading[] batch) =>
        batch.Length == 0
            ? Task.FromResult(Array.Empty<ApplyOutcome>())
            : ApplyAsync(
                batch,
                static r => r.Key,
                static r => r.EventTime,
                static r => new DailyTotals(r.NetKg, 1, 0, 0, 0, 0),
                batch[0].CountyId,
                pastureId: null);

    protected override string MemberKey => GrainStateNames.Plant + ":" + this.GetPrimaryKeyString();
}
