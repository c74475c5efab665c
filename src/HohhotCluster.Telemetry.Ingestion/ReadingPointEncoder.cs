using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.TimeSeries;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// One InfluxDB point per reading: measurement = kind; tags county, pasture/herd or plant, device (low cardinality:
/// never the animal or the lot); numeric fields; time = event time with the sequence folded in (see
/// <see cref="LineProtocolWriter.TimestampFor"/>), so a rewritten reading overwrites its own point.
/// </summary>
public static class ReadingPointEncoder
{
    /// <summary>Writes any of the reading types.</summary>
    public static void Write(LineProtocolWriter writer, object reading)
    {
        switch (reading)
        {
            case MilkingReading m: Write(writer, m); break;
            case BulkTankReading b: Write(writer, b); break;
            case PlantIntakeReading p: Write(writer, p); break;
            default: throw new ArgumentException($"Not a reading: {reading.GetType().Name}", nameof(reading));
        }
    }

    public static void Write(LineProtocolWriter writer, MilkingReading r)
    {
        writer.Measurement("milking")
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
        writer.Measurement("bulk_tank")
            .Tag("county", r.CountyId).Tag("device", r.Key.DeviceId)
            .Tag("event", r.Kind == BulkTankEventKind.Collection ? "collection" : "level")
            .Tag("pasture", r.PastureId).Tag("tank", r.TankId)
            .Field("volume_l", r.VolumeLitres)
            .Field("temperature_c", r.TemperatureC)
            .Field("collected_kg", r.CollectedKg)
            .Field("seq", r.Key.Sequence)
            .Timestamp(LineProtocolWriter.TimestampFor(r.EventTime, r.Key.Sequence));
    }

    public static void Write(LineProtocolWriter writer, PlantIntakeReading r)
    {
        writer.Measurement("plant_intake")
            .Tag("county", r.CountyId).Tag("device", r.Key.DeviceId).Tag("plant", r.PlantId)
            .Field("net_kg", r.NetKg)
            .Field("temperature_c", r.TemperatureC)
            .Field("seq", r.Key.Sequence)
            .Timestamp(LineProtocolWriter.TimestampFor(r.EventTime, r.Key.Sequence));
    }
}
