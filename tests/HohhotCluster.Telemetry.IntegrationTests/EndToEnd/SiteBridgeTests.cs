using System.Text;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;
using MQTTnet;
using MQTTnet.Protocol;

namespace HohhotCluster.Telemetry.IntegrationTests.EndToEnd;

/// <summary>
/// One way in: a pasture runs its own Mosquitto and bridges it to the platform's endpoint with its gateway credential.
/// Both ends are killed (SIGKILL) mid-stream; what the site broker acknowledged to its devices, it keeps until the
/// platform acknowledges it, and the platform counts each reading once.
/// </summary>
public sealed class SiteBridgeTests(PlatformFixture fixture) : IClassFixture<PlatformFixture>
{
    private PlatformProcess Platform => fixture.Platform;

    [Fact]
    public async Task Site_broker_bridged_to_the_platform_loses_nothing_when_both_are_killed_mid_stream()
    {
        var fleet = new TestFleet();
        await fleet.RegisterAsync(Platform);
        var day = ThroughputProbe.ChinaDay(1);
        await using var site = await SiteBroker.StartAsync(Platform, fleet.PastureA, fleet.PasswordOf(fleet.PastureA));
        var topic = Payloads.Topic("pasture", fleet.PastureA, fleet.MeterA, "milking");
        const int readings = 300;
        double sentKg = 0;
        var device = await ConnectDeviceAsync(site);
        var restart = Task.CompletedTask;
        try
        {
            for (var seq = 1; seq <= readings; seq++)
            {
                if (seq == 100)
                {
                    restart = Task.Run(async () =>
                    {
                        await Platform.KillAsync();
                        await Platform.StartAgainAsync();
                    });
                }

                if (seq == 200)
                {
                    await site.KillAsync();
                    await site.StartAgainAsync();
                }

                var kg = 8 + (seq % 17 * 0.25);
                var payload = Encoding.UTF8.GetBytes(Payloads.Milking(fleet.MeterA, seq, ThroughputProbe.At(day, 5, 0).AddSeconds(seq), fleet.HerdA1, kg));
                while (true)
                {
                    try
                    {
                        var result = await device.PublishAsync(new MqttApplicationMessageBuilder().WithTopic(topic).WithPayload(payload)
                            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce).Build());
                        Assert.True(result.IsSuccess, $"site broker refused seq {seq}: {result.ReasonCode}");
                        break;
                    }
                    catch (Exception exception) when (exception is not Xunit.Sdk.XunitException)
                    {
                        // The site broker was killed under the device: reconnect and resend the same reading.
                        device.Dispose();
                        device = await ConnectDeviceAsync(site);
                    }
                }

                sentKg += kg;
            }
        }
        finally
        {
            device.Dispose();
            await restart;
        }

        var reply = await ThroughputProbe.WaitForCountsAsync(Platform, day, ScopeKind.Pasture, fleet.PastureA, readings, 0, 0, TimeSpan.FromSeconds(120));
        Assert.Equal(readings, reply.MilkingCount);
        Assert.Equal(sentKg / 1000, reply.MilkedT, 6);
    }

    private static async Task<IMqttClient> ConnectDeviceAsync(SiteBroker site)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            var client = new MqttClientFactory().CreateMqttClient();
            try
            {
                await client.ConnectAsync(new MqttClientOptionsBuilder()
                    .WithTcpServer("127.0.0.1", site.Port)
                    .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V311)
                    .WithClientId("meter-" + Guid.NewGuid().ToString("N")[..6])
                    .WithCredentials(SiteBroker.DeviceUser, site.DevicePassword)
                    .WithCleanSession(true)
                    .Build());
                return client;
            }
            catch (Exception) when (DateTime.UtcNow < deadline)
            {
                client.Dispose();
                await Task.Delay(200);
            }
        }
    }
}
