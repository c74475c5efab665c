using HohhotCluster.FirmwareSim.Fleet;

namespace HohhotCluster.FirmwareSim.Simulation;

/// <summary>
/// A tanker's logger on the road (<c>tanker_log</c>): a reading every <see cref="IntervalMinutes"/> from the first
/// handover slip to the weighbridge, in the chain's own times. Each compartment is read once its pickup is in it (the
/// compartment on the slip); its milk goes linearly from the pickup's temperature to the load's arrival temperature
/// (road tankers are insulated, not cooled). A cooling fault makes the first compartment (the longest on board) read
/// <see cref="FaultStartC"/> from its first reading and warm by <see cref="FaultWarmingCPerHour"/> up to
/// <see cref="FaultMaxC"/>: a compartment not cooled before loading, or a failing probe (the platform cannot tell them
/// apart), so even the demo's one-hour roads show it. Positions: pastures and plants have no coordinates
/// in the profiles, so each plant sits at a seeded point near Hohhot and the first pasture of a route at its county's
/// travel time from it (at <see cref="RoadKmPerMinute"/>) on a seeded bearing; the tanker moves in a straight line from
/// there to the plant at the pace that brings it in at the intake (the other pickups lie on the way). Places are
/// illustrative, not surveyed.
/// </summary>
internal static class TankerRoadSimulation
{
    public const int IntervalMinutes = 5;
    public const double FaultStartC = 8.0;
    public const double FaultWarmingCPerHour = 1.5;
    public const double FaultMaxC = 9.8;

    /// <summary>48 km/h: an average over county roads and expressways (the simulator's choice).</summary>
    public const double RoadKmPerMinute = 0.8;

    private const long MinuteMs = 60_000L;
    private const long SlipAfterCollectionMs = 10 * MinuteMs;
    private static readonly (double Lat, double Lon) s_hohhot = (40.842, 111.749);

    /// <summary>When the load's road begins: its first handover slip (the chain's first pickup).</summary>
    public static long RoadStartMs(TankerLoad load) => load.Pickups[0].TimeMs + SlipAfterCollectionMs;

    public static void Generate(TankerLoad load, Device logger, bool coolingFault, long seed, List<SimEvent> events, ref long order)
    {
        var start = RoadStartMs(load);
        var plant = PlantPosition(seed, load.Plant);
        var from = PasturePosition(seed, load.Pickups[0].Pasture, plant);
        var hours = Math.Max(1, load.DeliveryMs - start) / 3_600_000.0;
        var speed = Math.Round(DistanceKm(from, plant) / hours, 1);
        for (var t = start; t < load.DeliveryMs; t += IntervalMinutes * MinuteMs)
        {
            var filled = 0;
            while (filled < load.Pickups.Count && load.Pickups[filled].TimeMs + SlipAfterCollectionMs <= t)
            {
                filled++;
            }
            // A tanker has at most 16 compartments (the contract's range): pickups beyond go unlogged.
            var logged = Math.Min(filled, 16);
            var compartments = new int[logged];
            var temperatures = new double[logged];
            for (var c = 0; c < logged; c++)
            {
                var pickup = load.Pickups[c];
                var since = pickup.TimeMs + SlipAfterCollectionMs;
                var share = load.DeliveryMs > since ? (double)(t - since) / (load.DeliveryMs - since) : 1;
                compartments[c] = pickup.Compartment;
                temperatures[c] = coolingFault && c == 0
                    ? Math.Min(FaultMaxC, FaultStartC + (FaultWarmingCPerHour * (t - since) / 3_600_000.0))
                    : pickup.TemperatureC + ((load.TemperatureC - pickup.TemperatureC) * share);
            }

            var f = (double)(t - start) / (load.DeliveryMs - start);
            events.Add(new SimEvent
            {
                TimeMs = t, Order = order++, Type = SimEventType.TankerLog, DeviceIndex = logger.Index,
                Detail = new TankerLogReading(load, compartments, temperatures,
                    from.Lat + ((plant.Lat - from.Lat) * f), from.Lon + ((plant.Lon - from.Lon) * f), speed),
            });
        }
    }

    private static (double Lat, double Lon) PlantPosition(long seed, Plant plant)
    {
        var rng = new DeterministicRandom(seed, 41, plant.Index);
        return (s_hohhot.Lat + rng.Uniform(-0.25, 0.25), s_hohhot.Lon + rng.Uniform(-0.4, 0.2));
    }

    private static (double Lat, double Lon) PasturePosition(long seed, Pasture pasture, (double Lat, double Lon) plant)
    {
        var rng = new DeterministicRandom(seed, 42, pasture.Index);
        var km = pasture.County.Profile.TravelMinutes * RoadKmPerMinute * rng.Uniform(0.8, 1.0);
        var bearing = rng.Uniform(0, 2 * Math.PI);
        var lat = plant.Lat + (km * Math.Cos(bearing) / 111.2);
        var lon = plant.Lon + (km * Math.Sin(bearing) / (111.2 * Math.Cos(lat * Math.PI / 180)));
        return (lat, lon);
    }

    private static double DistanceKm((double Lat, double Lon) a, (double Lat, double Lon) b)
    {
        var dLat = (b.Lat - a.Lat) * 111.2;
        var dLon = (b.Lon - a.Lon) * 111.2 * Math.Cos((a.Lat + b.Lat) / 2 * Math.PI / 180);
        return Math.Sqrt((dLat * dLat) + (dLon * dLon));
    }
}
