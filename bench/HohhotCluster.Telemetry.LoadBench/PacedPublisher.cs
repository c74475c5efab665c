using System.Globalization;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace HohhotCluster.Telemetry.LoadBench;

/// <summary>
/// Replays a recorded run the way hohhot-sim replay does (one MQTT 5 connection per gateway, client id gw-owner,
/// username = owner, QoS 1, publishes awaiting PUBACK), with one difference: a window. At most
/// <c>window</c> messages may be published and not yet consumed (acknowledged by the subscriber, or durable in the
/// platform's rollups). Without it, a day published at full speed sits in Mosquitto's queue for the one subscriber,
/// and Mosquitto 2.0.11 delivers from a deep queue at a few dozen messages a second (seen in this bench), so the
/// figure would measure the queue, not the chain. The window keeps the queue at a few receive-maximums.
/// Writes hohhot-sim's ledger format, so <c>hohhot-sim verify</c> can check the run.
/// </summary>
internal sealed class PacedPublisher : IAsyncDisposable
{
    private readonly BrokerSettings _broker;
    private readonly Dictionary<string, string> _passwords;
    private readonly int _perGatewayInflight;
    private readonly Dictionary<string, Gateway> _gateways = new(StringComparer.Ordinal);
    private readonly Lock _ledgerLock = new();
    private readonly Utf8JsonWriter? _ledger;
    private readonly FileStream? _ledgerStream;
    private long _acked;

    public PacedPublisher(BrokerSettings broker, Dictionary<string, string> passwords, int perGatewayInflight, string? ledgerPath)
    {
        _broker = broker;
        _passwords = passwords;
        _perGatewayInflight = perGatewayInflight;
        if (ledgerPath is not null)
        {
            _ledgerStream = new FileStream(ledgerPath, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
            _ledger = new Utf8JsonWriter(_ledgerStream);
        }
    }

    public long Acked => Interlocked.Read(ref _acked);

    public static Dictionary<string, string> ReadCredentials(string path)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in File.ReadLines(path))
        {
            var parts = line.Split(' ', 2, StringSplitOptions.TrimEntries);
            if (parts.Length == 2)
            {
                map[parts[0]] = parts[1];
            }
        }

        return map;
    }

    /// <summary>
    /// Publishes every message in order. <paramref name="consumed"/> returns how many of the messages for which
    /// <paramref name="counts"/> is true have been consumed; publishing waits while more than <paramref name="window"/>
    /// such messages are outstanding.
    /// </summary>
    public async Task PublishAsync(IReadOnlyList<RecordedMessage> messages, Func<RecordedMessage, bool> counts, Func<long> consumed, int window,
        CancellationToken cancellationToken)
    {
        long countedSent = 0;
        var pending = new List<Task>(1024);
        foreach (var message in messages)
        {
            if (counts(message))
            {
                while (countedSent - consumed() >= window)
                {
                    await Task.Delay(2, cancellationToken);
                }

                countedSent++;
            }

            var gateway = await GatewayOfAsync(message.Gateway, cancellationToken);
            await gateway.Slots.WaitAsync(cancellationToken);
            pending.Add(PublishOneAsync(gateway, message));
            if (pending.Count >= 1024)
            {
                pending.RemoveAll(t => t.IsCompleted);
            }
        }

        await Task.WhenAll(pending);
        lock (_ledgerLock)
        {
            _ledger?.Flush();
            _ledgerStream?.Flush();
        }
    }

    private async Task PublishOneAsync(Gateway gateway, RecordedMessage message)
    {
        try
        {
            var result = await gateway.Client.PublishAsync(new MqttApplicationMessageBuilder()
                .WithTopic(message.Topic)
                .WithPayload(message.Payload)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build());
            var code = (int)result.ReasonCode;
            if (code >= 0x80)
            {
                throw new InvalidOperationException($"the broker refused a publish on {message.Topic}: {result.ReasonCode}");
            }

            Interlocked.Increment(ref _acked);
            Record(message, code);
        }
        finally
        {
            gateway.Slots.Release();
        }
    }

    private void Record(RecordedMessage m, int code)
    {
        if (_ledger is null)
        {
            return;
        }

        lock (_ledgerLock)
        {
            _ledger.Reset(_ledgerStream!);
            _ledger.WriteStartObject();
            _ledger.WriteString("d", m.DeviceId);
            _ledger.WriteNumber("e", m.BootEpoch);
            _ledger.WriteNumber("s", m.Seq);
            _ledger.WriteString("k", m.KindName);
            _ledger.WriteString("o", m.OwnerId);
            _ledger.WriteString("day", m.LocalDay.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
            _ledger.WriteNumber("kg", m.Kg);
            if (m.IsCollection)
            {
                _ledger.WriteBoolean("col", true);
            }

            _ledger.WriteNumber("t", m.EventUnixMs);
            if (m.PointUnixMs is { } pointMs)
            {
                _ledger.WriteNumber("pt", pointMs);
            }

            if (m.Lot.Length > 0)
            {
                _ledger.WriteString("lot", m.Lot);
            }

            if (m.Source.Length > 0)
            {
                _ledger.WriteString("src", m.Source);
            }

            if (m.Verdict.Length > 0)
            {
                _ledger.WriteString("v", m.Verdict);
            }

            if (m.Fault != 0)
            {
                _ledger.WriteString("f", RecordedMessage.FaultNames[m.Fault]);
            }

            _ledger.WriteNumber("rc", code);
            _ledger.WriteEndObject();
            _ledger.Flush();
            _ledgerStream!.WriteByte((byte)'\n');
        }
    }

    private async ValueTask<Gateway> GatewayOfAsync(string owner, CancellationToken cancellationToken)
    {
        if (_gateways.TryGetValue(owner, out var gateway))
        {
            return gateway;
        }

        var client = new MqttClientFactory().CreateMqttClient();
        var result = await client.ConnectAsync(new MqttClientOptionsBuilder()
            .WithTcpServer(_broker.Host, _broker.Port)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId("gw-" + owner)
            .WithCredentials(owner, _passwords.TryGetValue(owner, out var p) ? p : throw new InvalidOperationException($"no credentials for gateway {owner}"))
            .WithCleanStart(true)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(30))
            .WithTimeout(TimeSpan.FromSeconds(30))
            .Build(), cancellationToken);
        var limit = result.ReceiveMaximum is > 0 and var max ? Math.Min(_perGatewayInflight, (int)max) : _perGatewayInflight;
        gateway = new Gateway(client, new SemaphoreSlim(limit, limit));
        _gateways[owner] = gateway;
        return gateway;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var gateway in _gateways.Values)
        {
            if (gateway.Client.IsConnected)
            {
                await gateway.Client.DisconnectAsync(new MqttClientDisconnectOptions());
            }

            gateway.Client.Dispose();
            gateway.Slots.Dispose();
        }

        _ledger?.Dispose();
        _ledgerStream?.Dispose();
    }

    private sealed record Gateway(IMqttClient Client, SemaphoreSlim Slots);
}
