using System.Text;
using BenchmarkDotNet.Attributes;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Ingestion;
using HohhotCluster.Telemetry.TimeSeries;
using InfluxDB.Client.Api.Domain;
using InfluxDB.Client.Writes;

namespace HohhotCluster.Telemetry.Benchmarks;

/// <summary>
/// One ingestion batch of milkings (the platform's MaxBatchMessages, 2,000) to the bytes of an InfluxDB write body:
/// the platform's <see cref="LineProtocolWriter"/> (via <see cref="ReadingPointEncoder"/>) against InfluxDB.Client's
/// <see cref="PointData"/> builder, which builds an immutable point per field and a string per line.
/// </summary>
[MemoryDiagnoser]
public class LineProtocolBenchmarks
{
    private MilkingReading[] _readings = [];
    private LineProtocolWriter _writer = new();

    [Params(2000)]
    public int Points { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var start = new DateTimeOffset(2026, 11, 28, 4, 30, 0, TimeSpan.FromHours(8));
        _readings = new MilkingReading[Points];
        for (var i = 0; i < Points; i++)
        {
            _readings[i] = new MilkingReading
            {
                Key = new ReadingKey($"P150121005-MM{i % 60}", 1795795200, 1 + (i / 60)),
                EventTime = start.AddSeconds(i * 7),
                CountyId = "150121",
                PastureId = "P150121005",
                HerdId = $"P150121005-H{i % 8}",
                AnimalId = "2150121" + (13787 + i).ToString("D8", System.Globalization.CultureInfo.InvariantCulture),
                YieldKg = 9.2 + (i % 10 * 0.1),
                DurationSeconds = 345,
                ConductivityMsPerCm = 5.2,
                MilkTemperatureC = 37.1,
                FatPercent = 3.61,
                ProteinPercent = 3.40,
                SomaticCellsThousandPerMl = 31,
            };
        }

        _writer = new LineProtocolWriter(256 * Points);
    }

    [Benchmark(Baseline = true, Description = "LineProtocolWriter (platform)")]
    public int PlatformWriter()
    {
        _writer.Clear();
        foreach (var r in _readings)
        {
            ReadingPointEncoder.Write(_writer, r);
        }

        return _writer.WrittenMemory.Length;
    }

    [Benchmark(Description = "InfluxDB.Client PointData + UTF-8")]
    public int ClientPointData()
    {
        var body = new StringBuilder(256 * _readings.Length);
        foreach (var r in _readings)
        {
            var point = PointData.Measurement("milking")
                .Tag("county", r.CountyId).Tag("device", r.Key.DeviceId).Tag("herd", r.HerdId).Tag("pasture", r.PastureId)
                .Field("yield_kg", r.YieldKg)
                .Field("duration_s", r.DurationSeconds)
                .Field("conductivity_ms_cm", r.ConductivityMsPerCm)
                .Field("milk_temperature_c", r.MilkTemperatureC)
                .Field("fat_pct", r.FatPercent)
                .Field("protein_pct", r.ProteinPercent)
                .Field("scc_k_per_ml", r.SomaticCellsThousandPerMl)
                .Field("seq", r.Key.Sequence)
                .Timestamp(LineProtocolWriter.TimestampFor(r.EventTime, r.Key.Sequence), WritePrecision.Ns);
            if (body.Length > 0)
            {
                body.Append('\n');
            }

            body.Append(point.ToLineProtocol());
        }

        return Encoding.UTF8.GetByteCount(body.ToString());
    }
}
