using System.Buffers;
using MQTTnet;
using MQTTnet.Protocol;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// The MQTTnet client that takes the fleet's messages from the broker: MQTT 5, a stable client id, clean start off
/// and a session expiry, so the broker keeps queueing while we are away and redelivers what we never acknowledged.
/// Acknowledgement is manual (the pipeline acknowledges after the data is safe). MQTTnet 5 has no managed client:
/// this service reconnects by itself, with backoff.
/// </summary>
public sealed partial class MqttIngestionService(
    IOptions<MqttIngestionOptions> options,
    IngestionPipeline pipeline,
    ILogger<MqttIngestionService> logger) : BackgroundService
{
    private readonly MqttIngestionOptions _options = options.Value;
    private volatile bool _connected;

    public bool IsConnected => _connected;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
        {
            return;
        }

        using var client = new MqttClientFactory().CreateMqttClient();
        var disconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.ApplicationMessageReceivedAsync += async e =>
        {
            e.AutoAcknowledge = false;
            var payload = e.ApplicationMessage.Payload;
            var message = new IncomingMessage(e.ApplicationMessage.Topic, payload.IsEmpty ? [] : payload.ToArray(), e.AcknowledgeAsync);
            await pipeline.EnqueueAsync(message, stoppingToken);
        };
        client.DisconnectedAsync += e =>
        {
            _connected = false;
            disconnected.TrySetResult();
            return Task.CompletedTask;
        };

        var clientOptions = new MqttClientOptionsBuilder()
            .WithTcpServer(_options.Host, _options.Port)
            .WithProtocolVersion(MQTTnet.Formatter.MqttProtocolVersion.V500)
            .WithClientId(_options.ClientId)
            .WithCredentials(_options.Username, _options.Password)
            .WithCleanStart(false)
            .WithSessionExpiryInterval((uint)_options.SessionExpiry.TotalSeconds)
            .WithReceiveMaximum((ushort)_options.ReceiveMaximum)
            .WithKeepAlivePeriod(_options.KeepAlive)
            .WithTimeout(TimeSpan.FromSeconds(10))
            .Build();

        var delay = TimeSpan.FromMilliseconds(200);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                disconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var result = await client.ConnectAsync(clientOptions, stoppingToken);
                if (result.ResultCode != MqttClientConnectResultCode.Success)
                {
                    throw new InvalidOperationException($"Broker refused the connection: {result.ResultCode} {result.ReasonString}");
                }

                await client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
                    .WithTopicFilter(f => f.WithTopic(TelemetryTopic.SubscriptionFilter).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
                    .Build(), stoppingToken);
                _connected = true;
                delay = TimeSpan.FromMilliseconds(200);
                LogConnected(_options.Host, _options.Port, result.IsSessionPresent);
                await disconnected.Task.WaitAsync(stoppingToken);
                LogDisconnected();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception exception)
            {
                _connected = false;
                LogConnectFailed(_options.Host, _options.Port, delay, exception.Message);
                if (client.IsConnected)
                {
                    await client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None);
                }

                await Task.Delay(delay, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxReconnectDelay.Ticks));
            }
        }

        if (client.IsConnected)
        {
            // Disconnect without clearing the session: what is not acknowledged comes back next time.
            await client.DisconnectAsync(new MqttClientDisconnectOptions(), CancellationToken.None);
        }
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Connected to MQTT broker {Host}:{Port} (session present: {SessionPresent})")]
    private partial void LogConnected(string host, int port, bool sessionPresent);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Disconnected from the MQTT broker; reconnecting")]
    private partial void LogDisconnected();

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "Could not connect to MQTT broker {Host}:{Port}, retrying in {Delay}: {Error}")]
    private partial void LogConnectFailed(string host, int port, TimeSpan delay, string error);
}
