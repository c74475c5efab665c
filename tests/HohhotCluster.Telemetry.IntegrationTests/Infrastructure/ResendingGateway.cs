using MQTTnet.Formatter;

namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>
/// A gateway that behaves as a device does: it publishes a reading until the platform acknowledges it, and when the
/// connection fails first it reconnects and resends the same reading (its key is recognised).
/// </summary>
public sealed class ResendingGateway(PlatformProcess platform, string gatewayId, string password) : IAsyncDisposable
{
    private Gateway? _connection;

    /// <summary>How often a reading had to be sent again (or a connection made again) before its PUBACK.</summary>
    public int Resends { get; private set; }

    public async Task PublishUntilAcknowledgedAsync(string topic, string payload)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (true)
        {
            try
            {
                _connection ??= await Gateway.ConnectAsync(platform, gatewayId, password, MqttProtocolVersion.V500);
                Assert.True(await _connection.PublishAsync(topic, payload), "refused: " + topic);
                return;
            }
            catch (Exception exception) when (exception is not Xunit.Sdk.XunitException && DateTime.UtcNow < deadline)
            {
                Resends++;
                if (_connection is not null)
                {
                    await _connection.DisposeAsync();
                    _connection = null;
                }

                await Task.Delay(200);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_connection is not null)
        {
            await _connection.DisposeAsync();
        }
    }
}
