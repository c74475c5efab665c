using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace HohhotCluster.Telemetry.Tests.Audit;

/// <summary>The feeding kinds' ICAR members, as docs/mqtt-contract.md's examples write them, against ICAR ADE 1.3's schemas.</summary>
public sealed class FeedingIcarSchemaTests
{
    [Fact]
    public void Contract_ration_validates_as_an_icarRationResource() =>
        AssertValid("resources/icarRationResource.json", Member(FeedingPayloadTests.Ration, "ration"));

    [Fact]
    public void Every_feed_id_of_the_contract_load_validates_as_an_icarFeedIdentifierType()
    {
        using var load = JsonDocument.Parse(FeedingPayloadTests.Load);
        foreach (var ingredient in load.RootElement.GetProperty("ingredients").EnumerateArray())
        {
            AssertValid("types/icarFeedIdentifierType.json", ingredient.GetProperty("feedId").GetRawText());
        }
    }

    [Fact]
    public void Contract_delivery_consumed_ration_validates_as_an_icarConsumedRationType() =>
        AssertValid("types/icarConsumedRationType.json", Member(FeedingPayloadTests.Delivery, "consumedRation"));

    [Fact]
    public void Contract_feed_stock_storage_validates_as_an_icarFeedStorageResource() =>
        AssertValid("resources/icarFeedStorageResource.json", Member(FeedingPayloadTests.Stock, "storage"));

    [Fact]
    public void ICAR_schemas_reject_a_storage_without_id_and_a_quantity_in_litres()
    {
        // Guards the tests above against schemas that accept anything.
        var storage = JsonNode.Parse(Member(FeedingPayloadTests.Stock, "storage"))!.AsObject();
        storage.Remove("id");
        Assert.False(Evaluate("resources/icarFeedStorageResource.json", storage.ToJsonString()).IsValid);
        var consumed = FeedingPayloadTests.With(Member(FeedingPayloadTests.Delivery, "consumedRation"), "entitlement/unitCode", "\"LTR\"");
        Assert.False(Evaluate("types/icarConsumedRationType.json", consumed).IsValid);
    }

    private static string Member(string payload, string name)
    {
        using var document = JsonDocument.Parse(payload);
        return document.RootElement.GetProperty(name).GetRawText();
    }

    private static void AssertValid(string schemaPath, string json)
    {
        var results = Evaluate(schemaPath, json);
        Assert.True(results.IsValid, Describe(results));
    }

    private static EvaluationResults Evaluate(string schemaPath, string json)
    {
        using var document = JsonDocument.Parse(json);
        return Load(schemaPath).Evaluate(document.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
    }

    /// <summary>ICAR files have no $id: each is loaded under its file URI so relative $refs resolve; their OpenAPI words are ignored.</summary>
    private static JsonSchema Load(string relativePath)
    {
        var root = Path.Combine(SharedData.SharedRoot, "data", "icar-ade");
        var registry = new SchemaRegistry();
        var options = new BuildOptions { SchemaRegistry = registry, Dialect = Dialect.Draft202012.With([], allowUnknownKeywords: true) };
        registry.Fetch = (uri, _) => File.Exists(uri.LocalPath) ? JsonSchema.FromFile(uri.LocalPath, options, uri) : null;
        var fullPath = Path.GetFullPath(Path.Combine(root, relativePath));
        return JsonSchema.FromFile(fullPath, options, new Uri(fullPath));
    }

    private static string Describe(EvaluationResults results) =>
        string.Join("; ", (results.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation}: {e.Key} {e.Value}")));
}
