namespace HohhotCluster.Telemetry.Traceability.Tanker;

/// <summary>The milk temperature one compartment's probe read, in °C.</summary>
public sealed record CompartmentTemperature(int Compartment, double TemperatureC);

/// <summary>A GPS fix: WGS 84 latitude and longitude in decimal degrees.</summary>
public readonly record struct GeoPosition(double LatitudeDeg, double LongitudeDeg)
{
    /// <summary>The IUGG mean Earth radius (R1 = 6,371.0088 km), the usual radius for great-circle distances on WGS 84.</summary>
    public const double EarthMeanRadiusKm = 6371.0088;

    /// <summary>Great-circle (haversine) distance: a straight line over the ground, so a winding road is under-counted.</summary>
    public double DistanceKmTo(GeoPosition other)
    {
        var lat1 = LatitudeDeg * Math.PI / 180;
        var lat2 = other.LatitudeDeg * Math.PI / 180;
        var dLat = lat2 - lat1;
        var dLon = (other.LongitudeDeg - LongitudeDeg) * Math.PI / 180;
        var h = Math.Sin(dLat / 2) * Math.Sin(dLat / 2) + Math.Cos(lat1) * Math.Cos(lat2) * Math.Sin(dLon / 2) * Math.Sin(dLon / 2);
        return 2 * EarthMeanRadiusKm * Math.Asin(Math.Min(1, Math.Sqrt(h)));
    }
}

/// <summary>
/// One <c>tanker_log</c> reading: a tanker's logger between pickup and intake, naming the load it carries, each
/// compartment's milk temperature, where the tanker is and (optionally) how fast it goes.
/// </summary>
public sealed record TankerLogRecord(
    string TankerLoadId,
    string? TankerPlate,
    IReadOnlyList<CompartmentTemperature> Compartments,
    GeoPosition Position,
    double? SpeedKmh)
{
    /// <summary>The warmest compartment's temperature (°C): what a cold-chain limit is judged on.</summary>
    public double MaxTemperatureC
    {
        get
        {
            var max = double.MinValue;
            foreach (var compartment in Compartments)
            {
                max = Math.Max(max, compartment.TemperatureC);
            }

            return max;
        }
    }
}
