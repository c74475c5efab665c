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
/// this service reconnects by itself, with backoff, and also when the broker stops delivering (a liveness probe
/// that does not come back, see <see cref="DeliveryStallDetector"/>).
/// </summary>
public sealed partial class MqttIngestionService(
    IOptions<MqttIngestionOptions> options,
    IngestionPipeline pipeline,
    IngestionMetrics metrics,
    TimeProvider clock,
    ILogger<MqttIngestionService> logger) : BackgroundService
{
    private readonly MqttIngestionOptions _options = options.Value;
    private readonly DeliveryStallDetector _stall = new(clock, options.Value.DeliveryStallTimeout, options.Value.ReceiveMaximum);
    private volatile bool _connected;

    public bool IsConnected => _connected;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
        {
            return;
        }

        var storeWatch = new BrokerStoreWatcher(_options, _stall.BrokerStored).RunAsync(stoppingToken);
        using var client = new MqttClientFactory().CreateMqttClient();
        var disconnected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var livenessTopic = _options.LivenessTopic;
        client.ApplicationMessageReceivedAsync += async e =>
        {
            if (e.ApplicationMessage.Topic == livenessTopic)
            {
                _stall.ProbeReturned();
                return; // acknowledged automatically
            }

            _stall.Received();
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
                    .WithTopicFilter(f => f.WithTopic(livenessTopic).WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
                    .Build(), stoppingToken);
                _connected = true;
                delay = TimeSpan.FromMilliseconds(200);
                LogConnected(_options.Host, _options.Port, result.IsSessionPresent);
                _stall.Reset();
                using (var connection = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken))
                {
                    var watchdog = WatchDeliveryAsync(client, disconnected.Task, connection.Token);
                    await disconnected.Task.WaitAsync(stoppingToken);
                    await connection.CancelAsync();
                    await watchdog;
                }

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

        await storeWatch;
    }

    /// <summary>
    /// Sends the liveness probe round through the broker and, when delivery has stalled, drops the connection so the
    /// reconnect loop opens a new one (the session and its queue are kept; unacknowledged messages are redelivered).
    /// </summary>
    private async Task WatchDeliveryAsync(IMqttClient client, Task disconnected, CancellationToken cancellationToken)
    {
        var probe = new MqttApplicationMessageBuilder()
            .WithTopic(_options.LivenessTopic)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .WithPayload("liveness"u8.ToArray())
            .Build();
        var probing = true;
        Task<bool>? sending = null;
        try
        {
            while (!disconnected.IsCompleted)
            {
                await Task.Delay(_options.LivenessProbeInterval, clock, cancellationToken);
                if (_stall.IsStalled(pipeline.Unacknowledged, pipeline.LargestBatchInProgress))
                {
                    metrics.RecordDeliveryStall();
                    LogDeliveryStalled(_stall.StallTimeout);
                    await client.DisconnectAsync(new MqttClientDisconnectOptions { Reason = MqttClientDisconnectOptionsReason.NormalDisconnection }, cancellationToken);
                    return;
                }

                if (sending is { IsCompleted: true })
                {
                    probing = await sending;
                    sending = null;
                }

                // The publish is not awaited here: a broker in trouble may not even answer it, and the watch goes on.
                if (probing && sending is null && _stall.ShouldProbe())
                {
                    _stall.ProbeSent();
                    sending = SendProbeAsync(client, probe, cancellationToken);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The connection ended (or the service stops).
        }
        catch (Exception exception)
        {
            // The connection broke under us; the reconnect loop takes over.
            LogWatchEnded(exception.Message);
        }
    }

    /// <summary>Publishes one probe; false when the broker refuses it (then only the stored count is watched).</summary>
    private async Task<bool> SendProbeAsync(IMqttClient client, MqttApplicationMessage probe, CancellationToken cancellationToken)
    {
        try
        {
            var sent = await client.PublishAsync(probe, cancellationToken);
            if (!sent.IsSuccess)
            {
                // A refused probe never comes back: forget it, or an idle platform would look stalled.
                _stall.ProbeReturned();
                LogProbeRefused(_options.LivenessTopic, sent.ReasonCode.ToString());
                return false;
            }
        }
        catch (Exception exception) when (exception is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Not answered in time (the probe counts as held) or the connection broke: the watch decides.
            LogProbeFailed(exception.Message);
        }
        catch (OperationCanceledException)
        {
        }

        return true;
    }

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Our pipeline starved for over {Timeout} while the broker held messages for us (our liveness probe, or a stored backlog with a trickle): it stopped delivering or drips; reconnecting to restart delivery")]
    private partial void LogDeliveryStalled(TimeSpan timeout);

    [LoggerMessage(EventId = 5006, Level = LogLevel.Warning, Message = "The broker refused the liveness probe on {Topic} ({Reason}): grant the ingestion user readwrite on it; only the broker's stored count shows stalls meanwhile")]
    private partial void LogProbeRefused(string topic, string reason);

    [LoggerMessage(EventId = 5007, Level = LogLevel.Warning, Message = "Delivery watch ended: {Error}")]
    private partial void LogWatchEnded(string error);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "Liveness probe not acknowledged by the broker: {Error}")]
    private partial void LogProbeFailed(string error);

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "Connected to MQTT broker {Host}:{Port} (session present: {SessionPresent})")]
    private partial void LogConnected(string host, int port, bool sessionPresent);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "Disconnected from the MQTT broker; reconnecting")]
    private partial void LogDisconnected();

    [LoggerMessage(EventId = 5003, Level = LogLevel.Warning, Message = "Could not connect to MQTT broker {Host}:{Port}, retrying in {Delay}: {Error}")]
    private partial void LogConnectFailed(string host, int port, TimeSpan delay, string error);
}
