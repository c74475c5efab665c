using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.TimeSeries;

namespace HohhotCluster.Telemetry.Kinds;

/// <summary>
/// The InfluxDB layout every kind's points follow (ARCHITECTURE.md step 5): measurement = kind; tags boot, county,
/// owner, device and the kind's own (never an animal or a lot, which would make a series each); numeric fields and
/// <c>seq</c>; time = event time with the sequence folded in (<see cref="LineProtocolWriter.TimestampFor"/>), so a
/// rewritten reading overwrites its own point.
/// </summary>
public static class KindPoints
{
    /// <summary>The tag holding a keyed reading's boot epoch.</summary>
    public const string BootTag = "boot";

    /// <summary>
    /// Starts the point of a keyed reading: the measurement and the <see cref="BootTag"/> tag. With the device tag
    /// and the timestamp (event time and sequence) it makes the point's identity the reading's key, so two boots
    /// with the same time and sequence never overwrite each other. <c>boot</c> sorts before every tag the kinds
    /// write (county, device, ...): write those after it, in key order, as InfluxDB asks.
    /// </summary>
    public static LineProtocolWriter Measurement(this LineProtocolWriter writer, string measurement, ReadingKey key) =>
        writer.Measurement(measurement).Tag(BootTag, key.BootEpoch);
}
