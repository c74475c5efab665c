using System.Globalization;
using System.Text.Json;

namespace HohhotCluster.Telemetry.Kinds;

/// <summary>
/// Strict readers of a kind's body members for <see cref="TelemetryKind{TRecord}.TryParse"/>: each either reads the
/// member or sets the rejection that names it (<c>missing_field</c> when a required member is absent or null,
/// <c>invalid_field</c> when it has the wrong type or range), so every kind words its refusals the same way.
/// </summary>
public static class BodyFields
{
    /// <summary>The longest identifier a body may carry (lot, load, plate, product...).</summary>
    public const int MaxIdLength = 128;

    /// <summary>A string of 1-<see cref="MaxIdLength"/> characters; absent or null is fine unless <paramref name="required"/>.</summary>
    public static bool TryId(JsonElement body, string name, bool required, out string? value, ref Rejection rejection)
    {
        value = null;
        if (!TryMember(body, name, required, out var element, ref rejection))
        {
            return false;
        }

        if (element is not { } present)
        {
            return true;
        }

        if (present.ValueKind != JsonValueKind.String || present.GetString() is not { Length: > 0 and <= MaxIdLength } text)
        {
            rejection = new Rejection(QuarantineReasons.InvalidField, $"{name} must be a string of 1-{MaxIdLength} characters");
            return false;
        }

        value = text;
        return true;
    }

    /// <summary>
    /// A finite JSON number up to <paramref name="max"/> (inclusive) and above <paramref name="min"/> (inclusive when
    /// <paramref name="minInclusive"/>); absent or null is fine unless <paramref name="required"/>.
    /// </summary>
    public static bool TryNumber(
        JsonElement body, string name, bool required, double min, double max, bool minInclusive, out double? value, ref Rejection rejection)
    {
        value = null;
        if (!TryMember(body, name, required, out var element, ref rejection))
        {
            return false;
        }

        if (element is not { } present)
        {
            return true;
        }

        if (present.ValueKind != JsonValueKind.Number || !present.TryGetDouble(out var number) || !double.IsFinite(number)
            || (minInclusive ? number < min : number <= min) || number > max)
        {
            rejection = new Rejection(QuarantineReasons.InvalidField, string.Create(CultureInfo.InvariantCulture,
                $"{name} must be a number in {(minInclusive ? '[' : '(')}{min}, {max}]"));
            return false;
        }

        value = number;
        return true;
    }

    /// <summary>The member, null when it is absent or JSON null (false with <c>missing_field</c> when it is required).</summary>
    private static bool TryMember(JsonElement body, string name, bool required, out JsonElement? member, ref Rejection rejection)
    {
        member = null;
        if (body.TryGetProperty(name, out var element) && element.ValueKind != JsonValueKind.Null)
        {
            member = element;
            return true;
        }

        if (required)
        {
            rejection = new Rejection(QuarantineReasons.MissingField, $"{name} is required");
            return false;
        }

        return true;
    }
}
