using System.Globalization;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Traceability.Tanker;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Audit.Alerts;

/// <summary>
/// The cold chain on the road: a tanker load whose warmest compartment spent longer than
/// <see cref="AlertOptions.TankerTransitMaxAboveLimit"/> above the road limit (<c>tanker_transit_temperature</c>),
/// and a load whose route (first pickup to intake) is outside <see cref="AlertOptions.TankerRouteMin"/>..
/// <see cref="AlertOptions.TankerRouteMax"/> (<c>tanker_route_time</c>). Both are judged on the chain's road summary
/// (<see cref="TankerLogStore"/>, the read model Traceability publishes), recomputed from what is stored each time a
/// load's <c>tanker_log</c> readings or its intake are accepted: so the answer does not depend on the order readings
/// arrive in, and a redelivery raises nothing twice (raising is an upsert by the load's key).
/// </summary>
public sealed class TankerRoadAlerts(TankerLogStore roads, AlertStore alerts, IOptions<AuditOptions> options, TimeProvider clock)
    : IAcceptedObserver<TankerLogRecord>, IAcceptedObserver<PlantIntakeDraft>
{
    private const int ReadingsKept = 12;

    public async Task OnAcceptedAsync(IReadOnlyList<Accepted<TankerLogRecord>> records, CancellationToken cancellationToken)
    {
        var loads = new Dictionary<string, LoadContext>(StringComparer.Ordinal);
        foreach (var record in records)
        {
            loads[record.Record.TankerLoadId] = new LoadContext(record.Device.OwnerId, record.Device.CountyId, record.Record.TankerPlate);
        }

        await JudgeAsync(loads, null, cancellationToken);
    }

    /// <summary>Plant intakes: the route of their loads ends now (the chain may not have written the receipt yet).</summary>
    public async Task OnAcceptedAsync(IReadOnlyList<Accepted<PlantIntakeDraft>> records, CancellationToken cancellationToken)
    {
        var loads = new Dictionary<string, LoadContext>(StringComparer.Ordinal);
        var intakes = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var intake in records)
        {
            loads[intake.Record.TankerLoadId] = new LoadContext(intake.Device.OwnerId, intake.Device.CountyId, intake.Record.TankerPlate);
            intakes[intake.Record.TankerLoadId] = intake.EventTime;
        }

        await JudgeAsync(loads, intakes, cancellationToken);
    }

    private async Task JudgeAsync(Dictionary<string, LoadContext> loads, IReadOnlyDictionary<string, DateTimeOffset>? intakes, CancellationToken cancellationToken)
    {
        var found = await roads.RoadsAsync(loads.Keys, intakes, cancellationToken);
        var now = clock.GetUtcNow();
        foreach (var (load, context) in loads)
        {
            if (!found.TryGetValue(load, out var road))
            {
                continue;
            }

            foreach (var draft in Judge(road, context, options.Value.Alerts))
            {
                await alerts.RaiseAsync(draft, now, cancellationToken);
            }
        }
    }

    /// <summary>Who a load's alerts belong to: the plant (the logger's or the weighbridge's), its county, the tanker's plate.</summary>
    public readonly record struct LoadContext(string PlantId, string CountyId, string? TankerPlate);

    /// <summary>The alerts a load's road calls for (none, one or both). Pure.</summary>
    public static IReadOnlyList<AlertDraft> Judge(TankerRoad road, LoadContext context, AlertOptions options)
    {
        var drafts = new List<AlertDraft>(2);
        var plant = road.ReceivedByPlantId ?? context.PlantId;
        var tanker = context.TankerPlate is { } plate ? $" (tanker {plate})" : "";
        var worst = WorstCompartment(road);
        if (worst is not null && worst.AboveLimit > options.TankerTransitMaxAboveLimit)
        {
            var critical = worst.MaxC > options.TankerRejectC;
            drafts.Add(new AlertDraft
            {
                Key = AlertKinds.TankerTransitTemperature + ":" + road.TankerLoadId,
                Kind = AlertKinds.TankerTransitTemperature,
                Severity = critical ? "critical" : "warning",
                Subject = "tanker_load:" + road.TankerLoadId,
                PlantId = plant,
                CountyId = context.CountyId,
                Message = $"Tanker load {road.TankerLoadId}{tanker}: compartment {worst.Compartment} spent {Minutes(worst.AboveLimit)} min above " +
                    $"{C(road.AboveC)} °C in transit (limit {Minutes(options.TankerTransitMaxAboveLimit)} min), warmest {C(worst.MaxC)} °C",
                Since = FirstAbove(road, worst.Compartment) ?? road.PickedUpAt ?? worst.LastAt,
                Readings = WarmReadings(road, worst.Compartment),
            });
        }

        if (road.RouteTime is { } route && (route < options.TankerRouteMin || route > options.TankerRouteMax))
        {
            drafts.Add(new AlertDraft
            {
                Key = AlertKinds.TankerRouteTime + ":" + road.TankerLoadId,
                Kind = AlertKinds.TankerRouteTime,
                Severity = "warning",
                Subject = "tanker_load:" + road.TankerLoadId,
                PlantId = plant,
                CountyId = context.CountyId,
                Message = $"Tanker load {road.TankerLoadId}{tanker} took {Minutes(route)} min from its first pickup to the intake" +
                    $"{(road.ReceivedByPlantId is { } by ? " at plant " + by : "")}: " +
                    (route < options.TankerRouteMin ? "shorter" : "longer") +
                    $" than the {Minutes(options.TankerRouteMin)}-{Minutes(options.TankerRouteMax)} min band",
                Since = road.PickedUpAt!.Value,
                Readings =
                [
                    new AlertReading
                    {
                        At = road.ReceivedAt!.Value, Name = "route_time", Value = Math.Round(route.TotalMinutes, 1), Unit = "min",
                        Limit = $"{Minutes(options.TankerRouteMin)}-{Minutes(options.TankerRouteMax)}",
                        Source = $"first pickup {road.PickedUpAt.Value.ToString("O", CultureInfo.InvariantCulture)}, intake {road.ReceivedAt.Value.ToString("O", CultureInfo.InvariantCulture)}",
                    },
                ],
            });
        }

        return drafts;
    }

    private static CompartmentRoad? WorstCompartment(TankerRoad road)
    {
        CompartmentRoad? worst = null;
        foreach (var compartment in road.Compartments)
        {
            if (worst is null || compartment.AboveLimit > worst.AboveLimit)
            {
                worst = compartment;
            }
        }

        return worst;
    }

    private static DateTimeOffset? FirstAbove(TankerRoad road, int compartment)
    {
        foreach (var reading in road.Readings)
        {
            foreach (var c in reading.Compartments)
            {
                if (c.Compartment == compartment && c.TemperatureC > road.AboveC)
                {
                    return reading.At;
                }
            }
        }

        return null;
    }

    /// <summary>The compartment's readings above the limit: the first and the latest, at most <see cref="ReadingsKept"/>.</summary>
    private static List<AlertReading> WarmReadings(TankerRoad road, int compartment)
    {
        var warm = new List<AlertReading>();
        foreach (var reading in road.Readings)
        {
            foreach (var c in reading.Compartments)
            {
                if (c.Compartment == compartment && c.TemperatureC > road.AboveC)
                {
                    warm.Add(new AlertReading
                    {
                        At = reading.At, Name = $"compartment_{compartment}_temperature", Value = c.TemperatureC, Unit = "°C",
                        Limit = "<= " + C(road.AboveC), Source = $"{reading.DeviceId}/{reading.BootEpoch}/{reading.Seq}",
                    });
                    if (warm.Count > ReadingsKept)
                    {
                        warm.RemoveAt(1);
                    }
                }
            }
        }

        return warm;
    }

    private static string Minutes(TimeSpan span) => Math.Round(span.TotalMinutes).ToString(CultureInfo.InvariantCulture);

    private static string C(double celsius) => celsius.ToString("0.0", CultureInfo.InvariantCulture);
}
