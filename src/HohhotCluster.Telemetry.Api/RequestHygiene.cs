using System.Collections;
using Google.Protobuf;
using Google.Protobuf.Reflection;

namespace HohhotCluster.Telemetry.Api;

/// <summary>
/// The contract's limits on every string of every request, checked before any lookup: an id or other short string
/// at most <see cref="MaxIdLength"/> characters, free text at most <see cref="MaxTextLength"/>, an EPCIS document at
/// most <see cref="MaxDocumentLength"/>; U+0000 nowhere (PostgreSQL text cannot hold it). The problem names the
/// field and the limit, never the value sent.
/// </summary>
public static class RequestHygiene
{
    public const int MaxIdLength = 256;
    public const int MaxTextLength = 2000;
    // Schema validation of EPCIS costs about 4 s of CPU per MiB here (BENCHMARKS.md): a partner sends larger documents in parts.
    public const int MaxDocumentLength = 256 * 1024;
    public const int MaxRepeated = 200_000;

    private static int LimitOf(FieldDescriptor field) => field.Name switch
    {
        "document_json" => MaxDocumentLength,
        "reason" or "name" or "name_zh" or "display_name" or "password" or "new_password" or "current_password" => MaxTextLength,
        _ => MaxIdLength,
    };

    public static string? Check(IMessage message) => Check(message, "", 0);

    private static string? Check(IMessage message, string path, int depth)
    {
        if (depth > 16)
        {
            return "The request nests too deeply.";
        }

        foreach (var field in message.Descriptor.Fields.InFieldNumberOrder())
        {
            var name = path.Length == 0 ? field.Name : path + "." + field.Name;
            var value = field.Accessor.GetValue(message);
            if (field.IsRepeated && value is IList list)
            {
                if (list.Count > MaxRepeated)
                {
                    return $"{name} has more than {MaxRepeated} entries.";
                }

                for (var i = 0; i < list.Count; i++)
                {
                    if (CheckValue(field, list[i], $"{name}[{i}]", depth) is { } problem)
                    {
                        return problem;
                    }
                }
            }
            else if (!field.IsMap && CheckValue(field, value, name, depth) is { } problem)
            {
                return problem;
            }
        }

        return null;
    }

    private static string? CheckValue(FieldDescriptor field, object? value, string name, int depth) => value switch
    {
        string text when text.Length > LimitOf(field) => $"{name} is longer than {LimitOf(field)} characters.",
        string text when text.Contains('\0', StringComparison.Ordinal) => $"{name} contains U+0000, which no field may hold.",
        IMessage nested => Check(nested, name, depth + 1),
        _ => null,
    };
}
