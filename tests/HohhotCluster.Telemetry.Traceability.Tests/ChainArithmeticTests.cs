using HohhotCluster.Telemetry.Traceability;

namespace HohhotCluster.Telemetry.Traceability.Tests;

/// <summary>Pure tests of the share propagation, the tolerance rule and the freezing-point reader.</summary>
public sealed class ChainArithmeticTests
{
    private static LotNode Lot(long key, string kind) => new() { Key = key, Kind = kind, LotId = key.ToString(System.Globalization.CultureInfo.InvariantCulture) };

    [Fact]
    public void Source_milk_is_passed_on_in_proportion_through_a_blend()
    {
        // 1 (source, 10 t) and 2 (30 t) blend into 3 (40 t); 3 gives 20 t to 4 and 20 t to 5; 5 also takes 20 t from 6.
        var graph = new ChainGraph();
        foreach (var key in new long[] { 1, 2, 3, 4, 5, 6 })
        {
            graph.Lots[key] = Lot(key, LotKinds.SiloBatch);
        }

        graph.Edges.AddRange([new(1, 3, 10_000, null, null), new(3, 4, 20_000, null, null), new(3, 5, 20_000, null, null), new(6, 5, 20_000, null, null)]);
        var inflow = new Dictionary<long, double> { [3] = 40_000, [4] = 20_000, [5] = 40_000 };

        var milk = ChainQueries.PropagateSourceMilk(graph, [1], inflow);

        Assert.Equal(10_000, milk[3], 6);
        Assert.Equal(5_000, milk[4], 6);
        Assert.Equal(5_000, milk[5], 6);
    }

    [Theory]
    [InlineData(20_400, 20_000, 0)]
    [InlineData(20_401, 20_000, 1)]
    [InlineData(19_599, 20_000, -1)]
    [InlineData(0.4, 0, 0)]
    public void Tolerance_is_relative_to_the_expected_kg(double actual, double expected, int beyond) =>
        Assert.Equal(beyond, ChainQueries.Beyond(actual, expected, 0.02));

    [Theory]
    [InlineData("""[{"item": "freezing_point", "value": -0.47}]""", -0.47)]
    [InlineData("""{"freezingPoint": -0.52, "fat": 3.9}""", -0.52)]
    [InlineData("""[{"code": "Freezing Point", "result": -0.49}]""", -0.49)]
    [InlineData("""[{"item": "fat", "value": 3.9}]""", null)]
    [InlineData("not json", null)]
    public void Freezing_point_is_read_from_the_usual_item_layouts(string items, double? expected) =>
        Assert.Equal(expected, ChainQueries.FreezingPoint(items));
}
