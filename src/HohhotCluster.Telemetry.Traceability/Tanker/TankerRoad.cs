namespace HohhotCluster.Telemetry.Traceability.Tanker;

/// <summary>A stored <c>tanker_log</c> reading: its key, the plant whose logger sent it, and what it read.</summary>
public sealed record TankerLogEntry(
    string DeviceId,
    long BootEpoch,
    long Seq,
    string TankerLoadId,
    string PlantId,
    DateTimeOffset At,
    GeoPosition Position,
    double? SpeedKmh,
    string? TankerPlate,
    IReadOnlyList<CompartmentTemperature> Compartments);

/// <summary>One compartment on the road: its coldest, warmest and last reading, and how long it was above the limit.</summary>
public sealed record CompartmentRoad(int Compartment, int Readings, double MinC, double MaxC, double LastC, DateTimeOffset LastAt, TimeSpan AboveLimit);

/// <summary>How a road summary is judged (<see cref="TankerLogOptions"/>).</summary>
public sealed record TankerRoadLimits(double AboveC, TimeSpan ReadingValidFor, double MaxPlausibleSpeedKmh);

/// <summary>
/// A tanker load on the road, the read model the chain publishes for traces, EPCIS and the audits' alert rule: the
/// route (first pickup to intake), the logger readings on it per compartment, and the distance between its fixes.
/// </summary>
public sealed record TankerRoad
{
    public required string TankerLoadId { get; init; }

    /// <summary>The first pickup into the load (the earliest pickup edge), when the chain has one.</summary>
    public DateTimeOffset? PickedUpAt { get; init; }

    /// <summary>The load's weighbridge intake (its receipt), when the chain has one.</summary>
    public DateTimeOffset? ReceivedAt { get; init; }

    public string? ReceivedByPlantId { get; init; }

    /// <summary>Readings between pickup and intake (both ends included; an end not known yet does not bound).</summary>
    public IReadOnlyList<TankerLogEntry> Readings { get; init; } = [];

    /// <summary>Readings of this load outside its route (before the first pickup or after the intake): stored, not judged.</summary>
    public int ReadingsOutsideRoute { get; init; }

    public IReadOnlyList<CompartmentRoad> Compartments { get; init; } = [];

    /// <summary>Sum of the great-circle distances between consecutive fixes on the route; null with fewer than two.</summary>
    public double? DistanceKm { get; init; }

    /// <summary>Steps between fixes left out of the distance because they would need a speed above the plausible one.</summary>
    public int ImplausibleSteps { get; init; }

    public required double AboveC { get; init; }

    /// <summary>Pickup to intake; null until both are known.</summary>
    public TimeSpan? RouteTime => PickedUpAt is { } from && ReceivedAt is { } to && to >= from ? to - from : null;

    /// <summary>The longest time any one compartment spent above the limit.</summary>
    public TimeSpan LongestAboveLimit
    {
        get
        {
            var longest = TimeSpan.Zero;
            foreach (var compartment in Compartments)
            {
                if (compartment.AboveLimit > longest)
                {
                    longest = compartment.AboveLimit;
                }
            }

            return longest;
        }
    }

    /// <summary>
    /// Builds the summary from a load's readings (any order). Time above the limit: a reading above it counts until the
    /// compartment's next reading (or, for the last one, the intake), but for at most
    /// <see cref="TankerRoadLimits.ReadingValidFor"/>: a logger that went quiet is not assumed warm (or cold) for the gap.
    /// </summary>
    public static TankerRoad Summarise(
        string tankerLoadId, IReadOnlyList<TankerLogEntry> readings, DateTimeOffset? pickedUpAt, DateTimeOffset? receivedAt, string? receivedBy,
        TankerRoadLimits limits)
    {
        var onRoute = new List<TankerLogEntry>(readings.Count);
        var outside = 0;
        foreach (var reading in readings)
        {
            if ((pickedUpAt is { } from && reading.At < from) || (receivedAt is { } to && reading.At > to))
            {
                outside++;
            }
            else
            {
                onRoute.Add(reading);
            }
        }

        onRoute.Sort(static (a, b) => a.At != b.At ? a.At.CompareTo(b.At)
            : string.CompareOrdinal(a.DeviceId, b.DeviceId) is var byDevice and not 0 ? byDevice
            : a.BootEpoch != b.BootEpoch ? a.BootEpoch.CompareTo(b.BootEpoch) : a.Seq.CompareTo(b.Seq));

        var byCompartment = new SortedDictionary<int, List<(DateTimeOffset At, double C)>>();
        foreach (var reading in onRoute)
        {
            foreach (var compartment in reading.Compartments)
            {
                if (!byCompartment.TryGetValue(compartment.Compartment, out var series))
                {
                    series = [];
                    byCompartment[compartment.Compartment] = series;
                }

                series.Add((reading.At, compartment.TemperatureC));
            }
        }

        var compartments = new List<CompartmentRoad>(byCompartment.Count);
        foreach (var (number, series) in byCompartment)
        {
            double min = double.MaxValue, max = double.MinValue;
            var above = TimeSpan.Zero;
            for (var i = 0; i < series.Count; i++)
            {
                var (at, c) = series[i];
                min = Math.Min(min, c);
                max = Math.Max(max, c);
                if (c <= limits.AboveC)
                {
                    continue;
                }

                DateTimeOffset? end = i + 1 < series.Count ? series[i + 1].At : receivedAt;
                if (end is { } until && until > at)
                {
                    var span = until - at;
                    above += span < limits.ReadingValidFor ? span : limits.ReadingValidFor;
                }
            }

            var last = series[^1];
            compartments.Add(new CompartmentRoad(number, series.Count, min, max, last.C, last.At, above));
        }

        double? distance = null;
        var implausible = 0;
        for (var i = 1; i < onRoute.Count; i++)
        {
            var km = onRoute[i - 1].Position.DistanceKmTo(onRoute[i].Position);
            var hours = (onRoute[i].At - onRoute[i - 1].At).TotalHours;
            // A fix far from the one before it in too short a time is a GPS jump (multipath, a bad first fix), not a road.
            if (km > 0 && (hours <= 0 || km / hours > limits.MaxPlausibleSpeedKmh))
            {
                implausible++;
                continue;
            }

            distance = (distance ?? 0) + km;
        }

        return new TankerRoad
        {
            TankerLoadId = tankerLoadId,
            PickedUpAt = pickedUpAt,
            ReceivedAt = receivedAt,
            ReceivedByPlantId = receivedBy,
            Readings = onRoute,
            ReadingsOutsideRoute = outside,
            Compartments = compartments,
            DistanceKm = onRoute.Count >= 2 ? distance ?? 0 : null,
            ImplausibleSteps = implausible,
            AboveC = limits.AboveC,
        };
    }
}
