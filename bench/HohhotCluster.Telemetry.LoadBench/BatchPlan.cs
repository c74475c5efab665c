using System.Buffers;
using System.Text;

namespace HohhotCluster.Telemetry.LoadBench;

/// <summary>One MQTT publish of the replay: a batch (or a reading that travels alone) and the readings it carries.</summary>
internal sealed record Publication(string Topic, byte[] Payload, RecordedMessage[] Readings)
{
    public bool IsBatch => Topic.EndsWith("/" + BatchPlan.TopicSuffix, StringComparison.Ordinal);
}

/// <summary>What one gateway publishes, in its recorded order.</summary>
internal sealed record GatewayPlan(string GatewayId, Publication[] Publications)
{
    public long Readings { get; } = Publications.Sum(p => (long)p.Readings.Length);
}

/// <summary>
/// Turns a recorded run into each gateway's publishes in the contract's batch form (docs/mqtt-contract.md):
/// <c>hohhot/v1/{ownerKind}/{ownerId}/batch</c> with <c>{"readings":[...]}</c>, each item a recorded payload with its
/// <c>kind</c> added as the first member (as hohhot-sim's BatchPayloadBuilder writes them). A batch is filled with the
/// gateway's next readings up to a count and a payload size, whichever comes first; a reading that cannot go in a batch
/// (a fault copy, a topic that is not its item's topic) and a batch of one go alone on their own topic. Built once,
/// before anything is timed, and the same publishes go to every endpoint of a run.
/// </summary>
internal static class BatchPlan
{
    public const string TopicSuffix = "batch";

    /// <summary>The most readings the platform takes in one batch (<c>Ingestion:MaxBatchReadings</c>).</summary>
    public const int MaxReadings = 500;

    /// <summary>Under the platform's 64 KiB payload and 65 KiB packet limits, with room for the topic and properties.</summary>
    public const int MaxPayloadBytes = 60 * 1024;

    private static ReadOnlySpan<byte> Opening => "{\"readings\":["u8;
    private static ReadOnlySpan<byte> Closing => "]}"u8;
    private static ReadOnlySpan<byte> KindOpening => "{\"kind\":\""u8;

    public static List<GatewayPlan> Build(IReadOnlyList<RecordedMessage> messages, int readingsPerBatch, int maxPayloadBytes = MaxPayloadBytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(readingsPerBatch, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(readingsPerBatch, MaxReadings);
        var byGateway = new Dictionary<string, List<RecordedMessage>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var m in messages)
        {
            if (!byGateway.TryGetValue(m.Gateway, out var list))
            {
                byGateway[m.Gateway] = list = [];
                order.Add(m.Gateway);
            }

            list.Add(m);
        }

        var plans = new List<GatewayPlan>(order.Count);
        var buffer = new ArrayBufferWriter<byte>(maxPayloadBytes + 1024);
        foreach (var gateway in order)
        {
            var publications = new List<Publication>();
            var batch = new List<RecordedMessage>(readingsPerBatch);
            string? prefix = null;
            foreach (var m in byGateway[gateway])
            {
                var itemPrefix = ItemTopicPrefix(m);
                if (itemPrefix is null)
                {
                    Flush();
                    publications.Add(new Publication(m.Topic, m.Payload, [m]));
                    continue;
                }

                var itemBytes = KindOpening.Length + m.KindName.Length + 2 + (m.Payload.Length - 1);
                if (batch.Count > 0 && (batch.Count >= readingsPerBatch || prefix != itemPrefix
                    || buffer.WrittenCount + 1 + itemBytes + Closing.Length > maxPayloadBytes))
                {
                    Flush();
                }

                if (batch.Count == 0)
                {
                    if (Opening.Length + itemBytes + Closing.Length > maxPayloadBytes)
                    {
                        publications.Add(new Publication(m.Topic, m.Payload, [m]));
                        continue;
                    }

                    buffer.Write(Opening);
                    prefix = itemPrefix;
                }
                else
                {
                    buffer.Write(","u8);
                }

                buffer.Write(KindOpening);
                buffer.Write(Encoding.ASCII.GetBytes(m.KindName));
                buffer.Write("\","u8);
                buffer.Write(m.Payload.AsSpan(1));
                batch.Add(m);
            }

            Flush();
            plans.Add(new GatewayPlan(gateway, [.. publications]));

            void Flush()
            {
                if (batch.Count == 1)
                {
                    publications.Add(new Publication(batch[0].Topic, batch[0].Payload, [batch[0]]));
                }
                else if (batch.Count > 1)
                {
                    buffer.Write(Closing);
                    publications.Add(new Publication(prefix + TopicSuffix, buffer.WrittenSpan.ToArray(), [.. batch]));
                }

                batch.Clear();
                buffer.ResetWrittenCount();
                prefix = null;
            }
        }

        return plans;
    }

    /// <summary>
    /// <c>hohhot/v1/{ownerKind}/{ownerId}/</c> when the message may travel in a batch: no fault copy, its topic exactly
    /// the one the platform rebuilds from the item (prefix, deviceId, kind) and a non-empty JSON object payload.
    /// </summary>
    private static string? ItemTopicPrefix(RecordedMessage m)
    {
        var suffix = "/" + m.DeviceId + "/" + m.KindName;
        if (m.Fault != 0 || !m.Topic.EndsWith(suffix, StringComparison.Ordinal) || m.Payload.Length < 3 || m.Payload[0] != (byte)'{'
            || m.Payload[^1] != (byte)'}')
        {
            return null;
        }

        var prefix = m.Topic[..^(suffix.Length - 1)];
        return (prefix.StartsWith("hohhot/v1/pasture/", StringComparison.Ordinal) || prefix.StartsWith("hohhot/v1/plant/", StringComparison.Ordinal))
            && prefix.Count(c => c == '/') == 4
            ? prefix
            : null;
    }
}
