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

    /// <summary>
    /// The document's problems against the schema, each as "pointer: message", most specific first; empty when it
    /// validates. Every problem names the field that failed: a missing required member is named by its own pointer
    /// (<c>/epcisBody/eventList/0/eventTime</c>), not by the object that lacks it, and a failing anyOf / oneOf / allOf
    /// / if-then / $ref over an object is left out when the failures beneath it name the fields.
    /// </summary>
    public IReadOnlyList<string> Validate(JsonElement document)
    {
        var schema = _schema.Value ?? throw new TracePreconditionException(
            "The EPCIS 2.0 schema is not available on this platform: set Traceability:EpcisSchemaPath to EPCIS-JSON-Schema.json.");
        var results = schema.Evaluate(document, new EvaluationOptions { OutputFormat = OutputFormat.List, RequireFormatValidation = true });
        if (results.IsValid)
        {
            return [];
        }

        // The list output holds every node evaluated, also the failing branches of an anyOf / if that passed as a
        // whole: an error counts only when no node above it (same or enclosing instance, enclosing evaluation path) passed.
        var passed = new List<(string Eval, string At)>();
        foreach (var detail in results.Details ?? [])
        {
            if (detail.IsValid)
            {
                passed.Add((detail.EvaluationPath.ToString(), detail.InstanceLocation.ToString()));
            }
        }

        var specific = new List<(string Pointer, string Problem)>();
        var combinators = new List<(string Pointer, string Problem)>();
        foreach (var detail in results.Details ?? [])
        {
            if (detail.Errors is not { Count: > 0 } errors)
            {
                continue;
            }

            var eval = detail.EvaluationPath.ToString();
            var instance = detail.InstanceLocation.ToString();
            if (passed.Any(p => eval.StartsWith(p.Eval + "/", StringComparison.Ordinal)
                && (instance == p.At || instance.StartsWith(p.At + "/", StringComparison.Ordinal) || p.At.Length == 0)))
            {
                continue;
            }

            var at = detail.InstanceLocation.ToString();
            foreach (var (keyword, message) in errors)
            {
                if (keyword == "required")
                {
                    foreach (var name in MissingNames(message))
                    {
                        var pointer = $"{at}/{Escape(name)}";
                        specific.Add((pointer, $"{pointer}: required member '{name}' is missing (required at {detail.EvaluationPath})"));
                    }

                    continue;
                }

                var where = at.Length > 0 ? at : "/";
                var problem = (where, $"{where}: {message} ({keyword} at {detail.EvaluationPath})");
                (keyword is "anyOf" or "oneOf" or "allOf" or "if" or "then" or "else" or "$ref" or "not" ? combinators : specific).Add(problem);
            }
        }

        // A combinator's failure is kept only where nothing beneath it says which field failed.
        foreach (var combinator in combinators)
        {
            if (!specific.Any(p => p.Pointer.StartsWith(combinator.Pointer.TrimEnd('/') + "/", StringComparison.Ordinal) || p.Pointer == combinator.Pointer))
            {
                specific.Add(combinator);
            }
        }

        var problems = new List<string>();
        // Deepest first: the field itself before the objects around it.
        foreach (var (_, problem) in specific.OrderByDescending(p => p.Pointer.Count(c => c == '/')).ThenBy(p => p.Pointer, StringComparer.Ordinal))
        {
            if (!problems.Contains(problem))
            {
                problems.Add(problem);
            }

            if (problems.Count >= MaxProblems)
            {
                break;
            }
        }

        if (problems.Count == 0)
        {
            problems.Add("/: the document does not validate against the EPCIS 2.0 schema");
        }

        return problems;
    }

    /// <summary>The member names a "required" message lists (the evaluator quotes each).</summary>
    private static IEnumerable<string> MissingNames(string message)
    {
        var names = new List<string>();
        for (var i = message.IndexOf('"', StringComparison.Ordinal); i >= 0;)
        {
            var end = message.IndexOf('"', i + 1);
            if (end < 0)
            {
                break;
            }

            names.Add(message[(i + 1)..end]);
            i = message.IndexOf('"', end + 1);
        }

        return names.Count > 0 ? names : ["(unnamed)"];
    }

    private static string Escape(string name) => name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static JsonSchema? Load(string? configured) =>
        // A registry of its own: the schema's $id must not collide in the process-wide default registry.
        LocateSchema(configured) is { } path ? JsonSchema.FromFile(path, new BuildOptions { SchemaRegistry = new SchemaRegistry() }) : null;
}
