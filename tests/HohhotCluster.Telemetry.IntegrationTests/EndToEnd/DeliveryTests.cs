using System.Text;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.IntegrationTests.EndToEnd;

/// <summary>Delivery semantics through the platform's MQTT endpoint: duplicates, day boundaries and bad input.</summary>
public sealed class DeliveryTests(PlatformFixture fixture) : IClassFixture<PlatformFixture>
{
    private PlatformProcess Platform => fixture.Platform;

    [Fact]
    public async Task Same_message_published_twice_is_counted_once()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(Platform);
        var day = ThroughputProbe.ChinaDay(1);
        await using var plant = await Gateway.ConnectAsync(Platform, fleet.Plant, fleet.PasswordOf(fleet.Plant));
        var topic = Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake");

        var first = Payloads.Intake(fleet.Weighbridge, 1, ThroughputProbe.At(day, 9, 0), "TL-1", 20_000);
        Assert.True(await plant.PublishAsync(topic, first));
        Assert.True(await plant.PublishAsync(topic, first));
        // The same key with a different body (a device resending after a lost PUBACK) is still the same reading.
        Assert.True(await plant.PublishAsync(topic, Payloads.Intake(fleet.Weighbridge, 1, ThroughputProbe.At(day, 9, 0), "TL-1", 20_000.0)));
        Assert.True(await plant.PublishAsync(topic, Payloads.Intake(fleet.Weighbridge, 2, ThroughputProbe.At(day, 10, 0), "TL-2", 7_500)));

        var reply = await ThroughputProbe.WaitForCountsAsync(Platform, day, ScopeKind.Plant, fleet.Plant, 0, 0, 2);
        await Task.Delay(1000); // give a wrongly counted duplicate time to show up
        reply = await ThroughputProbe.GetAsync(Platform, day, ScopeKind.Plant, fleet.Plant);
        Assert.Equal(2, reply.IntakeCount);
        Assert.Equal(27.5, reply.ProcessedT, 9);

        var points = await Eventually.WaitAsync(
            () => Platform.Influx.CountAndSumAsync("plant_intake", "net_kg", $"\"plant\" = '{fleet.Plant}'"), p => p.Count >= 2);
        Assert.Equal((2L, 27_500.0), points);
    }

    [Fact]
    public async Task Readings_at_23_59_and_00_01_China_time_land_on_different_days_under_a_New_York_host()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(Platform);
        var day = ThroughputProbe.ChinaDay(3);
        await using var plant = await Gateway.ConnectAsync(Platform, fleet.Plant, fleet.PasswordOf(fleet.Plant));
        var topic = Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake");

        Assert.True(await plant.PublishAsync(topic, Payloads.Intake(fleet.Weighbridge, 1, ThroughputProbe.At(day, 23, 59), "TL-late", 1_000)));
        Assert.True(await plant.PublishAsync(topic, Payloads.Intake(fleet.Weighbridge, 2, ThroughputProbe.At(day.AddDays(1), 0, 1), "TL-early", 2_000)));
        // The same instant as 23:59 China time, written by a device in UTC: still the first day.
        var utcWriter = ThroughputProbe.At(day, 23, 58).ToUniversalTime();
        Assert.True(await plant.PublishAsync(topic, Payloads.WithEventTime(
            Payloads.Intake(fleet.Weighbridge, 3, utcWriter, "TL-utc", 4_000),
            utcWriter.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture))));

        var first = await ThroughputProbe.WaitForCountsAsync(Platform, day, ScopeKind.Plant, fleet.Plant, 0, 0, 2);
        var second = await ThroughputProbe.WaitForCountsAsync(Platform, day.AddDays(1), ScopeKind.Plant, fleet.Plant, 0, 0, 1);
        Assert.Equal((2L, 5.0), (first.IntakeCount, first.ProcessedT));
        Assert.Equal((1L, 2.0), (second.IntakeCount, second.ProcessedT));
    }

    [Fact]
    public async Task Malformed_payloads_are_quarantined_with_their_reason_and_the_next_valid_message_is_processed()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(Platform);
        var day = ThroughputProbe.ChinaDay(1);
        await using var plant = await Gateway.ConnectAsync(Platform, fleet.Plant, fleet.PasswordOf(fleet.Plant));
        var topic = Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake");
        var valid = Payloads.Intake(fleet.Weighbridge, 10, ThroughputProbe.At(day, 11, 0), "TL-ok", 12_345);

        var bad = new (byte[] Payload, string Reason)[]
        {
            (Encoding.UTF8.GetBytes(valid[..30]), "malformed_json"),
            (Encoding.UTF8.GetBytes(valid.Replace("12345", "NaN", StringComparison.Ordinal)), "malformed_json"),
            ([0x7B, 0x22, 0xC3, 0x28, 0x22, 0x3A, 0x31, 0x7D], "invalid_utf8"),
            (Encoding.UTF8.GetBytes(valid.Replace("\"temperatureC\":4.1", "\"deep\":" + new string('[', 100) + new string(']', 100), StringComparison.Ordinal)), "too_deep"),
            (Encoding.UTF8.GetBytes(valid.Replace("\"seq\":10,", "", StringComparison.Ordinal)), "missing_field"),
            (Encoding.UTF8.GetBytes(Payloads.Intake(fleet.Weighbridge, 11, DateTimeOffset.UtcNow.AddDays(400), "TL-future", 1_000)), "clock_skew"),
            (Encoding.UTF8.GetBytes(Payloads.Intake(fleet.Weighbridge, 12, DateTimeOffset.UtcNow.AddDays(-30), "TL-old", 1_000)), "too_late"),
            // PostgreSQL text cannot hold U+0000: accepted, this load id would fail its batch's writes for ever.
            (Encoding.UTF8.GetBytes(Payloads.Intake(fleet.Weighbridge, 13, ThroughputProbe.At(day, 11, 1), "TL-\u0000", 1_000)), "invalid_field"),
        };
        // Each PUBACK says the message is held in the quarantine (0x99) and why.
        foreach (var (payload, reason) in bad)
        {
            var answer = await plant.PublishForResultAsync(topic, payload);
            Assert.Equal(MQTTnet.MqttClientPublishReasonCode.PayloadFormatInvalid, answer.ReasonCode);
            Assert.StartsWith("quarantined: " + reason + ":", answer.ReasonString, StringComparison.Ordinal);
        }

        // Resent with the same key: each is already quarantined for its reason, so no second row.
        foreach (var (payload, _) in bad[^3..])
        {
            Assert.Equal(MQTTnet.MqttClientPublishReasonCode.PayloadFormatInvalid, (await plant.PublishForResultAsync(topic, payload)).ReasonCode);
        }

        Assert.True(await plant.PublishAsync(topic, valid));

        var reply = await ThroughputProbe.WaitForCountsAsync(Platform, day, ScopeKind.Plant, fleet.Plant, 0, 0, 1);
        Assert.Equal(1, reply.IntakeCount);
        Assert.Equal(12.345, reply.ProcessedT, 9);

        var rows = await Eventually.WaitAsync(() => QuarantineProbe.ReadAsync(Platform, topic), r => r.Count >= bad.Length);
        // Batches are processed concurrently, so rows need not be in publish order: match each by its raw bytes.
        Assert.Equal(bad.Length, rows.Count);
        foreach (var (payload, reason) in bad)
        {
            var row = Assert.Single(rows, r => r.Payload.AsSpan().SequenceEqual(payload));
            Assert.Equal(reason, row.Reason);
            Assert.False(string.IsNullOrWhiteSpace(row.Detail));
        }

        // Nothing from the bad ones reached InfluxDB. (The rollup is updated before the point is written, so wait for it.)
        var points = await Eventually.WaitAsync(
            () => Platform.Influx.CountAndSumAsync("plant_intake", "net_kg", $"\"plant\" = '{fleet.Plant}'"), p => p.Count >= 1);
        Assert.Equal((1L, 12_345.0), points);
    }

    [Fact]
    public async Task Device_publishing_under_another_pasture_is_quarantined_by_ingestion()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(Platform);
        var day = ThroughputProbe.ChinaDay(1);
        // The endpoint's ACL already stops gateway A from publishing under pasture B; this is the second line of defence:
        // pasture A's own topic naming pasture B's device.
        await using var gatewayA = await Gateway.ConnectAsync(Platform, fleet.PastureA, fleet.PasswordOf(fleet.PastureA));
        var spoofed = Payloads.Topic("pasture", fleet.PastureA, fleet.TankB, "bulk_tank");
        Assert.Equal(MQTTnet.MqttClientPublishReasonCode.PayloadFormatInvalid,
            (await gatewayA.PublishForResultAsync(spoofed, Payloads.Collection(fleet.TankB, 1, ThroughputProbe.At(day, 8, 0), "BTL-x", 9_999))).ReasonCode);
        var unknown = Payloads.Topic("pasture", fleet.PastureA, fleet.PastureA + "-GHOST", "bulk_tank");
        Assert.Equal(MQTTnet.MqttClientPublishReasonCode.PayloadFormatInvalid,
            (await gatewayA.PublishForResultAsync(unknown, Payloads.Collection(fleet.PastureA + "-GHOST", 1, ThroughputProbe.At(day, 8, 0), "BTL-y", 9_999))).ReasonCode);

        var spoofedRows = await Eventually.WaitAsync(() => QuarantineProbe.ReadAsync(Platform, spoofed), r => r.Count >= 1);
        Assert.Equal("topic_owner_mismatch", Assert.Single(spoofedRows).Reason);
        var unknownRows = await Eventually.WaitAsync(() => QuarantineProbe.ReadAsync(Platform, unknown), r => r.Count >= 1);
        Assert.Equal("unknown_device", Assert.Single(unknownRows).Reason);

        var pastureB = await ThroughputProbe.GetAsync(Platform, day, ScopeKind.Pasture, fleet.PastureB);
        Assert.Equal(0, pastureB.CollectionCount);
    }

    [Fact]
    public async Task Resend_with_the_same_key_and_another_body_is_quarantined_with_both_digests_and_changes_neither_store()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(Platform);
        var day = ThroughputProbe.ChinaDay(1);
        await using var plant = await Gateway.ConnectAsync(Platform, fleet.Plant, fleet.PasswordOf(fleet.Plant));
        var topic = Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake");
        var at = ThroughputProbe.At(day, 9, 40);
        Assert.True(await plant.PublishAsync(topic, Payloads.Intake(fleet.Weighbridge, 9, at, "TL-7", 28_450)));
        var changedKg = await plant.PublishForResultAsync(topic, Payloads.Intake(fleet.Weighbridge, 9, at, "TL-7", 5_555.5));
        var changedTime = await plant.PublishForResultAsync(topic, Payloads.Intake(fleet.Weighbridge, 9, at.AddDays(-1), "TL-7", 28_450));
        Assert.True(await plant.PublishAsync(topic, Payloads.Intake(fleet.Weighbridge, 9, at, "TL-7", 28_450))); // the same body: a duplicate

        Assert.Equal(MQTTnet.MqttClientPublishReasonCode.PayloadFormatInvalid, changedKg.ReasonCode);
        Assert.Equal(MQTTnet.MqttClientPublishReasonCode.PayloadFormatInvalid, changedTime.ReasonCode);
        var reply = await ThroughputProbe.WaitForCountsAsync(Platform, day, ScopeKind.Plant, fleet.Plant, 0, 0, 1);
        Assert.Equal((1L, 28.45), (reply.IntakeCount, reply.ProcessedT));
        Assert.Equal(0, (await ThroughputProbe.GetAsync(Platform, day.AddDays(-1), ScopeKind.Plant, fleet.Plant)).IntakeCount);
        Assert.Equal((1L, 28_450.0), await Platform.Influx.CountAndSumAsync("plant_intake", "net_kg", $"\"plant\" = '{fleet.Plant}'"));
        // Kept once per key and reason, like every quarantined message: the first conflicting body, with both digests.
        var row = Assert.Single(await QuarantineProbe.ReadAsync(Platform, topic));
        Assert.Equal("conflicting_duplicate", row.Reason);
        Assert.Matches("first received with body digest [0-9a-f]{16}; this body's digest is [0-9a-f]{16}", row.Detail);
        Assert.Contains("5555.5", System.Text.Encoding.UTF8.GetString(row.Payload), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Boot_epochs_count_in_order_of_arrival_and_a_forgotten_one_is_quarantined_not_dropped()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(Platform);
        var day = ThroughputProbe.ChinaDay(1);
        await using var plant = await Gateway.ConnectAsync(Platform, fleet.Plant, fleet.PasswordOf(fleet.Plant));
        var topic = Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake");
        var at = ThroughputProbe.At(day, 8, 0);
        // A boot counter that resets and a clock wrong at boot: later boots with smaller numbers, every one counted,
        // two of them with the same event time and seq (the boot tag keeps their points apart).
        long[] epochs = [100, 5, 3, 2, 1, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
        foreach (var epoch in epochs)
        {
            Assert.True(await plant.PublishAsync(topic, Payloads.Intake(fleet.Weighbridge, 1, epoch is 2 or 3 ? at : at.AddMinutes(epoch), "TL-" + epoch, 1_000, epoch)));
        }

        var reply = await ThroughputProbe.WaitForCountsAsync(Platform, day, ScopeKind.Plant, fleet.Plant, 0, 0, epochs.Length);
        Assert.Equal(epochs.Length, reply.IntakeCount);
        Assert.Equal(epochs.Length, (await Platform.Influx.CountAndSumAsync("plant_intake", "net_kg", $"\"plant\" = '{fleet.Plant}'")).Count);

        // A 17th boot: the first to arrive (100) is forgotten; its late reading cannot be vouched for, so it is
        // quarantined (reported), never silently taken for a duplicate.
        Assert.True(await plant.PublishAsync(topic, Payloads.Intake(fleet.Weighbridge, 1, at.AddMinutes(50), "TL-17", 1_000, 17)));
        var late = await plant.PublishForResultAsync(topic, Payloads.Intake(fleet.Weighbridge, 2, at.AddMinutes(101), "TL-100b", 1_000, 100));
        Assert.Equal(MQTTnet.MqttClientPublishReasonCode.PayloadFormatInvalid, late.ReasonCode);
        Assert.StartsWith("quarantined: unverifiable_key:", late.ReasonString, StringComparison.Ordinal);
        reply = await ThroughputProbe.WaitForCountsAsync(Platform, day, ScopeKind.Plant, fleet.Plant, 0, 0, epochs.Length + 1);
        Assert.Equal(epochs.Length + 1, reply.IntakeCount);
        Assert.Equal("unverifiable_key", Assert.Single(await QuarantineProbe.ReadAsync(Platform, topic)).Reason);
    }
}
