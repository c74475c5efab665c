using System.Globalization;
using MQTTnet;
using MQTTnet.Protocol;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// Follows the broker's <c>$SYS/broker/store/messages/count</c> on a connection of its own (clean session, QoS 0),
/// so the figure keeps arriving when the ingestion session's own delivery is stalled or dripping.
/// </summary>
internal sealed class BrokerStoreWatcher(MqttIngestionOptions options, Action<long> stored)
{
    public const string StoreCountTopic = "$SYS/broker/store/messages/count";

    public async Task RunAsync(CancellationToken stoppingToken)
    {
        using var client = new MqttClientFactory().CreateMqttClient();
        client.ApplicationMessageReceivedAsync += e =>
        {
            if (long.TryParse(e.ApplicationMessage.ConvertPayloadToString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var count))
            {
                stored(count);
            }

            return Task.CompletedTask;
        };

        var clientOptions = new MqttClientOptionsBuilder()
            .WithTcpServer(options.Host, options.Port)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithClientId(options.ClientId + "-sys")
            .WithCredentials(options.Username, options.Password)
            .WithCleanStart(true)
            .WithKeepAlivePeriod(options.KeepAlive)
            .WithTimeout(TimeSpan.FromSeconds(10))
            .Build();
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!client.IsConnected)
                {
                    await client.ConnectAsync(clientOptions, stoppingToken);
                    await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
                        .WithTopicFilter(f => f.WithTopic(StoreCountTopic).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtMostOnce))
                        .Build(), stoppingToken);
                }

                await Task.Delay(options.MaxReconnectDelay, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception)
            {
                // The main connection reports broker trouble; this one just tries again.
                await Task.Delay(options.MaxReconnectDelay, stoppingToken);
            }
        }

        if (client.IsConnected)
        {
            await client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None);
        }
    }
}
