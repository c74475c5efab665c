using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Tests.Contracts;

public sealed class SequenceRangeSetTests
{
    private static SequenceRangeSet Of(params long[] numbers)
    {
        var set = new SequenceRangeSet();
        foreach (var number in numbers)
        {
            set.Add(number, maxRanges: 1_000);
        }

        return set;
    }

    [Fact]
    public void In_order_numbers_are_one_range()
    {
        var set = Of([.. Enumerable.Range(1, 10_000).Select(i => (long)i)]);
        Assert.Equal(new SequenceRange(1, 10_000), Assert.Single(set));
        Assert.True(set.Contains(1) && set.Contains(10_000));
        Assert.False(set.Contains(0) || set.Contains(10_001));
    }

    [Fact]
    public void Out_of_order_numbers_fill_holes_and_merge_ranges()
    {
        var set = Of(10, 12, 5, 11, 6, 4, 20, 12);
        Assert.Equal([new SequenceRange(4, 6), new SequenceRange(10, 12), new SequenceRange(20, 20)], set.ToArray());
    }

    [Fact]
    public void Beyond_its_capacity_the_oldest_hole_is_closed()
    {
        var set = new SequenceRangeSet();
        var closed = 0;
        for (long seq = 0; seq < 20; seq += 2)
        {
            closed += set.Add(seq, maxRanges: 8) ? 1 : 0; // ten single-number ranges
        }

        Assert.Equal((2, 8), (closed, set.Count));
        Assert.Equal(new SequenceRange(0, 4), set[0]);
        Assert.True(set.Contains(1) && set.Contains(18));
        Assert.False(set.Contains(5));
    }

    [Fact]
    public void A_closed_hole_is_reported_with_the_numbers_it_was_missing()
    {
        var set = Of(1, 2, 5, 9);
        Assert.True(set.Add(12, maxRanges: 3, out var closedHole));
        Assert.Equal(new SequenceRange(3, 4), closedHole);
        Assert.Equal([new SequenceRange(1, 5), new SequenceRange(9, 9), new SequenceRange(12, 12)], set.ToArray());

        Assert.False(set.Add(13, maxRanges: 3, out closedHole));
        Assert.Equal(default, closedHole);
    }

    [Fact]
    public void A_whole_range_merges_every_range_it_touches()
    {
        var set = Of(1, 5, 9, 20);
        Assert.False(set.Add(new SequenceRange(4, 10), maxRanges: 10, out _));
        Assert.Equal([new SequenceRange(1, 1), new SequenceRange(4, 10), new SequenceRange(20, 20)], set.ToArray());

        Assert.False(set.Add(new SequenceRange(2, 3), maxRanges: 10, out _)); // adjacent on both sides
        Assert.Equal([new SequenceRange(1, 10), new SequenceRange(20, 20)], set.ToArray());
    }

    [Fact]
    public void A_whole_range_beyond_the_capacity_closes_the_oldest_hole()
    {
        var set = Of(1, 10);
        Assert.True(set.Add(new SequenceRange(20, 30), maxRanges: 2, out var closedHole));
        Assert.Equal(new SequenceRange(2, 9), closedHole);
        Assert.Equal([new SequenceRange(1, 10), new SequenceRange(20, 30)], set.ToArray());
    }

    [Fact]
    public void Json_is_a_compact_string_that_reads_back_to_the_same_ranges()
    {
        var set = Of(1, 2, 3, 4, 5, 6, 7, 10, 14, 15, -3);
        var json = JsonSerializer.Serialize(set, PostgresGrainStorage.JsonOptions);
        Assert.Equal("\"-3,4:6,3,4:1\"", json);

        var back = JsonSerializer.Deserialize<SequenceRangeSet>(json, PostgresGrainStorage.JsonOptions)!;
        Assert.Equal(set.ToArray(), back.ToArray());
    }

    [Fact]
    public void Json_of_the_earlier_object_array_form_still_reads()
    {
        var back = JsonSerializer.Deserialize<SequenceRangeSet>("""[{"first":1,"last":7},{"first":10,"last":10}]""", PostgresGrainStorage.JsonOptions)!;
        Assert.Equal([new SequenceRange(1, 7), new SequenceRange(10, 10)], back.ToArray());
    }

    [Theory]
    [InlineData("\"5,0\"")]      // adjacent to the range before
    [InlineData("\"5,-2\"")]     // going backwards
    [InlineData("\"5,x\"")]      // not a number
    [InlineData("\"5:-1\"")]     // a range ending before it starts
    [InlineData("42")]
    public void Corrupt_json_is_refused(string json)
    {
        Assert.Throws<JsonException>(() => JsonSerializer.Deserialize<SequenceRangeSet>(json, PostgresGrainStorage.JsonOptions));
    }
}
