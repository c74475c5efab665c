using System.Diagnostics.Metrics;
using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Animals.Milk;

/// <summary>
/// Keeps every milking the platform counted with its animal (<see cref="AnimalMilkStore"/>). It sees the milking
/// kind's applied and duplicate records, never an unverifiable one (what the herd's grain did not count), and the
/// store counts each key once: a duplicate whose first delivery the store already has changes nothing, and one whose
/// first delivery was lost between the grain's commit and this store (a crash) is counted now. Runs before the PUBACK,
/// so a failure here leaves the batch unacknowledged and retried.
/// </summary>
public sealed class AnimalMilkObserver(AnimalMilkStore store, AnimalMilkMetrics metrics, IEnumerable<IUnfitTankMilkingSink> sinks) : IAcceptedObserver<MilkingDraft>
{
    private readonly IUnfitTankMilkingSink[] _sinks = [.. sinks];

    public async Task OnAcceptedAsync(IReadOnlyList<Accepted<MilkingDraft>> records, CancellationToken cancellationToken)
    {
        var milkings = new AnimalMilking[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            var r = records[i];
            milkings[i] = new AnimalMilking(r.Key, r.EventTime, r.Record.AnimalId, r.Device.OwnerId, r.Device.CountyId, r.Record.HerdId, r.Record.YieldKg,
                r.Record.MilkedSeparately, r.Record.DurationSeconds);
        }

        var result = await store.ApplyAsync(milkings, cancellationToken);
        metrics.Counted(result);
        if (result.UnfitInTank.Count > 0)
        {
            foreach (var sink in _sinks)
            {
                await sink.OnUnfitInTankAsync(result.UnfitInTank, cancellationToken);
            }
        }
    }
}

/// <summary>
/// Told of milkings GB 19301 keeps out of the tank that reached it, once each, after they are stored (e.g. Audit's
/// alert for them). A failure fails the batch, which is retried; the store then counts nothing again, so a sink that
/// must not miss one keeps its own record idempotently.
/// </summary>
public interface IUnfitTankMilkingSink
{
    Task OnUnfitInTankAsync(IReadOnlyList<UnfitTankMilking> milkings, CancellationToken cancellationToken);
}

/// <summary>The meter <c>HohhotCluster.Telemetry.Animals</c>: milkings kept per animal, by what the registry said of them.</summary>
public sealed class AnimalMilkMetrics : IDisposable
{
    private readonly Meter _meter = new("HohhotCluster.Telemetry.Animals");
    private readonly Counter<long> _counted;
    private readonly Counter<long> _already;
    private readonly Counter<long> _unfit;
    private readonly Counter<long> _unregistered;

    public AnimalMilkMetrics()
    {
        _counted = _meter.CreateCounter<long>("hohhot.animals.milkings_counted", description: "milkings kept with their animal");
        _already = _meter.CreateCounter<long>("hohhot.animals.milkings_already_counted", description: "milkings whose key was kept before (redeliveries)");
        _unregistered = _meter.CreateCounter<long>("hohhot.animals.milkings_unregistered",
            description: "milkings of an ear tag not registered alive on the pasture: counted, and reported apart");
        _unfit = _meter.CreateCounter<long>("hohhot.animals.unfit_milkings_in_tank", description: "withdrawal or colostrum milkings that reached the bulk tank");
    }

    public void Counted(AnimalMilkApplyResult result)
    {
        _counted.Add(result.Counted);
        _already.Add(result.AlreadyCounted);
        _unregistered.Add(result.Unregistered);
        _unfit.Add(result.UnfitCounted);
    }

    public void Dispose() => _meter.Dispose();
}
