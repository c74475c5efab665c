using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// The batch form of the contract (docs/mqtt-contract.md): one message on <c>hohhot/v1/{ownerKind}/{ownerId}/batch</c>
/// carrying <c>{"readings":[...]}</c>, each item a single reading's payload with its <c>kind</c>, so a gateway
/// draining its spool gets one PUBACK for many readings. Each item becomes an <see cref="IncomingMessage"/> of its own,
/// on the topic it would have been published to alone, with its own bytes less its <c>kind</c> member: it is checked,
/// keyed, applied and quarantined exactly as a single message is, and a reading resent alone after it was sent in a
/// batch (or the other way round) has the same body, so its digest matches.
/// </summary>
public static class TelemetryBatch
{
    public const string TopicSuffix = TelemetryKindRegistry.BatchTopicName;

    /// <summary>True for <c>hohhot/v1/{pasture|plant}/{ownerId}/batch</c>; gives the prefix its items' topics start with.</summary>
    public static bool IsBatchTopic(string topic, out string itemTopicPrefix)
    {
        itemTopicPrefix = "";
        if (topic.Length <= TelemetryTopic.Prefix.Length + TopicSuffix.Length + 1
            || !topic.StartsWith(TelemetryTopic.Prefix, StringComparison.Ordinal) || !topic.EndsWith("/" + TopicSuffix, StringComparison.Ordinal))
        {
            return false;
        }

        var middle = topic.AsSpan(TelemetryTopic.Prefix.Length, topic.Length - TelemetryTopic.Prefix.Length - TopicSuffix.Length - 1);
        var slash = middle.IndexOf('/');
        if (slash <= 0 || slash == middle.Length - 1 || middle[(slash + 1)..].IndexOf('/') >= 0)
        {
            return false;
        }

        itemTopicPrefix = topic[..^TopicSuffix.Length];
        return true;
    }

    /// <summary>
    /// Splits a batch message into its readings. A batch that cannot be read as a whole (size, UTF-8, JSON, no
    /// <c>readings</c> array, too many or no items) is one message refused with the reason; an item without a usable
    /// <c>kind</c> or <c>deviceId</c> is one item refused, the others go on.
    /// </summary>
    public static IReadOnlyList<IncomingMessage> Split(string topic, string itemTopicPrefix, byte[] payload, IngestionOptions options)
    {
        if (payload.Length > options.MaxPayloadBytes)
        {
            return [new IncomingMessage(topic, payload, new Rejection(QuarantineReasons.PayloadTooLarge, $"{payload.Length} bytes, limit {options.MaxPayloadBytes}"))];
        }

        if (!Utf8.IsValid(payload))
        {
            return [new IncomingMessage(topic, payload, new Rejection(QuarantineReasons.InvalidUtf8, "payload is not valid UTF-8"))];
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(payload, new JsonDocumentOptions { MaxDepth = TelemetryPayloadParser.MaxDepth + 2 });
        }
        catch (JsonException exception)
        {
            return [new IncomingMessage(topic, payload, new Rejection(QuarantineReasons.MalformedJson, TextLimits.Shorten(exception.Message, 200)))];
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("readings", out var readings) || readings.ValueKind != JsonValueKind.Array)
            {
                return [new IncomingMessage(topic, payload, new Rejection(QuarantineReasons.MissingField, "a batch is an object with a 'readings' array"))];
            }

            var count = readings.GetArrayLength();
            if (count == 0 || count > options.MaxBatchReadings)
            {
                return [new IncomingMessage(topic, payload, new Rejection(QuarantineReasons.InvalidField,
                    $"'readings' holds {count} items; a batch carries 1-{options.MaxBatchReadings}"))];
            }

            var items = new List<IncomingMessage>(count);
            var position = 0;
            foreach (var item in readings.EnumerateArray())
            {
                var bytes = JsonMarshal.GetRawUtf8Value(item);
                items.Add(ItemOf(topic, itemTopicPrefix, item, item.ValueKind == JsonValueKind.Object ? WithoutMember(bytes, "kind"u8) : bytes.ToArray(), position++));
            }

            return items;
        }
    }

    private static IncomingMessage ItemOf(string batchTopic, string itemTopicPrefix, JsonElement item, byte[] bytes, int position)
    {
        if (item.ValueKind != JsonValueKind.Object)
        {
            return new IncomingMessage(batchTopic, bytes, new Rejection(QuarantineReasons.MalformedJson, $"readings[{position}] is not an object"));
        }

        if (!item.TryGetProperty("kind", out var kind) || kind.ValueKind != JsonValueKind.String || kind.GetString() is not { Length: > 0 } kindName)
        {
            return new IncomingMessage(batchTopic, bytes, new Rejection(QuarantineReasons.MissingField, $"readings[{position}].kind: the item's telemetry kind is required"));
        }

        if (!item.TryGetProperty("deviceId", out var device) || device.ValueKind != JsonValueKind.String || device.GetString() is not { Length: > 0 } deviceId)
        {
            return new IncomingMessage(batchTopic, bytes, new Rejection(QuarantineReasons.MissingField, $"readings[{position}].deviceId is required"));
        }

        // The item's own topic, as if it had been published alone: the parser checks every part of it.
        var topic = new StringBuilder(itemTopicPrefix.Length + deviceId.Length + kindName.Length + 1)
            .Append(itemTopicPrefix).Append(deviceId).Append('/').Append(kindName).ToString();
        return new IncomingMessage(topic, bytes);
    }

    /// <summary>
    /// The object's bytes without one top-level member and the comma that separated it: <c>{"kind":"milking","seq":1}</c>
    /// becomes <c>{"seq":1}</c>, byte for byte what the reading would be alone.
    /// </summary>
    internal static byte[] WithoutMember(ReadOnlySpan<byte> json, ReadOnlySpan<byte> name)
    {
        var reader = new Utf8JsonReader(json);
        reader.Read();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var start = (int)reader.TokenStartIndex;
            var isTarget = reader.ValueTextEquals(name);
            reader.Read();
            reader.Skip();
            var end = (int)reader.BytesConsumed;
            if (!isTarget)
            {
                continue;
            }

            var after = end;
            while (after < json.Length && json[after] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
            {
                after++;
            }

            if (json[after] == (byte)',')
            {
                end = after + 1;
                while (end < json.Length && json[end] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
                {
                    end++;
                }
            }
            else
            {
                // The last member: take the comma before it instead (if any: it may be the only one).
                var before = start - 1;
                while (before > 0 && json[before] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
                {
                    before--;
                }

                if (json[before] == (byte)',')
                {
                    start = before;
                }
            }

            return [.. json[..start], .. json[end..]];
        }

        return json.ToArray();
    }
}
