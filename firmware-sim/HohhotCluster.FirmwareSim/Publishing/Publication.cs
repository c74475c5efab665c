namespace HohhotCluster.FirmwareSim.Publishing;

/// <summary>How a message has gone out so far. A resend keeps the form of its first send (see <see cref="PendingMessage"/>).</summary>
internal enum PublishForm : byte
{
    NotYet,
    Alone,
    InBatch,
}

/// <summary>
/// A message a gateway has taken from its input or spool, numbered in the order it was taken (resends go oldest
/// first), with the form it was first published in. The platform remembers a key with the digest of the body it first
/// came with, and a batch item's body is the payload with its <c>kind</c> added: resent in the other form, a reading it
/// holds would be a conflicting duplicate. So a reading once sent alone is resent alone, and one sent in a batch is
/// resent in a batch, if need be a batch of one.
/// </summary>
internal readonly record struct PendingMessage(long Ordinal, OutboundMessage Message, PublishForm Form = PublishForm.NotYet);

/// <summary>
/// One MQTT publish and what it carries: a message on its own topic, or readings on their owner's batch topic
/// (<see cref="BatchPayloadBuilder"/>). One PUBACK answers for all of its messages.
/// </summary>
internal sealed class Publication
{
    private Publication(string topic, byte[] payload, IReadOnlyList<PendingMessage> messages, bool isBatch)
    {
        Topic = topic;
        Payload = payload;
        Messages = messages;
        IsBatch = isBatch;
    }

    public string Topic { get; }

    public byte[] Payload { get; }

    /// <summary>What it carries, each marked with this publication's form.</summary>
    public IReadOnlyList<PendingMessage> Messages { get; }

    /// <summary>On the batch topic (one reading or more).</summary>
    public bool IsBatch { get; }

    /// <summary>More than one reading: a 0x99 then says only that some of them were quarantined.</summary>
    public bool CarriesSeveral => Messages.Count > 1;

    public static Publication Single(PendingMessage message) =>
        new(message.Message.Topic, message.Message.Payload, [message with { Form = PublishForm.Alone }], isBatch: false);

    public static Publication Batch(string topic, byte[] payload, IReadOnlyList<PendingMessage> messages)
    {
        if (messages.Count == 0)
        {
            throw new ArgumentException("a batch carries one reading at least", nameof(messages));
        }
        var marked = new PendingMessage[messages.Count];
        for (var i = 0; i < marked.Length; i++)
        {
            marked[i] = messages[i] with { Form = PublishForm.InBatch };
        }
        return new Publication(topic, payload, marked, isBatch: true);
    }
}
