using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using System.Text.Unicode;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// Checks a message's envelope against docs/mqtt-contract.md (size, topic and its kind in the registry, UTF-8, JSON
/// shape and depth, deviceId, bootEpoch, seq, the event time against the platform's clock and the lateness limit),
/// then hands the body to its kind's pure <see cref="TelemetryKind{TRecord}.TryParse"/>. Pure and thread-safe;
/// registry checks come after it. The field readers here (<see cref="Required"/>, <see cref="InRange"/>, ...) are the
/// core kinds' too.
/// </summary>
public sealed class TelemetryPayloadParser(TimeProvider clock, IngestionOptions options, KindRuntimes kinds)
{
    public const int MaxDepth = 16;

    /// <summary>Registry ids (devices, herds, owners) have the registry's own limit (RegistryService refuses longer ones).</summary>
    public const int MaxRegistryIdLength = Storage.RegistryIds.MaxLength;

    /// <summary>Every other id or word of a payload (lots, tanker loads, tanks, plates, schemes): 1-128 characters.</summary>
    public const int MaxIdLength = 128;
    public const string EarTagScheme = "cn.moa.eartag";

    public bool TryParse(string topic, ReadOnlySpan<byte> payload, [NotNullWhen(true)] out ParsedReading? reading, out Rejection rejection)
    {
        reading = null;
        if (payload.Length > options.MaxPayloadBytes)
        {
            rejection = new(QuarantineReasons.PayloadTooLarge, $"{payload.Length} bytes, limit {options.MaxPayloadBytes}");
            return false;
        }

        if (!TelemetryTopic.TryParse(topic, kinds.Registry, out var parsedTopic, out var reason, out var detail))
        {
            rejection = new(reason, detail);
            return false;
        }

        if (!Utf8.IsValid(payload))
        {
            rejection = new(QuarantineReasons.InvalidUtf8, "payload is not valid UTF-8");
            return false;
        }

        if (payload.IndexOf("\\u0000"u8) >= 0 && StringHoldingNul(payload) is { } field)
        {
            // PostgreSQL text cannot hold U+0000: let through, such a field would fail its batch's writes for ever.
            rejection = new(QuarantineReasons.InvalidField, $"{field} holds U+0000 (NUL), which no text field may hold");
            return false;
        }

        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = MaxDepth });
            using var document = JsonDocument.ParseValue(ref reader);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Reject(QuarantineReasons.MalformedJson, "payload must be a JSON object");
            }

            var (key, eventTime) = Envelope(parsedTopic,
                StringMember(root, "deviceId"), LongMember(root, "bootEpoch"), LongMember(root, "seq"), StringMember(root, "eventTime"));
            if (!kinds.Of(parsedTopic.Kind, parsedTopic.OwnerKind).TryParse(root, key, eventTime, out var record, out rejection))
            {
                return false;
            }

            reading = new ParsedReading(parsedTopic, key, eventTime, record);
            return true;
        }
        catch (RejectedException rejected)
        {
            rejection = rejected.Rejection;
            return false;
        }
        catch (JsonException exception)
        {
            rejection = ExceedsDepth(payload)
                ? new(QuarantineReasons.TooDeep, $"JSON nested deeper than {MaxDepth} levels")
                : new(QuarantineReasons.MalformedJson, FirstLine(exception.Message));
            return false;
        }
    }

    /// <summary>
    /// Runs a core kind's body reader: its <see cref="Reject"/> becomes the rejection, and a body member of the wrong
    /// JSON type (the source-generated reader throws) <c>malformed_json</c> with the reader's message.
    /// </summary>
    internal static bool TryBody<TRecord>(JsonElement body, Func<JsonElement, TRecord> parse, [NotNullWhen(true)] out TRecord? record, out Rejection rejection)
        where TRecord : class
    {
        try
        {
            record = parse(body);
            rejection = default;
            return true;
        }
        catch (RejectedException rejected)
        {
            record = null;
            rejection = rejected.Rejection;
            return false;
        }
        catch (JsonException exception)
        {
            record = null;
            rejection = new(QuarantineReasons.MalformedJson, FirstLine(exception.Message));
            return false;
        }
    }

    /// <summary>
    /// The key of a message that failed its checks, when its envelope can still be read (valid JSON with deviceId,
    /// bootEpoch and seq at the top level), so that its quarantine row is kept once however often it is resent.
    /// </summary>
    public static ReadingKey? ReadKey(ReadOnlySpan<byte> payload)
    {
        string? device = null;
        long? epoch = null, seq = null;
        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = MaxDepth });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var name = reader.ValueSpan.SequenceEqual("deviceId"u8) ? 1 : reader.ValueSpan.SequenceEqual("bootEpoch"u8) ? 2 : reader.ValueSpan.SequenceEqual("seq"u8) ? 3 : 0;
                reader.Read();
                switch (name)
                {
                    case 1 when reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && reader.ValueSpan.Length <= MaxRegistryIdLength:
                        device = reader.GetString();
                        break;
                    case 2 when reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var e) && e >= 0:
                        epoch = e;
                        break;
                    case 3 when reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var q) && q >= 1:
                        seq = q;
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
        }
        catch (JsonException)
        {
            return null;
        }

        return device is { Length: > 0 } && epoch is { } bootEpoch && seq is { } sequence ? new ReadingKey(device, bootEpoch, sequence) : null;
    }

    private static string? StringMember(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.String ? value.GetString()
        : throw Reject(QuarantineReasons.InvalidField, name + " must be a string");

    private static long? LongMember(JsonElement root, string name) =>
        !root.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null ? null
        : value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number) ? number
        : throw Reject(QuarantineReasons.InvalidField, name + " must be an integer");

    private (ReadingKey Key, DateTimeOffset EventTime) Envelope(TelemetryTopic topic, string? deviceId, long? bootEpoch, long? seq, string? eventTimeText)
    {
        var device = Required(deviceId, "deviceId", MaxRegistryIdLength);
        if (!string.Equals(device, topic.DeviceId, StringComparison.Ordinal))
        {
            throw Reject(QuarantineReasons.DeviceMismatch, $"payload deviceId '{device}' differs from the topic's '{topic.DeviceId}'");
        }

        var epoch = bootEpoch ?? throw Reject(QuarantineReasons.MissingField, "bootEpoch");
        if (epoch < 0)
        {
            throw Reject(QuarantineReasons.InvalidField, "bootEpoch must be >= 0");
        }

        var sequence = seq ?? throw Reject(QuarantineReasons.MissingField, "seq");
        if (sequence < 1)
        {
            throw Reject(QuarantineReasons.InvalidField, "seq must be >= 1");
        }

        var eventTime = ParseTime(Required(eventTimeText, "eventTime"), "eventTime");
        var now = clock.GetUtcNow();
        if (eventTime > now + options.MaxClockSkew)
        {
            throw Reject(QuarantineReasons.ClockSkew,
                $"eventTime {eventTime:O} is {(eventTime - now).TotalSeconds:F0} s ahead of the platform clock (limit {options.MaxClockSkew.TotalSeconds:F0} s)");
        }

        if (eventTime < now - options.MaxLateness)
        {
            throw Reject(QuarantineReasons.TooLate,
                $"eventTime {eventTime:O} is older than {options.MaxLateness.TotalDays:F1} days");
        }

        return (new ReadingKey(device, epoch, sequence), eventTime);
    }

    /// <summary>RFC 3339 with an explicit offset (<c>Z</c> or <c>±hh:mm</c>); a local time without offset is ambiguous.</summary>
    internal static DateTimeOffset ParseTime(string text, string field)
    {
        var hasOffset = text.Length > 6 &&
            (text[^1] is 'Z' or 'z' || (text[^6] is '+' or '-' && text[^3] == ':'));
        // Fractions finer than .NET's 100 ns are cut, never rounded: 23:59:59.999999999+08:00 stays on its own day.
        if (!hasOffset || text.Length < 20 || text.Length > 40 || text[10] is not ('T' or 't') ||
            !DateTimeOffset.TryParse(TruncateFraction(text), CultureInfo.InvariantCulture, DateTimeStyles.None, out var value))
        {
            throw Reject(QuarantineReasons.InvalidField, $"{field} must be RFC 3339 with an offset, e.g. 2026-11-29T06:12:00+08:00");
        }

        return value;
    }

    /// <summary>The time with at most seven fractional digits (the rest dropped), so parsing cannot round it up.</summary>
    private static string TruncateFraction(string text)
    {
        var dot = text.IndexOf('.', 19);
        if (dot != 19)
        {
            return text;
        }

        var end = dot + 1;
        while (end < text.Length && char.IsAsciiDigit(text[end]))
        {
            end++;
        }

        return end - dot - 1 <= 7 ? text : string.Concat(text.AsSpan(0, dot + 8), text.AsSpan(end));
    }

    internal static bool IsEarTag(string id)
    {
        if (id.Length != 15 || (id[0] != '2' && id[0] != '3'))
        {
            return false;
        }

        foreach (var c in id)
        {
            if (c is < '0' or > '9')
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// A present string within the contract's length: an over-long id is refused here, before any store sees it (a
    /// unique index cannot hold a 3,000-character key, and such a message would fail its batch for ever).
    /// </summary>
    internal static string Required(string? value, string field, int maxLength = MaxIdLength) =>
        string.IsNullOrWhiteSpace(value) ? throw Reject(QuarantineReasons.MissingField, field)
        : value.Length > maxLength ? throw Reject(QuarantineReasons.InvalidField, $"{field} is longer than {maxLength} characters")
        : value;

    internal static double Present(double? value, string field) =>
        value ?? throw Reject(QuarantineReasons.MissingField, field);

    internal static double? InRange(double? value, string field, double min, double max, bool exclusiveMin = false)
    {
        if (value is not { } v)
        {
            return null;
        }

        if (!double.IsFinite(v) || v > max || v < min || (exclusiveMin && v <= min))
        {
            throw Reject(QuarantineReasons.InvalidField,
                string.Create(CultureInfo.InvariantCulture, $"{field} = {v} is outside {(exclusiveMin ? "(" : "[")}{min}, {max}]"));
        }

        return v;
    }

    private static bool ExceedsDepth(ReadOnlySpan<byte> payload)
    {
        var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = 4096 });
        try
        {
            while (reader.Read())
            {
                if (reader.CurrentDepth >= MaxDepth)
                {
                    return true;
                }
            }
        }
        catch (JsonException)
        {
            // Malformed before reaching the depth limit.
        }

        return false;
    }

    /// <summary>The member whose string (or name) holds an escaped U+0000, or null (none, or the JSON is malformed).</summary>
    private static string? StringHoldingNul(ReadOnlySpan<byte> payload)
    {
        var reader = new Utf8JsonReader(payload, new JsonReaderOptions { MaxDepth = MaxDepth });
        var member = "a string";
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName)
                {
                    member = reader.GetString()!;
                    if (member.Contains('\0', StringComparison.Ordinal))
                    {
                        return "a member name";
                    }
                }
                else if (reader.TokenType == JsonTokenType.String && reader.ValueIsEscaped && reader.GetString()!.Contains('\0', StringComparison.Ordinal))
                {
                    return member;
                }
            }
        }
        catch (JsonException)
        {
            // Malformed: parsing says so with its own reason.
        }

        return null;
    }

    private static string FirstLine(string message)
    {
        var end = message.IndexOf('\n', StringComparison.Ordinal);
        return end < 0 ? message : message[..end];
    }

    internal static RejectedException Reject(string reason, string detail) => new(new Rejection(reason, detail));

    internal sealed class RejectedException(Rejection rejection) : Exception(rejection.Detail)
    {
        public Rejection Rejection { get; } = rejection;
    }
}
