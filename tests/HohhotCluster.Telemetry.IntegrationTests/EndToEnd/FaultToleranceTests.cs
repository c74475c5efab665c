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

    /// <summary>InfluxDB killed, stopped or frozen (SIGSTOP, sockets open, no answer) while a device keeps publishing.</summary>
    [Theory]
    [InlineData("kill")]
    [InlineData("stop")]
    [InlineData("freeze")]
    public async Task InfluxDB_away_holds_acknowledgements_shows_degraded_and_loses_nothing_after_recovery(string how)
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(Platform);
        var day = ThroughputProbe.ChinaDay(1);
        // A device as its firmware behaves: a publish without a PUBACK is resent after reconnecting (a publish held
        // longer than 1.5 keep-alive periods costs the connection, as the endpoint reads nothing else meanwhile).
        await using var plant = new ResendingGateway(Platform, fleet.Plant, fleet.PasswordOf(fleet.Plant));
        var topic = Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake");
        var health = new Health.HealthClient(Platform.Channel);

        await (how switch { "kill" => ServerControl.KillAsync("influx"), "stop" => ServerControl.StopAsync("influx"), _ => ServerControl.FreezeAsync("influx") });
        var acknowledged = 0;
        var publishing = Task.Run(async () =>
        {
            for (var seq = 1; seq <= 40; seq++)
            {
                await plant.PublishUntilAcknowledgedAsync(topic, Payloads.Intake(fleet.Weighbridge, seq, ThroughputProbe.At(day, 12, seq), "TL-" + seq, 1_000 + seq));
                Interlocked.Increment(ref acknowledged);
            }
        });
        try
        {

            var degraded = await Eventually.WaitAsync(
                async () => (await health.CheckAsync(new HealthCheckRequest { Service = "influxdb" })).Status,
                s => s == HealthCheckResponse.Types.ServingStatus.NotServing, TimeSpan.FromSeconds(60));
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, degraded);
            Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, (await health.CheckAsync(new HealthCheckRequest())).Status);
            // Held for a while (the scenario: 60 s frozen) while the device keeps trying.
            await Task.Delay(how == "freeze" ? TimeSpan.FromSeconds(60) : TimeSpan.FromSeconds(5));
            // No point stored, so no PUBACK: the device holds its reading (and sends no more on this connection).
            Assert.Equal(0, Volatile.Read(ref acknowledged));
        }
        finally
        {
            await (how == "freeze" ? ServerControl.ThawAsync("influx") : ServerControl.StartAsync("influx"));
        }

        await publishing.WaitAsync(TimeSpan.FromSeconds(120));
        Assert.Equal(40, acknowledged);

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

    /// <summary>PostgreSQL stopped, or killed (SIGKILL, mid-commit of whatever is in flight), and started again.</summary>
    [Theory]
    [InlineData("stop")]
    [InlineData("kill")]
    public async Task PostgreSQL_restart_answers_unavailable_then_recovers_without_a_platform_restart_and_counts_once(string how)
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(Platform);
        var day = ThroughputProbe.ChinaDay(1);
        await using var plant = new ResendingGateway(Platform, fleet.Plant, fleet.PasswordOf(fleet.Plant));
        var topic = Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake");
        for (var seq = 1; seq <= 10; seq++)
        {
            await plant.PublishUntilAcknowledgedAsync(topic, Payloads.Intake(fleet.Weighbridge, seq, ThroughputProbe.At(day, 13, seq), "TL-" + seq, 2_000));
        }

        await ThroughputProbe.WaitForCountsAsync(Platform, day, ScopeKind.Plant, fleet.Plant, 0, 0, 10);

        await (how == "kill" ? ServerControl.KillAsync("pg") : ServerControl.StopAsync("pg"));
        var acknowledged = 0;
        var publishing = Task.Run(async () =>
        {
            for (var seq = 11; seq <= 20; seq++)
            {
                await plant.PublishUntilAcknowledgedAsync(topic, Payloads.Intake(fleet.Weighbridge, seq, ThroughputProbe.At(day, 13, seq), "TL-" + seq, 2_000));
                Interlocked.Increment(ref acknowledged);
            }
        });
        try
        {

            // A scope whose check needs the registry: the API says UNAVAILABLE (retry), not INTERNAL, and leaks nothing.
            var error = await Assert.ThrowsAsync<RpcException>(() => ThroughputProbe.GetAsync(Platform, day, ScopeKind.County, fleet.CountyB));
            Assert.Equal(StatusCode.Unavailable, error.StatusCode);
            Assert.DoesNotContain("Npgsql", error.Status.Detail, StringComparison.Ordinal);
            Assert.Equal(0, Volatile.Read(ref acknowledged));
        }
        finally
        {
            await ServerControl.StartAsync("pg");
        }

        await publishing.WaitAsync(TimeSpan.FromSeconds(120));

        var reply = await ThroughputProbe.WaitForCountsAsync(Platform, day, ScopeKind.Plant, fleet.Plant, 0, 0, 20, TimeSpan.FromSeconds(90));
        await Task.Delay(1000);
        reply = await ThroughputProbe.GetAsync(Platform, day, ScopeKind.Plant, fleet.Plant);
        Assert.Equal(20, reply.IntakeCount);
        Assert.Equal(40.0, reply.ProcessedT, 9);
        var county = await ThroughputProbe.GetAsync(Platform, day, ScopeKind.County, fleet.CountyA);
        Assert.Equal(20, county.IntakeCount);
    }

    [Fact]
    public async Task Endpoint_refuses_wrong_passwords_foreign_topics_and_oversized_packets_and_nothing_is_stored()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(Platform);
        var day = ThroughputProbe.ChinaDay(1);

        var (wrong, wrongPassword) = await Gateway.TryConnectAsync(Platform, fleet.Plant, "not-the-password-of-this-gateway");
        await using (wrong)
        {
            Assert.Equal(MqttClientConnectResultCode.BadUserNameOrPassword, wrongPassword.ResultCode);
        }

        await using var gatewayA = await Gateway.ConnectAsync(Platform, fleet.PastureA, fleet.PasswordOf(fleet.PastureA));
        var foreign = Payloads.Topic("pasture", fleet.PastureB, fleet.TankB, "bulk_tank");
        var refused = await gatewayA.PublishForResultAsync(foreign, Payloads.Collection(fleet.TankB, 1, ThroughputProbe.At(day, 8, 0), "BTL-foreign", 9_000));
        Assert.Equal(MqttClientPublishReasonCode.NotAuthorized, refused.ReasonCode);

        await using var plant = await Gateway.ConnectAsync(Platform, fleet.Plant, fleet.PasswordOf(fleet.Plant));
        var topic = Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake");
        var oversized = Payloads.Intake(fleet.Weighbridge, 1, ThroughputProbe.At(day, 9, 0), "TL-big", 1_000)
            .Replace("\"tankerPlate\"", "\"pad\":\"" + new string('x', 70_000) + "\",\"tankerPlate\"", StringComparison.Ordinal);
        await Assert.ThrowsAnyAsync<Exception>(() => plant.PublishAsync(topic, oversized));

        await using var plantAgain = await Gateway.ConnectAsync(Platform, fleet.Plant, fleet.PasswordOf(fleet.Plant));
        Assert.True(await plantAgain.PublishAsync(topic, Payloads.Intake(fleet.Weighbridge, 2, ThroughputProbe.At(day, 9, 5), "TL-ok", 3_000)));

        var reply = await ThroughputProbe.WaitForCountsAsync(Platform, day, ScopeKind.Plant, fleet.Plant, 0, 0, 1);
        Assert.Equal((1L, 3.0), (reply.IntakeCount, reply.ProcessedT));
        var pastureB = await ThroughputProbe.GetAsync(Platform, day, ScopeKind.Pasture, fleet.PastureB);
        Assert.Equal(0, pastureB.CollectionCount);
        Assert.Empty(await QuarantineProbe.ReadAsync(Platform, foreign));
        Assert.Empty(await QuarantineProbe.ReadAsync(Platform, topic));
    }

    /// <summary>
    /// The endpoint's promise, looked at through nothing but PUBACKs and the stores: the host is killed (SIGKILL, right
    /// after PUBACKs went out) or stopped (SIGTERM, a rolling restart) mid-stream; every reading that got its PUBACK is
    /// counted after the restart, nothing is counted twice, and a graceful stop leaves no publish unanswered.
    /// </summary>
    [Theory]
    [InlineData("kill")]
    [InlineData("stop")]
    public async Task Host_restarted_mid_stream_loses_no_acknowledged_reading(string how)
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(Platform);
        var day = ThroughputProbe.ChinaDay(1);
        var topic = Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake");
        var acked = new HashSet<int>();
        double ackedKg = 0;
        var plant = await Gateway.ConnectAsync(Platform, fleet.Plant, fleet.PasswordOf(fleet.Plant));
        var restart = Task.CompletedTask;
        try
        {
            for (var seq = 1; seq <= 300; seq++)
            {
                if (seq == 150)
                {
                    // Publishing goes on while the host goes down: some publishes are in flight when it does.
                    restart = Task.Run(async () =>
                    {
                        await (how == "kill" ? Platform.KillAsync() : Platform.StopAsync());
                        await Platform.StartAgainAsync();
                    });
                }

                var kg = 1_000.0 + seq;
                while (true)
                {
                    try
                    {
                        if (await plant.PublishAsync(topic, Payloads.Intake(fleet.Weighbridge, seq, ThroughputProbe.At(day, 14, 0).AddSeconds(seq), "TL-" + seq, kg)))
                        {
                            acked.Add(seq);
                            ackedKg += kg;
                            break;
                        }

                        Assert.Fail($"seq {seq} was refused");
                    }
                    catch (Exception exception) when (exception is not Xunit.Sdk.XunitException)
                    {
                        // No PUBACK: like a device, reconnect and resend the same reading (the key is recognised).
                        await plant.DisposeAsync();
                        plant = await ReconnectAsync(fleet);
                    }
                }
            }
        }
        finally
        {
            await plant.DisposeAsync();
            await restart;
        }

        var reply = await ThroughputProbe.WaitForCountsAsync(Platform, day, ScopeKind.Plant, fleet.Plant, 0, 0, 300, TimeSpan.FromSeconds(90));
        Assert.Equal(300, acked.Count);
        Assert.Equal(300, reply.IntakeCount);
        Assert.Equal(ackedKg / 1000, reply.ProcessedT, 6);
        var (points, pointKg) = await Platform.Influx.CountAndSumAsync("plant_intake", "net_kg", $"plant = '{fleet.Plant}'");
        Assert.Equal((300L, ackedKg), (points, pointKg));
    }

    private async Task<Gateway> ReconnectAsync(TestFleet fleet)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (true)
        {
            try
            {
                var (gateway, result) = await Gateway.TryConnectAsync(Platform, fleet.Plant, fleet.PasswordOf(fleet.Plant));
                if (result.ResultCode == MqttClientConnectResultCode.Success)
                {
                    return gateway;
                }

                await gateway.DisposeAsync();
            }
            catch (Exception exception) when (exception is not Xunit.Sdk.XunitException && DateTime.UtcNow < deadline)
            {
                // The host is not listening yet.
            }

            await Task.Delay(200);
        }
    }
}
