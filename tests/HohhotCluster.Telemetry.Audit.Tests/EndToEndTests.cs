using System.Globalization;
using System.Text.Json;
using Grpc.Core;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.Audit.Tests;

/// <summary>Through the real host (its own databases) and Mosquitto: MQTT messages in, judged results, rates and alerts out over gRPC.</summary>
public sealed class EndToEndTests(PlatformFixture platform) : IClassFixture<PlatformFixture>
{
    private static readonly DateOnly Yesterday = ThroughputProbe.ChinaDay(1);

    private async Task<(TestFleet Fleet, Gateway Gateway, string Lab)> PastureAAsync()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(platform.Platform);
        var lab = fleet.PastureA + "-LAB1";
        var extra = new RegistryDocument();
        extra.Devices.Add(new Device { Id = lab, OwnerKind = OwnerKind.Pasture, OwnerId = fleet.PastureA, Kind = "lab" });
        await new RegistryService.RegistryServiceClient(platform.Platform.Channel).UpsertRegistryAsync(extra);
        return (fleet, await Gateway.ConnectAsync(platform.Platform, fleet.PastureA, fleet.PasswordOf(fleet.PastureA)), lab);
    }

    private static string Envelope(string deviceId, long seq, DateTimeOffset eventTime, object body)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(JsonSerializer.Serialize(body))!.AsObject();
        node["deviceId"] = deviceId;
        node["bootEpoch"] = Payloads.Epoch;
        node["seq"] = seq;
        node["eventTime"] = Payloads.Rfc3339(eventTime);
        return node.ToJsonString();
    }

    /// <summary>A regulator's lab (held by no audited party) with one device and its gateway credential.</summary>
    private async Task<(string Lab, string Device, Gateway Gateway)> LabAsync(TestFleet fleet)
    {
        var lab = fleet.Prefix + "-REGLAB";
        var device = lab + "-ANALYSER";
        var document = new RegistryDocument();
        document.Labs.Add(new Lab { Id = lab, CountyId = fleet.CountyA, Name = "county market-supervision lab" });
        document.Devices.Add(new Device { Id = device, OwnerKind = OwnerKind.Lab, OwnerId = lab, Kind = "lab_analyser" });
        await new RegistryService.RegistryServiceClient(platform.Platform.Channel).UpsertRegistryAsync(document);
        await TestFleet.IssueGatewayAsync(platform.Platform, lab, OwnerKind.Lab, lab, fleet.PasswordOf(lab));
        return (lab, device, await Gateway.ConnectAsync(platform.Platform, lab, fleet.PasswordOf(lab)));
    }

    private static object Supervisory(string id, string lot, decimal protein, string? pastureId, string kind = "supervisory") => new
    {
        sampleId = id, sampleKind = kind, sampledAt = Payloads.Rfc3339(ThroughputProbe.At(Yesterday, 7, 30)), pastureId,
        lot = new { kind = "bulk_tank_lot", id = lot },
        items = new object[] { new { item = "protein", value = protein, unit = "g/100g" }, new { item = "antibiotic_residue", result = "negative" } },
    };

    [Fact]
    public async Task A_quality_message_becomes_a_judged_result_with_a_pass_rate_and_a_failure_alert()
    {
        var (fleet, pastureGateway, _) = await PastureAAsync();
        await using var __ = pastureGateway;
        var (lab, device, gateway) = await LabAsync(fleet);
        await using var _ = gateway;
        var topic = Payloads.Topic("lab", lab, device, "quality");
        var at = ThroughputProbe.At(Yesterday, 7, 30);
        Assert.True(await gateway.PublishAsync(topic, Envelope(device, 1, at.AddHours(1), Supervisory(fleet.Prefix + "-S1", "BTL-1", 3.10m, fleet.PastureA))));
        Assert.True(await gateway.PublishAsync(topic, Envelope(device, 2, at.AddHours(1), Supervisory(fleet.Prefix + "-S2", "BTL-2", 2.79m, fleet.PastureA))));
        Assert.True(await gateway.PublishAsync(topic, Envelope(device, 2, at.AddHours(1), Supervisory(fleet.Prefix + "-S2", "BTL-2", 2.79m, fleet.PastureA)))); // redelivery

        var audits = new AuditService.AuditServiceClient(platform.Platform.Channel);
        var query = new AuditQuery
        {
            Scope = new AuditScope { Kind = AuditScopeKind.Pasture, Id = fleet.PastureA },
            FromDate = Yesterday.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ToDate = Yesterday.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        };
        var report = await Eventually.WaitAsync(() => audits.GetPassRatesAsync(query).ResponseAsync, r => r.Overall.Judged >= 2, TimeSpan.FromSeconds(30));
        Assert.True(report.Overall.Judged == 2, platform.Platform.LogTail());
        Assert.Equal((1L, 1L, 50.0), (report.Overall.Passed, report.Overall.Failed, report.Overall.RatePercent));
        Assert.Equal("supervisory", Assert.Single(report.BySampleKind).Key);
        var failing = Assert.Single((await audits.ListFailingSamplesAsync(new ListFailingSamplesRequest { Query = query })).Samples);
        // The cow raw-milk version in force yesterday: the 2025 amendments, with GB 2762-2025 from 2026-09-02.
        var inForce = Yesterday >= new DateOnly(2026, 9, 2)
            ? "GB19301-2010+A1+A2:2025;GB2762-2025;GB31650-2019"
            : "GB19301-2010+A1+A2:2025;GB2762-2022;GB31650-2019";
        Assert.Equal((fleet.Prefix + "-S2", "bulk_tank_lot", "BTL-2", inForce), (failing.SampleId, failing.Lot.LotKind, failing.Lot.LotId, failing.RuleVersion));
        Assert.Equal(("protein", "2.79", ">= 2.8"), (failing.FailedItems[0].Item, failing.FailedItems[0].Value, failing.FailedItems[0].Limit));

        var alerts = await new AlertService.AlertServiceClient(platform.Platform.Channel).ListAlertsAsync(
            new ListAlertsRequest { OpenOnly = true, Kind = "quality_failure", PastureId = fleet.PastureA });
        Assert.Equal("bulk_tank_lot:BTL-2", Assert.Single(alerts.Alerts).Subject);
    }

    [Fact]
    public async Task Kpis_over_grpc_count_accepted_receipts_report_the_warm_load_apart_and_show_coverage_without_a_city_target()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(platform.Platform);
        await using var plant = await Gateway.ConnectAsync(platform.Platform, fleet.Plant, fleet.PasswordOf(fleet.Plant));
        var topic = Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake");
        Assert.True(await plant.PublishAsync(topic, Payloads.Intake(fleet.Weighbridge, 1, ThroughputProbe.At(Yesterday, 10, 0), fleet.Prefix + "-TL-OK", 20_000)));
        var warm = System.Text.Json.Nodes.JsonNode.Parse(Payloads.Intake(fleet.Weighbridge, 2, ThroughputProbe.At(Yesterday, 11, 0), fleet.Prefix + "-TL-WARM", 8_000))!;
        warm["temperatureC"] = 12.5; // above the 10 °C rejection limit: sent back
        Assert.True(await plant.PublishAsync(topic, warm.ToJsonString()));

        var kpis = new KpiService.KpiServiceClient(platform.Platform.Channel);
        var date = Yesterday.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
        var county = await Eventually.WaitAsync(() => kpis.GetKpisAsync(new GetKpisRequest { CountyId = fleet.CountyA, LocalDate = date }).ResponseAsync,
            r => r.Kpis.Any(k => k.Key == "processing.rejected_per_day" && k.Actual > 0), TimeSpan.FromSeconds(30));
        Assert.Equal("county:" + fleet.CountyA, county.Scope);
        var processed = county.Kpis.Single(k => k.Key == "processing.fresh_milk_per_day");
        Assert.Equal(20, processed.Actual, 9);                   // the warm 8 t are not processed
        Assert.False(processed.HasTarget2023);                   // a county is not compared with the city's 10,000 t
        Assert.Equal((1, 1), (processed.Coverage.InScope, processed.Coverage.Reported));
        Assert.Equal(8, county.Kpis.Single(k => k.Key == "processing.rejected_per_day").Actual, 9);
        var cows = county.Kpis.Single(k => k.Key == "herd.dairy_cows");
        Assert.True(cows.Estimate);
        Assert.Equal([fleet.PastureA], cows.Coverage.Silent);     // no census: counted at capacity, and listed

        var pasture = await kpis.GetKpisAsync(new GetKpisRequest { PastureId = fleet.PastureA, LocalDate = date });
        Assert.Equal("pasture:" + fleet.PastureA, pasture.Scope);
        Assert.Contains(pasture.Kpis, k => k.Key == "pastures.smart_demo" && k.Subjects.Single().Id == fleet.PastureA && !k.Subjects.Single().Qualified);
        var both = await Assert.ThrowsAsync<RpcException>(() => kpis.GetKpisAsync(new GetKpisRequest { CountyId = fleet.CountyA, PastureId = fleet.PastureA }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, both.StatusCode);
    }

    [Fact]
    public async Task A_pastures_own_supervisory_sample_is_quarantined_as_not_from_a_lab()
    {
        var (fleet, gateway, device) = await PastureAAsync();
        await using var _ = gateway;
        var topic = Payloads.Topic("pasture", fleet.PastureA, device, "quality");
        var at = ThroughputProbe.At(Yesterday, 7, 30);
        var answer = await gateway.PublishForResultAsync(topic, Envelope(device, 1, at.AddHours(1), Supervisory(fleet.Prefix + "-SELF", "BTL-9", 3.2m, null)));
        Assert.Equal(MQTTnet.MqttClientPublishReasonCode.PayloadFormatInvalid, answer.ReasonCode);
        Assert.StartsWith("quarantined: supervisory_not_from_lab:", answer.ReasonString, StringComparison.Ordinal);

        // The same sample as the pasture's self-check is its own record, accepted.
        Assert.True(await gateway.PublishAsync(topic, Envelope(device, 2, at.AddHours(1), Supervisory(fleet.Prefix + "-SELF2", "BTL-9", 3.2m, null, "pasture_self_check"))));
    }

    [Fact]
    public async Task A_lab_gateway_cannot_publish_under_a_pasture_and_a_lab_takes_only_supervisory_samples()
    {
        var (fleet, pastureGateway, pastureLab) = await PastureAAsync();
        await using var __ = pastureGateway;
        var (lab, device, gateway) = await LabAsync(fleet);
        await using var _ = gateway;
        var at = ThroughputProbe.At(Yesterday, 7, 30);
        var underPasture = await gateway.PublishForResultAsync(Payloads.Topic("pasture", fleet.PastureA, pastureLab, "quality"),
            Envelope(pastureLab, 1, at.AddHours(1), Supervisory(fleet.Prefix + "-X1", "BTL-1", 3.1m, null, "pasture_self_check")));
        Assert.Equal(MQTTnet.MqttClientPublishReasonCode.NotAuthorized, underPasture.ReasonCode);

        var topic = Payloads.Topic("lab", lab, device, "quality");
        var selfCheck = await gateway.PublishForResultAsync(topic, Envelope(device, 1, at.AddHours(1), Supervisory(fleet.Prefix + "-X2", "BTL-1", 3.1m, fleet.PastureA, "pasture_self_check")));
        Assert.Equal(MQTTnet.MqttClientPublishReasonCode.PayloadFormatInvalid, selfCheck.ReasonCode);
        Assert.Contains("supervisory", selfCheck.ReasonString, StringComparison.Ordinal);
        var unknownPasture = await gateway.PublishForResultAsync(topic, Envelope(device, 2, at.AddHours(1), Supervisory(fleet.Prefix + "-X3", "BTL-1", 3.1m, fleet.Prefix + "-NOPASTURE")));
        Assert.Equal(MQTTnet.MqttClientPublishReasonCode.PayloadFormatInvalid, unknownPasture.ReasonCode);
        Assert.Contains("not a registered pasture", unknownPasture.ReasonString, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_cooling_failure_raises_the_cold_chain_alert_streams_it_and_clears_it_after()
    {
        var (fleet, gateway, _) = await PastureAAsync();
        await using var _g = gateway;
        var client = new AlertService.AlertServiceClient(platform.Platform.Channel);
        using var stream = client.SubscribeAlerts(new SubscribeAlertsRequest { Kind = "bulk_tank_temperature" });
        await Task.Delay(1000); // the subscription takes its cursor

        var topic = Payloads.Topic("pasture", fleet.PastureA, fleet.TankA, "bulk_tank");
        var readings = new (int Minute, double C)[] { (0, 3.5), (30, 5.0), (90, 6.0), (151, 6.5) };
        var seq = 0;
        foreach (var (minute, c) in readings)
        {
            Assert.True(await gateway.PublishAsync(topic, Level(fleet.TankA, ++seq, ThroughputProbe.At(Yesterday, 10, 0).AddMinutes(minute), c)));
            await Task.Delay(300);
        }

        var subject = $"tank:{fleet.PastureA}/T1";
        var open = await Eventually.WaitAsync(
            () => client.ListAlertsAsync(new ListAlertsRequest { OpenOnly = true, Subject = subject }).ResponseAsync, r => r.Alerts.Count == 1, TimeSpan.FromSeconds(30));
        var alert = Assert.Single(open.Alerts);
        Assert.Equal(("bulk_tank_temperature", "critical"), (alert.Kind, alert.Severity));
        Assert.Equal(ThroughputProbe.At(Yesterday, 10, 30).ToUniversalTime(), DateTimeOffset.Parse(alert.Since, CultureInfo.InvariantCulture));
        Assert.Equal([5.0, 6.0, 6.5], alert.Readings.Select(r => r.Value));

        Assert.True(await gateway.PublishAsync(topic, Level(fleet.TankA, ++seq, ThroughputProbe.At(Yesterday, 13, 30), 3.8)));
        var cleared = await Eventually.WaitAsync(
            () => client.ListAlertsAsync(new ListAlertsRequest { Subject = subject }).ResponseAsync, r => r.Alerts.Count == 1 && !r.Alerts[0].Open, TimeSpan.FromSeconds(30));
        Assert.False(Assert.Single(cleared.Alerts).Open);

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var changes = new List<string>();
        while (changes.Count < 2 && await stream.ResponseStream.MoveNext(timeout.Token))
        {
            if (stream.ResponseStream.Current.Alert.Subject == subject)
            {
                changes.Add(stream.ResponseStream.Current.Change);
            }
        }

        Assert.Equal(["raised", "cleared"], changes);
    }

    [Fact]
    public async Task A_cows_conductivity_jump_raises_a_mastitis_alert_for_her_only()
    {
        var (fleet, gateway, _) = await PastureAAsync();
        await using var _g = gateway;
        var topic = Payloads.Topic("pasture", fleet.PastureA, fleet.MeterA, "milking");
        string[] cows = ["215012100000101", "215012100000102"];
        var seq = 0;
        for (var i = 0; i < 8; i++)
        {
            foreach (var cow in cows)
            {
                var conductivity = cow == cows[0] && i >= 5 ? 6.6 : 5.0 + (i % 2 * 0.1);
                Assert.True(await gateway.PublishAsync(topic, Milking(fleet.MeterA, ++seq, ThroughputProbe.At(Yesterday, 1, 0).AddHours(2 * i), fleet.HerdA1, cow, conductivity)));
            }

            await Task.Delay(250);
        }

        var client = new AlertService.AlertServiceClient(platform.Platform.Channel);
        var open = await Eventually.WaitAsync(
            () => client.ListAlertsAsync(new ListAlertsRequest { OpenOnly = true, Kind = "mastitis_suspicion", PastureId = fleet.PastureA }).ResponseAsync,
            r => r.Alerts.Count >= 1, TimeSpan.FromSeconds(30));
        await Task.Delay(1000);
        open = await client.ListAlertsAsync(new ListAlertsRequest { OpenOnly = true, Kind = "mastitis_suspicion", PastureId = fleet.PastureA });
        Assert.Equal(["animal:" + cows[0]], open.Alerts.Select(a => a.Subject));
        Assert.Contains(open.Alerts[0].Readings, r => r.Value == 6.6);
    }

    private static string Level(string deviceId, long seq, DateTimeOffset at, double temperatureC) =>
        Envelope(deviceId, seq, at, new { tankId = "T1", @event = "level", volumeL = 8000.0, temperatureC });

    private static string Milking(string deviceId, long seq, DateTimeOffset at, string herdId, string animal, double conductivity) =>
        Envelope(deviceId, seq, at, new
        {
            herdId,
            visit = new
            {
                resourceType = "icarMilkingVisitEventResource",
                animal = new { scheme = "cn.moa.eartag", id = animal },
                milkingStartingDateTime = at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                milkingMilkWeight = new { unitCode = "KGM", value = 12.0 },
                milkCharacteristics = new object[] { new { characteristic = "AVGCOND", value = conductivity.ToString(CultureInfo.InvariantCulture) } },
            },
        });
}
