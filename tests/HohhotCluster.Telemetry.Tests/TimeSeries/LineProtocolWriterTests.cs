using System.Text;
using HohhotCluster.Telemetry.TimeSeries;
using InfluxDB.Client.Api.Domain;
using InfluxDB.Client.Writes;

namespace HohhotCluster.Telemetry.Tests.TimeSeries;

public sealed class LineProtocolWriterTests
{
    [Fact]
    public void Encoding_matches_InfluxDB_Client_point_builder()
    {
        // PointData sorts fields by key; line protocol does not require it, so the test writes them in that order.
        var writer = new LineProtocolWriter();
        writer.Measurement("milking").Tag("boot", -1_764_345_600L).Tag("county", "150121").Tag("device", "P1 MM,01").Tag("herd", "a=b")
            .Field("seq", 42L).Field("yield_kg", 12.4).Timestamp(1_764_365_400_000_000_042);

        var reference = PointData.Measurement("milking")
            .Tag("boot", "-1764345600").Tag("county", "150121").Tag("device", "P1 MM,01").Tag("herd", "a=b")
            .Field("yield_kg", 12.4).Field("seq", 42L)
            .Timestamp(1_764_365_400_000_000_042L, WritePrecision.Ns)
            .ToLineProtocol();

        Assert.Equal(reference, Encoding.UTF8.GetString(writer.WrittenMemory.Span));
    }

    [Fact]
    public void Points_are_newline_separated_and_counted()
    {
        var writer = new LineProtocolWriter();
        writer.Measurement("a").Field("x", 1.0).Timestamp(1);
        writer.Measurement("b").Field("y", 2.5).Timestamp(2);
        Assert.Equal("a x=1 1\nb y=2.5 2", Encoding.UTF8.GetString(writer.WrittenMemory.Span));
        Assert.Equal(2, writer.PointCount);
    }

    [Fact]
    public void Missing_optional_fields_and_empty_tags_are_left_out()
    {
        var writer = new LineProtocolWriter();
        writer.Measurement("m").Tag("empty", "").Field("a", (double?)null).Field("b", 3.0).Timestamp(5);
        Assert.Equal("m b=3 5", Encoding.UTF8.GetString(writer.WrittenMemory.Span));
    }

    [Fact]
    public void Non_finite_field_is_refused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new LineProtocolWriter().Measurement("m").Field("a", double.NaN));

    [Fact]
    public void Timestamps_of_one_device_never_collide_and_repeat_exactly()
    {
        var t = new DateTimeOffset(2026, 11, 29, 5, 10, 0, TimeSpan.FromHours(8));
        Assert.NotEqual(LineProtocolWriter.TimestampFor(t, 1), LineProtocolWriter.TimestampFor(t, 2));
        Assert.Equal(LineProtocolWriter.TimestampFor(t, 7), LineProtocolWriter.TimestampFor(t, 7));
        Assert.Equal(t.ToUnixTimeMilliseconds(), LineProtocolWriter.TimestampFor(t, 999_999) / 1_000_000);
    }
}
