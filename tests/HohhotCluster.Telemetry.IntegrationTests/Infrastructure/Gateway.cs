using System.Text;
using MQTTnet;
using MQTTnet.Protocol;

namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>A pasture or plant gateway: its own broker credential, QoS 1, a ledger of what got a PUBACK.</summary>
public sealed class Gateway : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();

    public static async Task<Gateway> ConnectAsync(string username, string password)
    {
        var gateway = new Gateway();
        var result = await gateway._client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer(TestServers.MqttHost, TestServers.MqttPort)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithClientId("gw-" + username + "-" + Guid.NewGuid().ToString("N")[..6])
            .WithCredentials(username, password)
            .WithCleanStart(true)
            .Build());
        Assert.Equal(MqttClientConnectResultCode.Success, result.ResultCode);
        return gateway;
    }

    /// <summary>Publishes at QoS 1; true when the broker acknowledged (PUBACK success).</summary>
    public async Task<bool> PublishAsync(string topic, string payload) =>
        await PublishAsync(topic, Encoding.UTF8.GetBytes(payload));

    public async Task<bool> PublishAsync(string topic, byte[] payload)
    {
        var result = await _client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());
        return result.IsSuccess;
    }

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync();
        }

        _client.Dispose();
    }
}
