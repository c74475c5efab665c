using System.Globalization;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.Dashboard.Components;

/// <summary>
/// The ECharts option of a chain: one column per stage (bulk-tank lot, tanker load, receipt, silo batch, product
/// lot), each edge labelled with the kilograms the API gave it. Nothing is summed here.
/// </summary>
public static class LotGraph
{
    public static string Key(LotRef lot) => $"{lot.Kind}:{lot.Id}";

    public static object Option(IEnumerable<Lot> lots, IEnumerable<TraceEdge> edges, Func<LotKind, string> kindName)
    {
        var byKind = lots.GroupBy(l => Key(l.Ref)).Select(g => g.First()).GroupBy(l => l.Ref.Kind).ToDictionary(g => g.Key, g => g.ToList());
        var nodes = new List<object>();
        foreach (var (kind, members) in byKind)
        {
            for (var i = 0; i < members.Count; i++)
            {
                var lot = members[i];
                var failed = lot.QualityChecks.Any(q => q.Verdict == "fail");
                nodes.Add(new
                {
                    id = Key(lot.Ref),
                    name = $"{kindName(kind)}\n{lot.Ref.Id}",
                    x = Column(kind) * 260,
                    y = i * 70,
                    value = lot.Kg,
                    symbolSize = 16,
                    itemStyle = new { color = failed ? "#a4161a" : "#0b5cad" },
                    label = new { show = true, position = "right", fontSize = 10 },
                });
            }
        }

        var links = edges.Select(e => new
        {
            source = Key(e.From),
            target = Key(e.To),
            label = e.Kg.ToString("N0", CultureInfo.CurrentCulture) + " kg",
        }).ToArray();
        return new
        {
            tooltip = new { },
            graphEdgeLabels = true,
            series = new object[]
            {
                new
                {
                    type = "graph",
                    layout = "none",
                    roam = true,
                    edgeSymbol = new[] { "none", "arrow" },
                    data = nodes,
                    links,
                    lineStyle = new { color = "#6b7785", width = 1.5 },
                },
            },
        };
    }

    private static int Column(LotKind kind) => kind switch
    {
        LotKind.BulkTank => 0,
        LotKind.TankerLoad => 1,
        LotKind.Receipt => 2,
        LotKind.SiloBatch => 3,
        _ => 4,
    };
}
