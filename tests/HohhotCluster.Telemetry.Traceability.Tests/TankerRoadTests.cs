using HohhotCluster.Telemetry.Traceability.Tanker;

namespace HohhotCluster.Telemetry.Traceability.Tests;

/// <summary>The road summary of a load from its logger readings: pure arithmetic, no database.</summary>
public sealed class TankerRoadTests
{
    private static readonly DateTimeOffset PickedUp = new(2026, 11, 29, 6, 0, 0, TimeSpan.FromHours(8));
    private static readonly TankerRoadLimits Limits = new(7.0, TimeSpan.FromMinutes(15), 150);

    private static TankerLogEntry Reading(int minute, double c1, double? c2 = null, double lat = 40.80, double lon = 111.70, long seq = 0) =>
        new("PL-1-TL1", 1, seq == 0 ? minute + 1 : seq, "TL-1", "PL-1", PickedUp.AddMinutes(minute), new GeoPosition(lat, lon), 60, null,
            c2 is { } second ? [new(1, c1), new(2, second)] : [new(1, c1)]);

    [Fact]
    public void Min_max_and_last_are_per_compartment_in_event_time_order_whatever_the_order_of_arrival()
    {
        TankerLogEntry[] readings = [Reading(10, 4.5, 3.0), Reading(0, 3.8, 3.1), Reading(5, 5.2, 2.9)];

        var road = TankerRoad.Summarise("TL-1", readings, PickedUp, PickedUp.AddMinutes(20), "PL-1", Limits);

        Assert.Equal(2, road.Compartments.Count);
        var c1 = road.Compartments[0];
        Assert.Equal((1, 3, 3.8, 5.2, 4.5, PickedUp.AddMinutes(10)), (c1.Compartment, c1.Readings, c1.MinC, c1.MaxC, c1.LastC, c1.LastAt));
        var c2 = road.Compartments[1];
        Assert.Equal((2, 2.9, 3.1, 3.0), (c2.Compartment, c2.MinC, c2.MaxC, c2.LastC));
        Assert.Equal(TimeSpan.Zero, road.LongestAboveLimit);
        Assert.Equal(TimeSpan.FromMinutes(20), road.RouteTime);
    }

    [Fact]
    public void Time_above_the_limit_runs_from_a_warm_reading_to_the_next_and_the_last_warm_one_to_the_intake()
    {
        // Compartment 1: warm at 10 and 15 (until 20, cold again), warm at 30 (until the intake at 35): 5 + 5 + 5 = 15 min.
        TankerLogEntry[] readings = [Reading(0, 4), Reading(5, 6.9), Reading(10, 7.5), Reading(15, 8.0), Reading(20, 6.0), Reading(25, 7.0), Reading(30, 9.0)];

        var road = TankerRoad.Summarise("TL-1", readings, PickedUp, PickedUp.AddMinutes(35), "PL-1", Limits);

        Assert.Equal(TimeSpan.FromMinutes(15), road.Compartments[0].AboveLimit);
        Assert.Equal(TimeSpan.FromMinutes(15), road.LongestAboveLimit);
    }

    [Fact]
    public void A_warm_reading_before_a_long_silence_counts_for_at_most_the_reading_validity()
    {
        TankerLogEntry[] readings = [Reading(0, 9.0), Reading(120, 9.0)];

        var road = TankerRoad.Summarise("TL-1", readings, PickedUp, PickedUp.AddMinutes(125), "PL-1", Limits);

        // 15 min for the first (capped), 5 min for the last (to the intake).
        Assert.Equal(TimeSpan.FromMinutes(20), road.Compartments[0].AboveLimit);
    }

    [Fact]
    public void The_last_warm_reading_of_a_load_still_on_the_road_adds_nothing_until_the_intake_is_known()
    {
        var road = TankerRoad.Summarise("TL-1", [Reading(0, 9.0), Reading(5, 9.0)], PickedUp, null, null, Limits);

        Assert.Equal(TimeSpan.FromMinutes(5), road.Compartments[0].AboveLimit);
        Assert.Null(road.RouteTime);
    }

    [Fact]
    public void Readings_before_the_pickup_or_after_the_intake_are_counted_apart_and_not_judged()
    {
        TankerLogEntry[] readings = [Reading(-30, 15.0), Reading(0, 4.0), Reading(10, 4.0), Reading(60, 20.0)];

        var road = TankerRoad.Summarise("TL-1", readings, PickedUp, PickedUp.AddMinutes(40), "PL-1", Limits);

        Assert.Equal(2, road.Readings.Count);
        Assert.Equal(2, road.ReadingsOutsideRoute);
        Assert.Equal(4.0, road.Compartments[0].MaxC);
        Assert.Equal(TimeSpan.Zero, road.LongestAboveLimit);
    }

    [Fact]
    public void Distance_sums_the_great_circle_steps_and_leaves_out_a_gps_jump()
    {
        // 0.01° of latitude is 1.112 km; 5 minutes at 13.3 km/h. The third fix jumps ~111 km in 5 minutes and back.
        TankerLogEntry[] readings =
        [
            Reading(0, 4, lat: 40.80), Reading(5, 4, lat: 40.81), Reading(10, 4, lat: 41.81), Reading(15, 4, lat: 40.82),
        ];

        var road = TankerRoad.Summarise("TL-1", readings, PickedUp, PickedUp.AddMinutes(20), "PL-1", Limits);

        Assert.Equal(2, road.ImplausibleSteps);
        Assert.Equal(1.112, road.DistanceKm!.Value, 2);
    }

    [Fact]
    public void Haversine_distance_between_hohhot_and_baotou_is_about_162_km()
    {
        // Hohhot (40.842 N, 111.749 E) to Baotou (40.657 N, 109.840 E): about 162 km over the ground by great circle.
        var km = new GeoPosition(40.842, 111.749).DistanceKmTo(new GeoPosition(40.657, 109.840));

        Assert.InRange(km, 160, 164);
    }

    [Fact]
    public void A_load_with_one_reading_has_no_distance_and_no_route_before_its_pickup_is_known()
    {
        var road = TankerRoad.Summarise("TL-1", [Reading(0, 4)], null, null, null, Limits);

        Assert.Null(road.DistanceKm);
        Assert.Null(road.RouteTime);
        Assert.Single(road.Readings);
    }
}
