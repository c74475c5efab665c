using System.ComponentModel.DataAnnotations;

namespace HohhotCluster.Telemetry.Traceability.Tanker;

/// <summary>Section <c>Traceability:TankerLog</c>: how the road readings of a load are summarised.</summary>
public sealed class TankerLogOptions
{
    /// <summary>
    /// Milk above this (°C) in transit counts as "above the limit" (domain.md: tanker milk above about 7 °C on arrival is
    /// a warning; industry practice, the statutory text is unverified, hence configuration).
    /// </summary>
    [Range(-5.0, 50.0, ErrorMessage = "Traceability:TankerLog:AboveC must be between -5 and 50 °C.")]
    public double AboveC { get; set; } = 7.0;

    /// <summary>
    /// A reading stands for at most this long when time above the limit is summed: a logger silent for an hour is not
    /// taken to have read the same for the whole hour. Three times the simulator's 5-minute cadence (platform's judgement).
    /// </summary>
    [Range(typeof(TimeSpan), "00:01:00", "02:00:00", ErrorMessage = "Traceability:TankerLog:ReadingValidFor must be between 1 minute and 2 hours.")]
    public TimeSpan ReadingValidFor { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>A step between two fixes needing more than this speed is a GPS jump and left out of the distance (platform's judgement).</summary>
    [Range(20.0, 1000.0, ErrorMessage = "Traceability:TankerLog:MaxPlausibleSpeedKmh must be between 20 and 1000 km/h.")]
    public double MaxPlausibleSpeedKmh { get; set; } = 150;

    public TankerRoadLimits Limits => new(AboveC, ReadingValidFor, MaxPlausibleSpeedKmh);
}
