using System.Text.Json;
using Json.Schema;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Traceability;

/// <summary>
/// The official GS1 EPCIS 2.0 JSON schema (Draft-07), loaded on first use from
/// <see cref="TraceabilityOptions.EpcisSchemaPath"/> or from <c>../shared/data/epcis</c> beside the repository. Formats
/// (date-time, uri) are asserted, not only annotated: a partner's malformed timestamp is a problem, not a note.
/// </summary>
public sealed class EpcisSchemaValidator(IOptions<TraceabilityOptions> options)
{
    private const int MaxProblems = 50;
    private readonly Lazy<JsonSchema?> _schema = new(() => Load(options.Value.EpcisSchemaPath));

    public static string? LocateSchema(string? configured)
    {
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return File.Exists(configured) ? configured : null;
        }

        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data", "epcis", "EPCIS-JSON-Schema.json");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The document's problems against the schema, each as "location: message"; empty when it validates.</summary>
    public IReadOnlyList<string> Validate(JsonElement document)
    {
        var schema = _schema.Value ?? throw new TracePreconditionException(
            "The EPCIS 2.0 schema is not available on this platform: set Traceability:EpcisSchemaPath to EPCIS-JSON-Schema.json.");
        var results = schema.Evaluate(document, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
        var problems = new List<string>();
        if (results.IsValid)
        {
            return problems;
        }

        foreach (var detail in results.Details ?? [])
        {
            if (detail.Errors is not { Count: > 0 } errors)
            {
                continue;
            }

            foreach (var (keyword, message) in errors)
            {
                var problem = $"{(detail.InstanceLocation.ToString() is { Length: > 0 } at ? at : "/")}: {message} ({keyword} at {detail.EvaluationPath})";
                if (!problems.Contains(problem))
                {
                    problems.Add(problem);
                }

                if (problems.Count >= MaxProblems)
                {
                    return problems;
                }
            }
        }

        if (problems.Count == 0)
        {
            problems.Add("/: the document does not validate against the EPCIS 2.0 schema");
        }

        return problems;
    }

    private static JsonSchema? Load(string? configured) =>
        // A registry of its own: the schema's $id must not collide in the process-wide default registry.
        LocateSchema(configured) is { } path ? JsonSchema.FromFile(path, new BuildOptions { SchemaRegistry = new SchemaRegistry() }) : null;
}
