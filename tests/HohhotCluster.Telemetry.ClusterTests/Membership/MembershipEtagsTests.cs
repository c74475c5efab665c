using System.Net;
using HohhotCluster.Telemetry.Storage.Cluster;
using Orleans;
using Orleans.Runtime;

namespace HohhotCluster.Telemetry.ClusterTests.Membership;

/// <summary>The membership table's etag and column rules, without a database.</summary>
public sealed class MembershipEtagsTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("41", 41L)]
    [InlineData("9223372036854775807", long.MaxValue)]
    public void An_etag_is_the_decimal_text_of_a_stored_bigint(string etag, long stored)
    {
        Assert.Equal(stored, MembershipEtags.Parse(etag));
        Assert.Equal(etag, MembershipEtags.Format(stored));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("-1")]
    [InlineData("+1")]
    [InlineData(" 1")]
    [InlineData("1.0")]
    [InlineData("0x10")]
    [InlineData("W/\"1\"")]
    [InlineData("99999999999999999999")]
    public void An_etag_that_no_row_can_hold_matches_nothing(string? etag)
    {
        Assert.Null(MembershipEtags.Parse(etag));
    }

    [Fact]
    public void A_table_version_with_an_unreadable_etag_or_a_negative_version_is_not_written()
    {
        Assert.True(MembershipEtags.IsWritable(new TableVersion(1, "0")));
        Assert.False(MembershipEtags.IsWritable(new TableVersion(1, "etag")));
        Assert.False(MembershipEtags.IsWritable(new TableVersion(-1, "0")));
    }

    [Fact]
    public void Suspect_times_round_trip_through_their_column_in_order()
    {
        var a = SiloAddress.New(new IPEndPoint(IPAddress.Loopback, 19412), 7);
        var b = SiloAddress.New(new IPEndPoint(IPAddress.Parse("10.0.0.2"), 11111), 123456789);
        var times = new List<Tuple<SiloAddress, DateTime>>
        {
            Tuple.Create(a, new DateTime(2026, 12, 1, 21, 3, 27, 123, DateTimeKind.Utc)),
            Tuple.Create(b, new DateTime(2026, 12, 1, 21, 3, 29, 0, DateTimeKind.Unspecified)),
        };

        var parsed = MembershipEtags.ParseSuspectTimes(MembershipEtags.FormatSuspectTimes(times));

        Assert.Equal(2, parsed.Count);
        Assert.Equal((a, times[0].Item2), (parsed[0].Item1, parsed[0].Item2));
        Assert.Equal(b, parsed[1].Item1);
        Assert.Equal(DateTimeKind.Utc, parsed[1].Item2.Kind);
        Assert.Equal(times[1].Item2.Ticks, parsed[1].Item2.Ticks);
    }

    [Fact]
    public void No_suspicions_are_an_empty_column_and_an_empty_list()
    {
        Assert.Equal("", MembershipEtags.FormatSuspectTimes(null));
        Assert.Equal("", MembershipEtags.FormatSuspectTimes([]));
        Assert.Empty(MembershipEtags.ParseSuspectTimes(""));
    }

    [Fact]
    public void A_suspicion_without_its_time_is_refused_naming_the_column()
    {
        var error = Assert.Throws<FormatException>(() => MembershipEtags.ParseSuspectTimes("127.0.0.1:11111@1"));
        Assert.Contains("suspect_times", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_silo_is_stored_as_its_address_port_and_generation()
    {
        var silo = SiloAddress.New(new IPEndPoint(IPAddress.Parse("192.168.1.20"), 19412), 42);
        Assert.Equal("192.168.1.20", MembershipEtags.Address(silo));
        Assert.Equal(silo, MembershipEtags.Silo("192.168.1.20", 19412, 42));
    }
}
