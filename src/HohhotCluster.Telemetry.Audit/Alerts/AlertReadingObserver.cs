using System.Globalization;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Audit.Alerts;

/// <summary>
/// Sees every accepted core reading and feeds the alert rules: milkings with conductivity to their herd's mastitis
/// grain, tank temperatures to the tank's cold-chain grain, tanker arrival temperatures straight to the alert store
/// (device activity is <see cref="DeviceActivityObserver"/>'s, for every kind). Every step is idempotent (the grains ignore
/// readings at or before their last event time; raising and clearing are upserts), as redeliveries come through here too.
/// </summary>
public sealed class AlertReadingObserver(IGrainFactory grains, AlertStore alerts, IOptions<AuditOptions> options, TimeProvider clock)
    : IAcceptedObserver<MilkingDraft>, IAcceptedObserver<BulkTankDraft>, IAcceptedObserver<PlantIntakeDraft>
{
    /// <summary>Milkings with a conductivity go to their herd's mastitis watch.</summary>
    public Task OnAcceptedAsync(IReadOnlyList<Accepted<MilkingDraft>> records, CancellationToken cancellationToken)
    {
        var milkings = new Dictionary<string, List<MilkingReading>>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            if (record.Record.ConductivityMsPerCm is not null)
            {
                Add(milkings, record.Record.HerdId, record.ToReading());
            }
        }

        return Task.WhenAll(milkings.Select(herd => grains.GetGrain<IMastitisGrain>(herd.Key).ObserveAsync([.. herd.Value])));
    }

    /// <summary>Tank temperatures go to their tank's cold-chain watch.</summary>
    public Task OnAcceptedAsync(IReadOnlyList<Accepted<BulkTankDraft>> records, CancellationToken cancellationToken)
    {
        var tanks = new Dictionary<string, List<TankTemperature>>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            if (record.Record.TemperatureC is { } t)
            {
                var pasture = record.Device.OwnerId;
                Add(tanks, pasture + "/" + record.Record.TankId,
                    new TankTemperature(record.Key, record.EventTime, t, pasture, record.Record.TankId, record.Device.CountyId));
            }
        }

        return Task.WhenAll(tanks.Select(tank => grains.GetGrain<IColdChainGrain>(tank.Key).ObserveAsync([.. tank.Value])));
    }

    /// <summary>Arrival temperatures raise or clear the tanker's alert, oldest first.</summary>
    public async Task OnAcceptedAsync(IReadOnlyList<Accepted<PlantIntakeDraft>> records, CancellationToken cancellationToken)
    {
        var intakes = new List<PlantIntakeReading>();
        foreach (var record in records)
        {
            if (record.Record.TemperatureC is not null)
            {
                intakes.Add(record.ToReading());
            }
        }

        intakes.Sort(static (a, b) => a.EventTime.CompareTo(b.EventTime));
        foreach (var intake in intakes)
        {
            await CheckTankerAsync(intake, cancellationToken);
        }
    }

    private Task CheckTankerAsync(PlantIntakeReading intake, CancellationToken cancellationToken)
    {
        var limits = options.Value.Alerts;
        var temperature = intake.TemperatureC!.Value;
        var tanker = intake.TankerPlate ?? intake.TankerLoadId;
        var key = AlertKinds.TankerTemperature + ":" + intake.PlantId + ":" + tanker;
        if (temperature <= limits.TankerWarnC)
        {
            return alerts.ClearAsync([key], $"load {intake.TankerLoadId} arrived at {temperature.ToString(CultureInfo.InvariantCulture)} °C", clock.GetUtcNow(), cancellationToken);
        }

        var reject = temperature > limits.TankerRejectC;
        var limit = reject ? limits.TankerRejectC : limits.TankerWarnC;
        return alerts.RaiseAsync(new AlertDraft
        {
            Key = key,
            Kind = AlertKinds.TankerTemperature,
            Severity = reject ? "critical" : "warning",
            Subject = "tanker:" + tanker,
            PlantId = intake.PlantId,
            CountyId = intake.CountyId,
            Message = $"Tanker {tanker} load {intake.TankerLoadId} arrived at plant {intake.PlantId} at {temperature.ToString(CultureInfo.InvariantCulture)} °C: " +
                (reject ? $"reject (above {limit.ToString(CultureInfo.InvariantCulture)} °C)" : $"warning (above {limit.ToString(CultureInfo.InvariantCulture)} °C)"),
            Since = intake.EventTime,
            Readings =
            [
                new AlertReading
                {
                    At = intake.EventTime, Name = "arrival_temperature", Value = temperature, Unit = "°C",
                    Limit = $"warn > {limits.TankerWarnC.ToString(CultureInfo.InvariantCulture)}, reject > {limits.TankerRejectC.ToString(CultureInfo.InvariantCulture)}",
                    Source = $"{intake.Key} load {intake.TankerLoadId}",
                },
            ],
        }, clock.GetUtcNow(), cancellationToken);
    }

    private static void Add<T>(Dictionary<string, List<T>> groups, string key, T item)
    {
        if (!groups.TryGetValue(key, out var list))
        {
            list = [];
            groups[key] = list;
        }

        list.Add(item);
    }
}
