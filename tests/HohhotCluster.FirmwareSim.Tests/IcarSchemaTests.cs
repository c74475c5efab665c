using System.Text.Json;
using Json.Schema;
using HohhotCluster.FirmwareSim.Publishing;

namespace HohhotCluster.FirmwareSim.Tests;

public class IcarSchemaTests
{
    [Fact]
    public void Every_generated_milking_visit_validates_against_the_ICAR_schema()
    {
        var schema = LoadIcarSchema("resources/icarMilkingVisitEventResource.json");
        var messages = TestFleets.Run(TestFleets.Generate("demo", seed: 5), TimeSpan.FromDays(2));
        var milkings = 0;

        foreach (var message in messages)
        {
            if (message.Kind != MessageKind.Milking)
            {
                continue;
            }
            milkings++;
            var visit = TestFleets.Parse(message).GetProperty("visit");
            var result = schema.Evaluate(visit, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
            Assert.True(result.IsValid, $"{message.Topic}: {Describe(result)}");
        }
        Assert.True(milkings > 500, $"only {milkings} milkings generated");
    }

    [Fact]
    public void The_schema_rejects_a_visit_without_milk_weight()
    {
        var schema = LoadIcarSchema("resources/icarMilkingVisitEventResource.json");
        using var document = JsonDocument.Parse("""{"resourceType":"icarMilkingVisitEventResource","animal":{"scheme":"cn.moa.eartag","id":"215012100000001"},"milkingStartingDateTime":"2026-11-28T21:10:00Z"}""");

        Assert.False(schema.Evaluate(document.RootElement).IsValid);
    }

    /// <summary>
    /// ICAR files have no $id: each is fetched under its file URI so relative $refs resolve from its
    /// folder. Their OpenAPI words (discriminator, nullable) are not JSON Schema: allowed and ignored.
    /// </summary>
    private static JsonSchema LoadIcarSchema(string relativePath)
    {
        var root = Path.Combine(TestFleets.SharedDataDirectory(), "icar-ade");
        var registry = new SchemaRegistry();
        var options = new BuildOptions { SchemaRegistry = registry, Dialect = Dialect.Draft202012.With([], allowUnknownKeywords: true) };
        registry.Fetch = (uri, _) =>
        {
            var path = uri.LocalPath;
            return File.Exists(path) ? JsonSchema.FromFile(path, options, uri) : null;
        };
        var fullPath = Path.GetFullPath(Path.Combine(root, relativePath));
        return JsonSchema.FromFile(fullPath, options, new Uri(fullPath));
    }

    private static string Describe(EvaluationResults result)
    {
        var errors = new List<string>();
        foreach (var detail in result.Details ?? [])
        {
            if (detail.Errors is { } found)
            {
                foreach (var (keyword, message) in found)
                {
                    errors.Add($"{detail.InstanceLocation} {keyword}: {message}");
                }
            }
        }
        return string.Join("; ", errors);
    }
}
