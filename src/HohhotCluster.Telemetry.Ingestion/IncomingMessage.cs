using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>What became of one message once it is durable: the endpoint's PUBACK says it.</summary>
public enum DeliveryOutcome
{
    /// <summary>Counted now: its grain (or component) committed it and its point is stored.</summary>
    Applied,

    /// <summary>Its key was applied before with the same body; nothing counted again, its point rewritten in place.</summary>
    Duplicate,

    /// <summary>Kept in the quarantine with <see cref="DeliveryVerdict.Reason"/>; counted nowhere.</summary>
    Quarantined,
}

/// <summary>The outcome of one message, with the quarantine reason and detail when it was quarantined.</summary>
public readonly record struct DeliveryVerdict(DeliveryOutcome Outcome, string Reason = "", string Detail = "")
{
    public static DeliveryVerdict Applied { get; } = new(DeliveryOutcome.Applied);

    public static DeliveryVerdict Duplicate { get; } = new(DeliveryOutcome.Duplicate);

    public static DeliveryVerdict Quarantined(Rejection rejection) => new(DeliveryOutcome.Quarantined, rejection.Reason, rejection.Detail);
}

/// <summary>
/// One reading as it arrived (a single message, or one item of a batch message), and the promise of its outcome:
/// <see cref="Delivered"/> completes only once the reading is durable (applied and committed with its point stored,
/// recognised as a duplicate, or written to the quarantine), never before.
/// </summary>
public sealed class IncomingMessage
{
    private readonly TaskCompletionSource<DeliveryVerdict> _delivered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IncomingMessage(string topic, byte[] payload)
    {
        Topic = topic;
        Payload = payload;
    }

    /// <summary>A message refused before it could be parsed on its own (a batch that does not read, an item without its kind).</summary>
    internal IncomingMessage(string topic, byte[] payload, Rejection refusal)
        : this(topic, payload)
    {
        Refusal = refusal;
    }

    public string Topic { get; }

    public byte[] Payload { get; }

    /// <summary>Completes when the message is durable; never faults (a failing step is retried, or the message quarantined).</summary>
    public Task<DeliveryVerdict> Delivered => _delivered.Task;

    internal Rejection? Refusal { get; }

    /// <summary>The key read from the payload, once it parsed: the quarantine keeps it, so that a resend adds no row.</summary>
    internal ReadingKey? Key { get; set; }

    /// <summary>Set once the message's quarantine row is written, so that a retried batch does not write it again.</summary>
    internal Rejection? QuarantinedAs { get; set; }

    internal void Complete(DeliveryVerdict verdict) => _delivered.TrySetResult(verdict);
}
