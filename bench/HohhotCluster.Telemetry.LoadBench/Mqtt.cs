using System.Globalization;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace HohhotCluster.Telemetry.LoadBench;

internal sealed record BrokerSettings(string Host, int Port, string User, string Password, int ReceiveMaximum);

/// <summary>
/// The raw-broker baseline's subscriber: the platform's session shape (MQTT 5, QoS 1, clean start off, a session
/// expiry, the same receive maximum) and nothing else: every message is acknowledged as soon as it arrives.
/// </summary>
internal sealed class AckOnlySubscriber : IAsyncDisposable
{
    private const string ClientId = "hohhot-bench-ack-only";
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly BrokerSettings _broker;
    private readonly long _expected;
    private readonly TaskCompletionSource _all = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _seen = new(StringComparer.Ordinal);
    private long _received;

    public AckOnlySubscriber(BrokerSettings broker, long expected)
    {
        _broker = broker;
        _expected = expected;
        _client.ApplicationMessageReceivedAsync += e =>
        {
            // AutoAcknowledge (the default) sends the PUBACK when this handler returns. A redelivery after a
            // reconnect is counted once: the payload starts with the reading's key (deviceId, bootEpoch, seq).
            var payload = e.ApplicationMessage.Payload;
            var head = payload.Length > 96 ? payload.Slice(0, 96) : payload;
            if (_seen.TryAdd(Encoding.UTF8.GetString(head), 0) && Interlocked.Increment(ref _received) >= _expected)
            {
                _all.TrySetResult();
            }

            return Task.CompletedTask;
        };
    }

    public long Received => Interlocked.Read(ref _received);

    public Task AllReceived => _all.Task;

    public async Task ConnectAsync(CancellationToken cancellationToken)
    {
        await _client.ConnectAsync(Options(cleanStart: false, TimeSpan.FromMinutes(10)), cancellationToken);
        await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic("hohhot/v1/#").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce))
            .Build(), cancellationToken);
    }

    /// <summary>Reconnects on the same session: the broker resends what it has in flight (seen to unstick a stalled delivery).</summary>
    public async Task ReconnectAsync(CancellationToken cancellationToken)
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync(new MqttClientDisconnectOptions(), cancellationToken);
        }

        await _client.ConnectAsync(Options(cleanStart: false, TimeSpan.FromMinutes(10)), cancellationToken);
    }

    /// <summary>Disconnects and removes the session, so the broker stops queueing for it.</summary>
    public async Task RemoveSessionAsync()
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync(new MqttClientDisconnectOptions());
        }

        using var purge = new MqttClientFactory().CreateMqttClient();
        await purge.ConnectAsync(Options(cleanStart: true, TimeSpan.Zero));
        await purge.DisconnectAsync(new MqttClientDisconnectOptions());
    }

    private MqttClientOptions Options(bool cleanStart, TimeSpan expiry) => new MqttClientOptionsBuilder()
        .WithTcpServer(_broker.Host, _broker.Port)
        .WithProtocolVersion(MqttProtocolVersion.V500)
        .WithClientId(ClientId)
        .WithCredentials(_broker.User, _broker.Password)
        .WithCleanStart(cleanStart)
        .WithSessionExpiryInterval((uint)expiry.TotalSeconds)
        .WithReceiveMaximum((ushort)_broker.ReceiveMaximum)
        .WithKeepAlivePeriod(TimeSpan.FromSeconds(30))
        .Build();

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync(new MqttClientDisconnectOptions());
        }

        _client.Dispose();
    }
}

/// <summary>Follows Mosquitto's $SYS counters (updated every sys_interval, 10 s by default) during a run.</summary>
internal sealed class BrokerSysWatcher : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();
    private readonly Dictionary<string, (string Value, DateTimeOffset At)> _latest = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public BrokerSysWatcher()
    {
        _client.ApplicationMessageReceivedAsync += e =>
        {
            var text = e.ApplicationMessage.ConvertPayloadToString() ?? "";
            lock (_lock)
            {
                _latest[e.ApplicationMessage.Topic] = (text, DateTimeOffset.UtcNow);
            }

            return Task.CompletedTask;
        };
    }

    public async Task StartAsync(BrokerSettings broker, CancellationToken cancellationToken)
    {
        await _client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer(broker.Host, broker.Port)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId("hohhot-bench-sys")
            .WithCredentials(broker.User, broker.Password)
            .WithCleanStart(true)
            .Build(), cancellationToken);
        await _client.SubscribeAsync(new MqttClientSubscribeOptionsBuilder()
            .WithTopicFilter(f => f.WithTopic("$SYS/broker/store/messages/#").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtMostOnce))
            .WithTopicFilter(f => f.WithTopic("$SYS/broker/publish/messages/dropped").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtMostOnce))
            .WithTopicFilter(f => f.WithTopic("$SYS/broker/heap/current").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtMostOnce))
            .WithTopicFilter(f => f.WithTopic("$SYS/broker/heap/maximum").WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtMostOnce))
            .Build(), cancellationToken);
    }

    public (string Value, DateTimeOffset At)? Get(string topic)
    {
        lock (_lock)
        {
            return _latest.TryGetValue(topic, out var v) ? v : null;
        }
    }

    public long GetLong(string topic) =>
        Get(topic) is { } v && long.TryParse(v.Value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : -1;

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync(new MqttClientDisconnectOptions());
        }

        _client.Dispose();
    }
}
