using System.Globalization;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Ingestion;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Audit.Alerts;

/// <summary>
/// Sees every accepted core reading and feeds the alert rules: milkings with conductivity to their herd's mastitis
/// grain, tank temperatures to the tank's cold-chain grain, tanker arrival temperatures straight to the alert store,
/// and every device's last message time to the silent-device watchdog. Every step is idempotent (the grains ignore
/// readings at or before their last event time; raising and clearing are upserts), as redeliveries come through here too.
/// </summary>
public sealed class AlertReadingObserver(
    IGrainFactory grains, AlertStore alerts, DeviceActivityStore activity, IOptions<AuditOptions> options, TimeProvider clock)
    : IAcceptedReadingObserver
{
    public async Task OnAcceptedAsync(IReadOnlyList<object> readings, CancellationToken cancellationToken)
    {
        var milkings = new Dictionary<string, List<MilkingReading>>(StringComparer.Ordinal);
        var tanks = new Dictionary<string, List<TankTemperature>>(StringComparer.Ordinal);
        var intakes = new List<PlantIntakeReading>();
        var seen = new List<DeviceSeen>(readings.Count);
        foreach (var reading in readings)
        {
            switch (reading)
            {
                case MilkingReading m:
                    seen.Add(new DeviceSeen(m.Key.DeviceId, "pasture", m.PastureId, m.CountyId, m.EventTime));
                    if (m.ConductivityMsPerCm is not null)
                    {
                        Add(milkings, m.HerdId, m);
                    }

                    break;
                case BulkTankReading b:
                    seen.Add(new DeviceSeen(b.Key.DeviceId, "pasture", b.PastureId, b.CountyId, b.EventTime));
                    if (b.TemperatureC is { } t)
                    {
                        Add(tanks, b.PastureId + "/" + b.TankId, new TankTemperature(b.Key, b.EventTime, t, b.PastureId, b.TankId, b.CountyId));
                    }

                    break;
                case PlantIntakeReading p:
                    seen.Add(new DeviceSeen(p.Key.DeviceId, "plant", p.PlantId, p.CountyId, p.EventTime));
                    if (p.TemperatureC is not null)
                    {
                        intakes.Add(p);
                    }

                    break;
            }
        }

        var calls = new List<Task>(milkings.Count + tanks.Count + 2);
        foreach (var (herdId, batch) in milkings)
        {
            calls.Add(grains.GetGrain<IMastitisGrain>(herdId).ObserveAsync([.. batch]));
        }

        foreach (var (tankKey, batch) in tanks)
        {
            calls.Add(grains.GetGrain<IColdChainGrain>(tankKey).ObserveAsync([.. batch]));
        }

        calls.Add(activity.TouchAsync(seen, cancellationToken));
        await Task.WhenAll(calls);
        intakes.Sort(static (a, b) => a.EventTime.CompareTo(b.EventTime));
        foreach (var intake in intakes)
        {
            await CheckTankerAsync(intake, cancellationToken);
        }
    }

    /// <summary>Tanker milk on arrival: above the warning limit warns, above the rejection limit rejects; the tanker's next arrival within limits clears it.</summary>
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
