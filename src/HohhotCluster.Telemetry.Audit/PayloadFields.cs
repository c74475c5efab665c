using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Audit;

/// <summary>A payload member that breaks docs/mqtt-contract.md; carries the quarantine reason and the field.</summary>
public sealed class PayloadRejectedException(Rejection rejection) : Exception(rejection.Detail)
{
    public Rejection Rejection { get; } = rejection;
}

/// <summary>Reads payload members with the contract's rules: JSON types are strict, ranges inclusive, field named in every rejection.</summary>
internal static class PayloadFields
{
    /// <summary>Runs a reader that throws <see cref="PayloadRejectedException"/> the way a kind's <c>TryParse</c> answers: the record, or false with the rejection.</summary>
    public static bool TryRead<T>(Func<T> read, [NotNullWhen(true)] out T? record, out Rejection rejection)
        where T : class
    {
        try
        {
            record = read();
            rejection = default;
            return true;
        }
        catch (PayloadRejectedException rejected)
        {
            record = null;
            rejection = rejected.Rejection;
            return false;
        }
    }

    public static PayloadRejectedException Missing(string name) => new(new Rejection(QuarantineReasons.MissingField, name + " is required"));

    public static PayloadRejectedException Invalid(string name, string rule) => new(new Rejection(QuarantineReasons.InvalidField, name + " " + rule));

    public static string? OptionalString(JsonElement root, string name, int maxLength = 128)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String)
        {
            throw Invalid(name, "must be a string");
        }

        var text = value.GetString()!;
        if (text.Length == 0 || text.Length > maxLength)
        {
            throw Invalid(name, $"must be 1-{maxLength} characters");
        }

        return text;
    }

    public static string RequiredString(JsonElement root, string name, int maxLength = 128) =>
        OptionalString(root, name, maxLength) ?? throw Missing(name);

    public static string RequiredChoice(JsonElement root, string name, params string[] choices)
    {
        var text = RequiredString(root, name);
        return Array.IndexOf(choices, text) >= 0 ? text : throw Invalid(name, "must be one of " + string.Join(", ", choices));
    }

    public static decimal? OptionalDecimal(JsonElement root, string name, decimal min, decimal max)
    {
        if (!root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDecimal(out var number))
        {
            throw Invalid(name, "must be a number");
        }

        return number < min || number > max
            ? throw Invalid(name, $"must be between {min.ToString(CultureInfo.InvariantCulture)} and {max.ToString(CultureInfo.InvariantCulture)}")
            : number;
    }

    public static double RequiredDouble(JsonElement root, string name, double min, double max) =>
        (double)(OptionalDecimal(root, name, (decimal)min, (decimal)max) ?? throw Missing(name));

    public static double OptionalDouble(JsonElement root, string name, double min, double max, double fallback) =>
        OptionalDecimal(root, name, (decimal)min, (decimal)max) is { } value ? (double)value : fallback;

    public static int RequiredInt(JsonElement root, string name, int min, int max)
    {
        var value = OptionalDecimal(root, name, min, max) ?? throw Missing(name);
        return value == decimal.Truncate(value) ? (int)value : throw Invalid(name, "must be an integer");
    }

    public static DateTimeOffset? OptionalTime(JsonElement root, string name)
    {
        var text = OptionalString(root, name, 40);
        if (text is null)
        {
            return null;
        }

        // RFC 3339 with an offset, like eventTime.
        var t = text.IndexOf('T', StringComparison.Ordinal);
        var hasOffset = text.EndsWith('Z') || (t > 0 && text.AsSpan(t).IndexOfAny('+', '-') >= 0);
        return hasOffset && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var time)
            ? time
            : throw Invalid(name, "must be RFC 3339 with an offset");
    }

    public static DateOnly? OptionalDate(JsonElement root, string name)
    {
        var text = OptionalString(root, name, 10);
        return text is null ? null
            : DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date) ? date
            : throw Invalid(name, "must be YYYY-MM-DD");
    }
}
