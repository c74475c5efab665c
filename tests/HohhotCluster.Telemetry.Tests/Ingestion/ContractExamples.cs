namespace HohhotCluster.Telemetry.Tests.Ingestion;

/// <summary>Reads the JSON examples out of docs/mqtt-contract.md, so the documented examples are the tested ones.</summary>
public static class ContractExamples
{
    public static IReadOnlyList<string> All { get; } = Load();

    public static string Milking => All.Single(e => e.Contains("\"visit\"", StringComparison.Ordinal));

    public static string BulkTankLevel => All.Single(e => e.Contains("\"event\": \"level\"", StringComparison.Ordinal));

    public static string BulkTankCollection => All.Single(e => e.Contains("\"event\": \"collection\"", StringComparison.Ordinal));

    public static string BulkTankFilling => All.Single(e => e.Contains("\"event\": \"filling\"", StringComparison.Ordinal));

    public static string PlantIntake => All.Single(e => e.Contains("\"netKg\"", StringComparison.Ordinal));

    private static List<string> Load()
    {
        var text = File.ReadAllText(Path.Combine(SharedData.RepoRoot, "docs", "mqtt-contract.md"));
        var examples = new List<string>();
        var at = 0;
        while ((at = text.IndexOf("```json\n", at, StringComparison.Ordinal)) >= 0)
        {
            var start = at + "```json\n".Length;
            var end = text.IndexOf("```", start, StringComparison.Ordinal);
            examples.Add(text[start..end]);
            at = end + 3;
        }

        return examples;
    }
}
