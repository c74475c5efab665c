using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.TimeSeries;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// One InfluxDB point per reading: measurement = kind; tags boot, county, pasture/herd or plant, device (never the
/// animal or the lot, which would make a series per animal; the boot makes one per device boot, the price of a
/// point per key); numeric fields; time = event time with the sequence folded in (see
/// <see cref="LineProtocolWriter.TimestampFor"/>), so a rewritten reading overwrites its own point.
/// </summary>
public static class ReadingPointEncoder
{
    /// <summary>The tag holding a keyed reading's boot epoch (see <see cref="KindPoints.Measurement"/>).</summary>
    public const string BootTag = KindPoints.BootTag;

    public static void Write(LineProtocolWriter writer, MilkingReading r)
    {
        writer.Measurement("milking", r.Key)
            .Tag("county", r.CountyId).Tag("device", r.Key.DeviceId).Tag("herd", r.HerdId).Tag("pasture", r.PastureId)
            .Field("yield_kg", r.YieldKg)
            .Field("duration_s", r.DurationSeconds)
            .Field("conductivity_ms_cm", r.ConductivityMsPerCm)
            .Field("milk_temperature_c", r.MilkTemperatureC)
            .Field("fat_pct", r.FatPercent)
            .Field("protein_pct", r.ProteinPercent)
            .Field("scc_k_per_ml", r.SomaticCellsThousandPerMl)
            .Field("seq", r.Key.Sequence)
            .Timestamp(LineProtocolWriter.TimestampFor(r.EventTime, r.Key.Sequence));
    }

    public static void Write(LineProtocolWriter writer, BulkTankReading r)
    {
        writer.Measurement("bulk_tank", r.Key)
            .Tag("county", r.CountyId).Tag("device", r.Key.DeviceId)
            .Tag("event", r.Kind switch { BulkTankEventKind.Collection => "collection", BulkTankEventKind.Filling => "filling", _ => "level" })
            .Tag("pasture", r.PastureId).Tag("tank", r.TankId)
            .Field("volume_l", r.VolumeLitres)
            .Field("temperature_c", r.TemperatureC)
            .Field("collected_kg", r.CollectedKg)
            .Field("seq", r.Key.Sequence)
            .Timestamp(LineProtocolWriter.TimestampFor(r.EventTime, r.Key.Sequence));
    }

    public static void Write(LineProtocolWriter writer, PlantIntakeReading r)
    {
        writer.Measurement("plant_intake", r.Key)
            .Tag("county", r.CountyId).Tag("device", r.Key.DeviceId).Tag("plant", r.PlantId)
            .Field("net_kg", r.NetKg)
            .Field("temperature_c", r.TemperatureC)
            .Field("seq", r.Key.Sequence)
            .Timestamp(LineProtocolWriter.TimestampFor(r.EventTime, r.Key.Sequence));
    }
}
