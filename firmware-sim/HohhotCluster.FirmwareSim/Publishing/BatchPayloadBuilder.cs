using System.Buffers;
using System.Text;

namespace HohhotCluster.FirmwareSim.Publishing;

/// <summary>
/// The contract's batch form: one publish on <c>hohhot/v1/{ownerKind}/{ownerId}/batch</c> carrying
/// <c>{"readings":[...]}</c>, each item exactly a message's own payload object with the topic's <c>kind</c> added as its
/// first member (so each keeps its deviceId, bootEpoch and seq). Fills up to a number of readings and a payload size,
/// whichever comes first; then <see cref="Build"/> gives the publication and starts a new batch.
/// </summary>
internal sealed class BatchPayloadBuilder
{
    /// <summary>The most readings the platform takes in one batch.</summary>
    public const int MaxReadings = 500;

    /// <summary>
    /// The platform quarantines a payload over 64 KiB and closes the connection on a packet over 65 KiB; 60 KiB leaves
    /// room for the topic, the packet's header and properties, and a margin.
    /// </summary>
    public const int MaxPayloadBytes = 60 * 1024;

    public const string TopicSuffix = "batch";

    private static ReadOnlySpan<byte> Opening => "{\"readings\":["u8;
    private static ReadOnlySpan<byte> Closing => "]}"u8;
    private static ReadOnlySpan<byte> KindOpening => "{\"kind\":\""u8;

    private readonly int _maxReadings;
    private readonly int _maxPayloadBytes;
    private readonly ArrayBufferWriter<byte> _buffer = new(8 * 1024);
    private readonly List<PendingMessage> _messages = [];
    private string? _ownerPrefix;

    public BatchPayloadBuilder(int maxReadings, int maxPayloadBytes = MaxPayloadBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxReadings, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxReadings, MaxReadings);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxPayloadBytes, 256);
        _maxReadings = maxReadings;
        _maxPayloadBytes = maxPayloadBytes;
    }

    public int Count => _messages.Count;

    public bool IsFull => _messages.Count >= _maxReadings;

    /// <summary>The payload's size if the batch were built now.</summary>
    public int PayloadBytes => _messages.Count == 0 ? 0 : _buffer.WrittenCount + Closing.Length;

    /// <summary>
    /// True for a reading the platform should apply, published on exactly the topic its batch item stands for
    /// (<c>hohhot/v1/{ownerKind}/{ownerId}/{deviceId}/{kind}</c>, as the platform rebuilds it from the item), with a JSON
    /// object payload. Fault copies (malformed, oversized, foreign topic) always travel alone: each must get its own answer.
    /// </summary>
    public static bool CanCarry(OutboundMessage message)
    {
        if (!MessageKinds.ExpectedByPlatform(message.Fault) || OwnerTopicPrefixLength(message.Topic) is not (> 0 and var prefix))
        {
            return false;
        }
        var topic = message.Topic.AsSpan(prefix);
        var kind = MessageKinds.Name(message.Kind);
        var payload = message.Payload;
        return topic.Length == message.DeviceId.Length + 1 + kind.Length
            && topic.StartsWith(message.DeviceId, StringComparison.Ordinal)
            && topic[message.DeviceId.Length] == '/'
            && topic.EndsWith(kind, StringComparison.Ordinal)
            && payload.Length >= 2 && payload[0] == (byte)'{' && payload[^1] == (byte)'}';
    }

    /// <summary>The batch topic of a message's owner: <c>hohhot/v1/{ownerKind}/{ownerId}/batch</c>.</summary>
    public static string BatchTopicOf(OutboundMessage message) =>
        OwnerTopicPrefixLength(message.Topic) is > 0 and var prefix
            ? string.Concat(message.Topic.AsSpan(0, prefix), TopicSuffix)
            : throw new ArgumentException($"'{message.Topic}' is no device topic of the contract", nameof(message));

    /// <summary>
    /// Adds the message when it fits (same owner, count and size under the caps, not sent alone before); false leaves
    /// the batch as it was.
    /// </summary>
    public bool TryAdd(PendingMessage pending)
    {
        var message = pending.Message;
        if (IsFull || pending.Form == PublishForm.Alone || !CanCarry(message))
        {
            return false;
        }
        var prefixLength = OwnerTopicPrefixLength(message.Topic);
        if (_ownerPrefix is not null && !message.Topic.AsSpan(0, prefixLength).Equals(_ownerPrefix, StringComparison.Ordinal))
        {
            return false;
        }
        var kind = MessageKinds.Name(message.Kind);
        var itemBytes = ItemLength(message.Payload, kind);
        var separator = _messages.Count == 0 ? Opening.Length : 1;
        var after = _buffer.WrittenCount + separator + itemBytes + Closing.Length;
        if (after > _maxPayloadBytes)
        {
            return false;
        }
        if (_messages.Count == 0)
        {
            _buffer.Write(Opening);
            _ownerPrefix = message.Topic[..prefixLength];
        }
        else
        {
            _buffer.Write(","u8);
        }
        WriteItem(message.Payload, kind);
        _messages.Add(pending);
        return true;
    }

    /// <summary>
    /// The publication of what was added and a fresh, empty batch; null when empty. One reading goes alone on its own
    /// topic, unless it went in a batch before (then it is a batch of one, so the platform sees the same body again).
    /// </summary>
    public Publication? Build()
    {
        if (_messages.Count == 0)
        {
            return null;
        }
        Publication publication;
        if (_messages.Count == 1 && _messages[0].Form != PublishForm.InBatch)
        {
            publication = Publication.Single(_messages[0]);
        }
        else
        {
            _buffer.Write(Closing);
            publication = Publication.Batch(_ownerPrefix + TopicSuffix, _buffer.WrittenSpan.ToArray(), [.. _messages]);
        }
        _buffer.ResetWrittenCount();
        _messages.Clear();
        _ownerPrefix = null;
        return publication;
    }

    /// <summary><c>{"kind":"k",</c> and the payload after its opening brace (or <c>{"kind":"k"}</c> for an empty object).</summary>
    private static int ItemLength(byte[] payload, string kind) =>
        KindOpening.Length + kind.Length + 1 + (IsEmptyObject(payload) ? 1 : payload.Length);

    private void WriteItem(byte[] payload, string kind)
    {
        _buffer.Write(KindOpening);
        var kindBytes = _buffer.GetSpan(kind.Length);
        var written = Encoding.ASCII.GetBytes(kind, kindBytes);
        _buffer.Advance(written);
        _buffer.Write("\""u8);
        if (IsEmptyObject(payload))
        {
            _buffer.Write("}"u8);
        }
        else
        {
            _buffer.Write(","u8);
            _buffer.Write(payload.AsSpan(1));
        }
    }

    private static bool IsEmptyObject(byte[] payload) => payload.AsSpan(1).TrimStart(" \t\r\n"u8) is [(byte)'}', ..];

    /// <summary>Length of <c>hohhot/v1/{ownerKind}/{ownerId}/</c> at the start of a device topic, or 0.</summary>
    private static int OwnerTopicPrefixLength(string topic)
    {
        const string Root = "hohhot/v1/";
        if (!topic.StartsWith(Root, StringComparison.Ordinal))
        {
            return 0;
        }
        var kindEnd = topic.IndexOf('/', Root.Length);
        var ownerEnd = kindEnd > Root.Length ? topic.IndexOf('/', kindEnd + 1) : -1;
        return ownerEnd > kindEnd + 1 ? ownerEnd + 1 : 0;
    }
}
