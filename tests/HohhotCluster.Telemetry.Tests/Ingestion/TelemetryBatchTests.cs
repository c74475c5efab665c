using System.Text;
using HohhotCluster.Telemetry.Ingestion;
using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Tests.Ingestion;

public sealed class TelemetryBatchTests
{
    private static readonly IngestionOptions Options = new() { MaxBatchReadings = 3 };

    [Theory]
    [InlineData("hohhot/v1/pasture/P1/batch", true)]
    [InlineData("hohhot/v1/plant/PL-1/batch", true)]
    [InlineData("hohhot/v1/pasture/P1/P1-MM01/milking", false)]
    [InlineData("hohhot/v1/pasture/P1/D/batch", false)]
    [InlineData("hohhot/v1/pasture//batch", false)]
    [InlineData("hohhot/v1/batch", false)]
    public void Batch_topic_is_the_owner_followed_by_batch(string topic, bool isBatch)
    {
        Assert.Equal(isBatch, TelemetryBatch.IsBatchTopic(topic, out _));
    }

    [Fact]
    public void Each_item_becomes_a_message_on_its_own_topic_with_its_own_bytes()
    {
        const string first = """{"kind":"milking","deviceId":"P1-MM01","bootEpoch":1,"seq":7}""";
        const string second = """{ "deviceId" : "P1-BT1", "kind" : "bulk_tank", "seq" : 8 }""";
        var items = Split($$"""{"readings":[{{first}}, {{second}}]}""");

        Assert.Equal(["hohhot/v1/pasture/P1/P1-MM01/milking", "hohhot/v1/pasture/P1/P1-BT1/bulk_tank"], items.Select(i => i.Topic));
        // Without their kind: byte for byte what each would be alone, so a resend in either form has the same body.
        Assert.Equal(["""{"deviceId":"P1-MM01","bootEpoch":1,"seq":7}""", """{ "deviceId" : "P1-BT1", "seq" : 8 }"""], items.Select(i => Encoding.UTF8.GetString(i.Payload)));
    }

    [Theory]
    [InlineData("""{"kind":"milking","seq":1}""", """{"seq":1}""")]
    [InlineData("""{"seq":1,"kind":"milking"}""", """{"seq":1}""")]
    [InlineData("""{"kind":"milking"}""", """{}""")]
    [InlineData("""{"seq":1,"kind":{"nested":"kind"},"x":2}""", """{"seq":1,"x":2}""")]
    [InlineData("""{"seq":1,"visit":{"kind":"inner"}}""", """{"seq":1,"visit":{"kind":"inner"}}""")]
    public void Only_the_top_level_kind_member_is_taken_out(string item, string expected)
    {
        Assert.Equal(expected, Encoding.UTF8.GetString(TelemetryBatch.WithoutMember(Encoding.UTF8.GetBytes(item), "kind"u8)));
    }

    [Fact]
    public void An_item_without_kind_or_device_is_refused_alone()
    {
        var items = Split("""{"readings":[{"deviceId":"P1-MM01","seq":1}, 5, {"kind":"milking","deviceId":"P1-MM01","seq":2}]}""");
        Assert.Equal(3, items.Count);
        Assert.Equal(QuarantineReasons.MissingField, RefusalOf(items[0]));
        Assert.Equal(QuarantineReasons.MalformedJson, RefusalOf(items[1]));
        Assert.Null(RefusalOf(items[2]));
    }

    [Theory]
    [InlineData("""{"readings":[]}""", QuarantineReasons.InvalidField)]
    [InlineData("""{"readings":[{},{},{},{}]}""", QuarantineReasons.InvalidField)]
    [InlineData("""{"items":[{}]}""", QuarantineReasons.MissingField)]
    [InlineData("""[{"kind":"milking"}]""", QuarantineReasons.MissingField)]
    [InlineData("""{"readings":[{"kind":"milking",""", QuarantineReasons.MalformedJson)]
    public void A_batch_that_does_not_read_is_one_refused_message(string payload, string reason)
    {
        var items = Split(payload);
        Assert.Equal(reason, RefusalOf(Assert.Single(items)));
        Assert.Equal("hohhot/v1/pasture/P1/batch", items[0].Topic);
    }

    [Fact]
    public void Invalid_utf8_and_oversized_batches_are_refused_before_parsing()
    {
        Assert.Equal(QuarantineReasons.InvalidUtf8, RefusalOf(Assert.Single(TelemetryBatch.Split("hohhot/v1/pasture/P1/batch", "hohhot/v1/pasture/P1/", [0x7B, 0xFF, 0x7D], Options))));
        var big = new byte[Options.MaxPayloadBytes + 1];
        Assert.Equal(QuarantineReasons.PayloadTooLarge, RefusalOf(Assert.Single(TelemetryBatch.Split("hohhot/v1/pasture/P1/batch", "hohhot/v1/pasture/P1/", big, Options))));
    }

    private static IReadOnlyList<IncomingMessage> Split(string payload)
    {
        Assert.True(TelemetryBatch.IsBatchTopic("hohhot/v1/pasture/P1/batch", out var prefix));
        return TelemetryBatch.Split("hohhot/v1/pasture/P1/batch", prefix, Encoding.UTF8.GetBytes(payload), Options);
    }

    private static string? RefusalOf(IncomingMessage message) => message.Refusal?.Reason;
}
