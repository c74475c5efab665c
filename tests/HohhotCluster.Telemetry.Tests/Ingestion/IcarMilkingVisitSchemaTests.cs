using System.Text.Json;
using Json.Schema;

namespace HohhotCluster.Telemetry.Tests.Ingestion;

/// <summary>The contract's milking payload carries an ICAR ADE milking visit that the official schema accepts.</summary>
public sealed class IcarMilkingVisitSchemaTests
{
    private static readonly Lazy<JsonSchema> MilkingVisitSchema = new(LoadSchema);

    [Fact]
    public void Contract_milking_visit_validates_against_the_ICAR_ADE_schema()
    {
        var results = Evaluate(Visit(ContractExamples.Milking));
        Assert.True(results.IsValid, Describe(results));
    }

    [Fact]
    public void ICAR_schema_rejects_a_visit_without_milk_weight()
    {
        // Guards the test above against a schema that accepts anything.
        var visit = Visit(ContractExamples.Milking).Replace("\"milkingMilkWeight\"", "\"milkingMilkWeightX\"", StringComparison.Ordinal);
        Assert.False(Evaluate(visit).IsValid);
    }

    private static EvaluationResults Evaluate(string json)
    {
        using var document = JsonDocument.Parse(json);
        return MilkingVisitSchema.Value.Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
    }

    private static string Visit(string payload)
    {
        using var document = JsonDocument.Parse(payload);
        return document.RootElement.GetProperty("visit").GetRawText();
    }

    private static JsonSchema LoadSchema()
    {
        var root = Path.Combine(SharedData.SharedRoot, "data", "icar-ade");
        // ICAR's files carry OpenAPI keywords (nullable, discriminator): a 2020-12 dialect that tolerates unknown keywords.
        var options = new BuildOptions
        {
            Dialect = Dialect.Draft202012.With([], new Uri("https://hohhot.example/dialects/icar-ade"), refIgnoresSiblingKeywords: null, allowUnknownKeywords: true),
        };
        JsonSchema? visit = null;
        foreach (var file in Directory.EnumerateFiles(root, "*.json", SearchOption.AllDirectories))
        {
            var schema = JsonSchema.FromFile(file, options);
            if (Path.GetFileName(file) == "icarMilkingVisitEventResource.json")
            {
                visit = schema;
            }
        }

        return visit ?? throw new FileNotFoundException("icarMilkingVisitEventResource.json not found under " + root);
    }

    private static string Describe(EvaluationResults results) =>
        string.Join("\n", (results.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key} {e.Value}")));
}
