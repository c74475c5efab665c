using System.Text;
using System.Text.Json;
using HohhotCluster.FirmwareSim.Publishing;
using HohhotCluster.Telemetry.Ingestion;

namespace HohhotCluster.FirmwareSim.Tests.Publishing;

/// <summary>The batch form as the simulator writes it, read back by the platform's own <see cref="TelemetryBatch"/> and parser.</summary>
public class BatchPayloadTests
{
    [Fact]
    public void Items_carry_their_own_keys_and_the_platform_splits_them_back_into_the_single_messages()
    {
        var messages = PublishingSamples.OfOneGateway(40);
        var builder = new BatchPayloadBuilder(200);
        foreach (var pending in PublishingSamples.Numbered(messages))
        {
            Assert.True(builder.TryAdd(pending));
        }
        var batch = builder.Build()!;

        Assert.True(batch.IsBatch);
        var ownerPrefix = messages[0].Topic[..(messages[0].Topic.Length - messages[0].DeviceId.Length - MessageKinds.Name(messages[0].Kind).Length - 1)];
        Assert.Equal(ownerPrefix + "batch", batch.Topic);
        Assert.True(TelemetryBatch.IsBatchTopic(batch.Topic, out var itemPrefix));
        var items = TelemetryBatch.Split(batch.Topic, itemPrefix, batch.Payload, new IngestionOptions());
        Assert.Equal(messages.Count, items.Count);
        var parser = PlatformAgreementTests.PlatformParser(DateTimeOffset.FromUnixTimeMilliseconds(messages.Max(m => m.EventUnixMs)).AddMinutes(1));
        for (var i = 0; i < messages.Count; i++)
        {
            var message = messages[i];
            Assert.Equal(message.Topic, items[i].Topic);
            using var item = JsonDocument.Parse(items[i].Payload);
            Assert.Equal(message.DeviceId, item.RootElement.GetProperty("deviceId").GetString());
            Assert.Equal(message.BootEpoch, item.RootElement.GetProperty("bootEpoch").GetInt64());
            Assert.Equal(message.Seq, item.RootElement.GetProperty("seq").GetInt64());
            // The platform takes the kind (which the item's topic carries) out: byte for byte the single message's payload,
            // so the same reading resent alone has the same body digest.
            Assert.Equal(Encoding.UTF8.GetString(message.Payload), Encoding.UTF8.GetString(items[i].Payload));
            Assert.True(parser.TryParse(items[i].Topic, items[i].Payload, out var reading, out var rejection), $"{items[i].Topic}: {rejection.Reason} {rejection.Detail}");
            Assert.Equal((message.DeviceId, message.Seq), (reading!.Key.DeviceId, reading.Key.Sequence));
        }
        Assert.Equal(0, builder.Count);
    }

    [Fact]
    public void A_batch_stays_under_its_size_cap_and_the_reading_that_would_pass_it_is_left_out()
    {
        var messages = PublishingSamples.OfOneGateway(120);
        const int Cap = 4096;
        var builder = new BatchPayloadBuilder(BatchPayloadBuilder.MaxReadings, Cap);
        var added = 0;
        foreach (var pending in PublishingSamples.Numbered(messages))
        {
            var before = builder.PayloadBytes;
            if (!builder.TryAdd(pending))
            {
                Assert.Equal(before, builder.PayloadBytes);
                break;
            }
            added++;
        }
        Assert.InRange(added, 2, messages.Count - 1);
        var expectedBytes = builder.PayloadBytes;
        var batch = builder.Build()!;
        Assert.Equal(expectedBytes, batch.Payload.Length);
        Assert.True(batch.Payload.Length <= Cap, $"{batch.Payload.Length} bytes");
        var next = messages[added];
        var nextItemBytes = "{\"kind\":\"".Length + MessageKinds.Name(next.Kind).Length + 1 + next.Payload.Length; // its payload's '{' becomes ','
        Assert.True(batch.Payload.Length + 1 + nextItemBytes > Cap, "the next reading would have fitted");
        Assert.Equal(added, batch.Messages.Count);
    }

    [Fact]
    public void The_default_cap_keeps_a_full_batch_of_the_largest_readings_under_the_platforms_64_KiB()
    {
        var largest = PublishingSamples.Day.Where(BatchPayloadBuilder.CanCarry).MaxBy(m => m.Payload.Length)!;
        var builder = new BatchPayloadBuilder(BatchPayloadBuilder.MaxReadings);
        var added = 0;
        while (builder.TryAdd(new PendingMessage(added, largest)))
        {
            added++;
        }
        var batch = builder.Build()!;
        Assert.True(batch.Payload.Length <= BatchPayloadBuilder.MaxPayloadBytes);
        Assert.True(Encoding.UTF8.GetByteCount(batch.Topic) + batch.Payload.Length < 64 * 1024);
        Assert.Equal(added, batch.Messages.Count);
    }

    [Fact]
    public void A_batch_holds_at_most_its_reading_count()
    {
        var builder = new BatchPayloadBuilder(5);
        var results = PublishingSamples.Numbered(PublishingSamples.OfOneGateway(6)).Select(builder.TryAdd).ToList();
        Assert.Equal([true, true, true, true, true, false], results);
        Assert.True(builder.IsFull);
        Assert.Equal(5, builder.Build()!.Messages.Count);
    }

    [Fact]
    public void Fault_copies_and_another_owners_readings_never_join_a_batch()
    {
        var messages = PublishingSamples.OfOneGateway(2);
        var reading = messages[0];
        Assert.True(BatchPayloadBuilder.CanCarry(reading));
        Assert.True(BatchPayloadBuilder.CanCarry(PublishingSamples.Copy(reading, fault: FaultTag.Duplicate)));
        Assert.False(BatchPayloadBuilder.CanCarry(PublishingSamples.Copy(reading, fault: FaultTag.Malformed, payload: reading.Payload[..^5])));
        Assert.False(BatchPayloadBuilder.CanCarry(PublishingSamples.Copy(reading, fault: FaultTag.Oversized)));
        var foreign = reading.Topic.Replace(reading.OwnerId, "P999999999", StringComparison.Ordinal);
        Assert.False(BatchPayloadBuilder.CanCarry(PublishingSamples.Copy(reading, topic: foreign, fault: FaultTag.ForeignTopic)));

        var other = PublishingSamples.Day.First(m => m.GatewayOwnerId != reading.GatewayOwnerId && BatchPayloadBuilder.CanCarry(m));
        var builder = new BatchPayloadBuilder(200);
        Assert.True(builder.TryAdd(new PendingMessage(0, reading)));
        Assert.False(builder.TryAdd(new PendingMessage(1, other)));
        Assert.True(builder.TryAdd(new PendingMessage(2, messages[1])));
        Assert.All(builder.Build()!.Messages, m => Assert.Equal(reading.GatewayOwnerId, m.Message.GatewayOwnerId));
    }

    [Fact]
    public void One_reading_alone_is_published_on_its_own_topic_not_as_a_batch()
    {
        var builder = new BatchPayloadBuilder(200);
        var reading = PublishingSamples.OfOneGateway(1)[0];
        Assert.True(builder.TryAdd(new PendingMessage(0, reading)));
        var publication = builder.Build()!;
        Assert.False(publication.IsBatch);
        Assert.Equal(reading.Topic, publication.Topic);
        Assert.Same(reading.Payload, publication.Payload);
        Assert.Null(builder.Build());
    }
}
