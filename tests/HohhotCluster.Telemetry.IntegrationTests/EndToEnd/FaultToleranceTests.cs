using Grpc.Core;
using Grpc.Health.V1;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;
using MQTTnet;

namespace HohhotCluster.Telemetry.IntegrationTests.EndToEnd;

/// <summary>The faults of reliability.md injected for real: InfluxDB and PostgreSQL taken away mid-stream.</summary>
public sealed class FaultToleranceTests(PlatformFixture fixture) : IClassFixture<PlatformFixture>
{
    private PlatformProcess Platform => fixture.Platform;

    [Fact]
    public async Task InfluxDB_down_holds_acknowledgements_shows_degraded_and_loses_nothing_after_recovery()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(Platform);
        var day = ThroughputProbe.ChinaDay(1);
        await using var plant = await Gateway.ConnectAsync(fleet.Plant, fleet.PasswordOf(fleet.Plant));
        var topic = Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake");
        var health = new Health.HealthClient(Platform.Channel);

        await ServerControl.KillAsync("influx");
        try
        {
            for (var seq = 1; seq <= 40; seq++)
            {
                Assert.True(await plant.PublishAsync(topic, Payloads.Intake(fleet.Weighbridge, seq, ThroughputProbe.At(day, 12, seq), "TL-" + seq, 1_000 + seq)));
            }

            var degraded = await Eventually.WaitAsync(
                async () => (await health.CheckAsync(new HealthCheckRequest { Service = "influxdb" })).Status,
                s => s == HealthCheckResponse.Types.ServingStatus.NotServing, TimeSpan.FromSeconds(30));
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, degraded);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
            await Task.Delay(TimeSpan.FromSeconds(5));
        }
        finally
        {
            await ServerControl.StartAsync("influx");
        }

        var reply = await ThroughputProbe.WaitForCountsAsync(Platform, day, ScopeKind.Plant, fleet.Plant, 0, 0, 40);
        Assert.Equal(40, reply.IntakeCount);
        var expectedKg = Enumerable.Range(1, 40).Sum(i => 1_000.0 + i);
        Assert.Equal(expectedKg / 1000, reply.ProcessedT, 9);
        var points = await Eventually.WaitAsync(
            () => Platform.Influx.CountAndSumAsync("plant_intake", "net_kg", $"\"plant\" = '{fleet.Plant}'"), p => p.Count >= 40, TimeSpan.FromSeconds(60));
        Assert.Equal((40L, expectedKg), points);
        var recovered = await Eventually.WaitAsync(
            async () => (await health.CheckAsync(new HealthCheckRequest { Service = "influxdb" })).Status,
            s => s == HealthCheckResponse.Types.ServingStatus.Serving, TimeSpan.FromSeconds(30));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, recovered);
    }

    [Fact]
    public async Task PostgreSQL_restart_answers_unavailable_then_recovers_without_a_platform_restart_and_counts_once()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(Platform);
        var day = ThroughputProbe.ChinaDay(1);
        await using var plant = await Gateway.ConnectAsync(fleet.Plant, fleet.PasswordOf(fleet.Plant));
        var topic = Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake");
        for (var seq = 1; seq <= 10; seq++)
        {
            Assert.True(await plant.PublishAsync(topic, Payloads.Intake(fleet.Weighbridge, seq, ThroughputProbe.At(day, 13, seq), "TL-" + seq, 2_000)));
        }

        await ThroughputProbe.WaitForCountsAsync(Platform, day, ScopeKind.Plant, fleet.Plant, 0, 0, 10);

        await ServerControl.StopAsync("pg");
        try
        {
            for (var seq = 11; seq <= 20; seq++)
            {
                Assert.True(await plant.PublishAsync(topic, Payloads.Intake(fleet.Weighbridge, seq, ThroughputProbe.At(day, 13, seq), "TL-" + seq, 2_000)));
            }

            // A scope whose check needs the registry: the API says UNAVAILABLE (retry), not INTERNAL, and leaks nothing.
            var error = await Assert.ThrowsAsync<RpcException>(() => ThroughputProbe.GetAsync(Platform, day, ScopeKind.County, fleet.CountyB));
            Assert.Equal(StatusCode.Unavailable, error.StatusCode);
            Assert.DoesNotContain("Npgsql", error.Status.Detail, StringComparison.Ordinal);
        }
        finally
        {
            await ServerControl.StartAsync("pg");
        }

        var reply = await ThroughputProbe.WaitForCountsAsync(Platform, day, ScopeKind.Plant, fleet.Plant, 0, 0, 20, TimeSpan.FromSeconds(90));
        await Task.Delay(1000);
        reply = await ThroughputProbe.GetAsync(Platform, day, ScopeKind.Plant, fleet.Plant);
        Assert.Equal(20, reply.IntakeCount);
        Assert.Equal(40.0, reply.ProcessedT, 9);
        var county = await ThroughputProbe.GetAsync(Platform, day, ScopeKind.County, fleet.CountyA);
        Assert.Equal(20, county.IntakeCount);
    }

    [Fact]
    public async Task Broker_refuses_wrong_passwords_foreign_topics_and_oversized_payloads_and_nothing_is_stored()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(Platform);
        var day = ThroughputProbe.ChinaDay(1);

        var wrongPassword = await new MqttClientFactory().CreateMqttClient().ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer(TestServers.MqttHost, TestServers.MqttPort)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithCredentials(fleet.Plant, "not-the-password")
            .Build());
        Assert.NotEqual(MqttClientConnectResultCode.Success, wrongPassword.ResultCode);

        await using var gatewayA = await Gateway.ConnectAsync(fleet.PastureA, fleet.PasswordOf(fleet.PastureA));
        var foreign = Payloads.Topic("pasture", fleet.PastureB, fleet.TankB, "bulk_tank");
        Assert.False(await gatewayA.PublishAsync(foreign, Payloads.Collection(fleet.TankB, 1, ThroughputProbe.At(day, 8, 0), "BTL-foreign", 9_000)));

        await using var plant = await Gateway.ConnectAsync(fleet.Plant, fleet.PasswordOf(fleet.Plant));
        var topic = Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake");
        var oversized = Payloads.Intake(fleet.Weighbridge, 1, ThroughputProbe.At(day, 9, 0), "TL-big", 1_000)
            .Replace("\"tankerPlate\"", "\"pad\":\"" + new string('x', 70_000) + "\",\"tankerPlate\"", StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<Exception>(() => plant.PublishAsync(topic, oversized));

        await using var plantAgain = await Gateway.ConnectAsync(fleet.Plant, fleet.PasswordOf(fleet.Plant));
        Assert.True(await plantAgain.PublishAsync(topic, Payloads.Intake(fleet.Weighbridge, 2, ThroughputProbe.At(day, 9, 5), "TL-ok", 3_000)));

        var reply = await ThroughputProbe.WaitForCountsAsync(Platform, day, ScopeKind.Plant, fleet.Plant, 0, 0, 1);
        Assert.Equal((1L, 3.0), (reply.IntakeCount, reply.ProcessedT));
        var pastureB = await ThroughputProbe.GetAsync(Platform, day, ScopeKind.Pasture, fleet.PastureB);
        Assert.Equal(0, pastureB.CollectionCount);
        Assert.Empty(await QuarantineProbe.ReadAsync(Platform, foreign));
        Assert.Empty(await QuarantineProbe.ReadAsync(Platform, topic));
    }

    [Theory]
    [InlineData("kill")]
    [InlineData("stop")]
    public async Task Broker_restarted_mid_stream_loses_no_acknowledged_reading(string how)
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(Platform);
        var day = ThroughputProbe.ChinaDay(1);
        var topic = Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake");
        long acked = 0, unanswered = 0;
        double ackedKg = 0;
        var plant = await Gateway.ConnectAsync(fleet.Plant, fleet.PasswordOf(fleet.Plant));
        try
        {
            for (var seq = 1; seq <= 300; seq++)
            {
                if (seq == 150)
                {
                    await (how == "kill" ? ServerControl.KillAsync("mqtt") : ServerControl.StopAsync("mqtt"));
                    await ServerControl.StartAsync("mqtt");
                }

                var kg = 1_000.0 + seq;
                try
                {
                    if (await plant.PublishAsync(topic, Payloads.Intake(fleet.Weighbridge, seq, ThroughputProbe.At(day, 14, 0).AddSeconds(seq), "TL-" + seq, kg)))
                    {
                        acked++;
                        ackedKg += kg;
                        continue;
                    }
                }
                catch (Exception exception) when (exception is not Xunit.Sdk.XunitException)
                {
                    // The connection died with the broker: like a device, reconnect and go on.
                    await plant.DisposeAsync();
                    plant = await Gateway.ConnectAsync(fleet.Plant, fleet.PasswordOf(fleet.Plant));
                }

                unanswered++;
            }
        }
        finally
        {
            await plant.DisposeAsync();
        }

        // Every acknowledged reading arrives; one whose PUBACK never came may or may not have reached the broker.
        var reply = await ThroughputProbe.WaitForCountsAsync(Platform, day, ScopeKind.Plant, fleet.Plant, 0, 0, acked, TimeSpan.FromSeconds(90));
        await Task.Delay(1000);
        reply = await ThroughputProbe.GetAsync(Platform, day, ScopeKind.Plant, fleet.Plant);
        Assert.InRange(reply.IntakeCount, acked, acked + unanswered);
        Assert.True(reply.ProcessedT * 1000 >= ackedKg - 1e-6, $"processed {reply.ProcessedT} t < acknowledged {ackedKg} kg");
        Assert.True(acked >= 290, $"only {acked} of 300 publishes were acknowledged");
    }
}
