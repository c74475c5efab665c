using HohhotCluster.Telemetry.Animals.Milk;

namespace HohhotCluster.Telemetry.Audit.Alerts;

/// <summary>
/// The <c>unfit_milk_in_tank</c> alert (issue 17): a milking of an animal under milk withdrawal, or of colostrum, that
/// reached the bulk tank (GB 19301: not raw milk, it must never reach a lot). One open alert per animal and pasture,
/// critical; each such milking is a reading of it. Raised in the batch, before the PUBACK, and idempotent (the alert's
/// key), so a retried batch raises nothing twice.
/// </summary>
public sealed class UnfitMilkAlerts(AlertStore alerts, TimeProvider clock) : IUnfitTankMilkingSink
{
    public async Task OnUnfitInTankAsync(IReadOnlyList<UnfitTankMilking> milkings, CancellationToken cancellationToken)
    {
        foreach (var animal in milkings.GroupBy(m => (m.PastureId, m.EarTag)))
        {
            var list = animal.OrderBy(m => m.EventTime).ToList();
            var what = list.Any(m => m.Flags.HasFlag(AnimalMilkFlags.Withdrawal)) ? "under milk withdrawal" : "colostrum";
            await alerts.RaiseAsync(new AlertDraft
            {
                Key = $"{AlertKinds.UnfitMilkInTank}:{animal.Key.PastureId}:{animal.Key.EarTag}",
                Kind = AlertKinds.UnfitMilkInTank,
                Severity = "critical",
                Subject = "animal:" + animal.Key.EarTag,
                PastureId = animal.Key.PastureId,
                CountyId = list[0].CountyId,
                Message = $"milk of animal {animal.Key.EarTag} ({what}) reached the bulk tank of pasture {animal.Key.PastureId}: the lot it went into is flagged",
                Since = list[0].EventTime,
                Readings = [.. list.Select(m => new AlertReading
                {
                    At = m.EventTime, Name = "milking_kg", Value = m.Kg, Unit = "kg",
                    Text = m.Flags.HasFlag(AnimalMilkFlags.Withdrawal) ? "withdrawal" : "colostrum",
                    Limit = "GB 19301: no colostrum (days in milk 0-7) nor withdrawal milk in a bulk-tank lot",
                    Source = $"{m.Key.DeviceId}/{m.Key.BootEpoch}/{m.Key.Sequence}",
                })],
            }, clock.GetUtcNow(), cancellationToken);
        }
    }
}
