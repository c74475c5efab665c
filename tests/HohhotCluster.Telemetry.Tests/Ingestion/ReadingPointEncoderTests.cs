using System.Text;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Ingestion;
using HohhotCluster.Telemetry.TimeSeries;
using InfluxDB.Client.Api.Domain;
using InfluxDB.Client.Writes;

namespace HohhotCluster.Telemetry.Tests.Ingestion;

public sealed class ReadingPointEncoderTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 29, 5, 10, 0, TimeSpan.FromHours(8));

    private static MilkingReading Milking(long bootEpoch, long seq = 42) => new()
    {
        Key = new ReadingKey("P150121001-MM01", bootEpoch, seq),
        EventTime = At,
        CountyId = "150121",
        PastureId = "P150121001",
        HerdId = "P150121001-H1",
        AnimalId = "215012100013787",
        YieldKg = 12.4,
    };

    private static string Encode(object reading)
    {
        var writer = new LineProtocolWriter();
        switch (reading)
        {
            case MilkingReading m: ReadingPointEncoder.Write(writer, m); break;
            case BulkTankReading b: ReadingPointEncoder.Write(writer, b); break;
            case PlantIntakeReading p: ReadingPointEncoder.Write(writer, p); break;
            default: throw new ArgumentException(reading.GetType().Name, nameof(reading));
        }

        return Encoding.UTF8.GetString(writer.WrittenMemory.Span);
    }

    /// <summary>InfluxDB's series key: the measurement and the tag set (everything before the first unescaped space).</summary>
    private static string SeriesOf(string line) => line[..line.IndexOf(' ', StringComparison.Ordinal)];

    [Fact]
    public void Milking_point_matches_InfluxDB_Client_point_builder_with_the_boot_tag()
    {
        var reading = Milking(1_764_345_600);
        var reference = PointData.Measurement("milking")
            .Tag("boot", "1764345600").Tag("county", "150121").Tag("device", "P150121001-MM01")
            .Tag("herd", "P150121001-H1").Tag("pasture", "P150121001")
            .Field("yield_kg", 12.4).Field("seq", 42L)
            .Timestamp(LineProtocolWriter.TimestampFor(At, 42), WritePrecision.Ns)
            .ToLineProtocol();

        // PointData sorts fields by key and the encoder need not: compare the series, the field set and the time.
        var line = Encode(reading);
        Assert.Equal(SeriesOf(reference), SeriesOf(line));
        Assert.Equal(FieldsOf(reference), FieldsOf(line));
        Assert.Equal(reference[reference.LastIndexOf(' ')..], line[line.LastIndexOf(' ')..]);
    }

    private static string[] FieldsOf(string line)
    {
        var parts = line.Split(' ');
        return [.. parts[1].Split(',').Order(StringComparer.Ordinal)];
    }

    [Fact]
    public void Two_boots_with_the_same_time_and_sequence_are_different_points()
    {
        var first = Encode(Milking(1_764_345_600));
        var second = Encode(Milking(1_764_349_200));

        // Same timestamp (event time and seq), so only the series can tell them apart: it must differ.
        Assert.Equal(first[first.LastIndexOf(' ')..], second[second.LastIndexOf(' ')..]);
        Assert.NotEqual(SeriesOf(first), SeriesOf(second));
        Assert.Equal(Encode(Milking(1_764_345_600)), first); // a rewrite of the same reading is the same point
    }

    [Fact]
    public void Every_core_kind_carries_the_boot_tag_first()
    {
        var key = new ReadingKey("PL-YILI-01-WB1", 7, 9);
        object[] readings =
        [
            Milking(7),
            new BulkTankReading { Key = key, EventTime = At, PastureId = "P1", TankId = "T1", Kind = BulkTankEventKind.Level, VolumeLitres = 1, CountyId = "150121" },
            new PlantIntakeReading { Key = key, EventTime = At, PlantId = "PL1", TankerLoadId = "L1", NetKg = 1, CountyId = "150121" },
        ];

        foreach (var reading in readings)
        {
            var series = SeriesOf(Encode(reading));
            Assert.StartsWith("boot=7,", series[(series.IndexOf(',', StringComparison.Ordinal) + 1)..], StringComparison.Ordinal);
        }
    }
}
