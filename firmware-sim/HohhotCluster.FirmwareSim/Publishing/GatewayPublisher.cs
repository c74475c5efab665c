using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace HohhotCluster.FirmwareSim.Publishing;

internal sealed record MqttEndpoint(string Host, int Port);

internal sealed record GatewayPublisherOptions
{
    public int MaxInflight { get; init; } = 64;
    public long SpoolMaxBytes { get; init; } = 256L * 1024 * 1024;
    public required string SpoolDirectory { get; init; }
    public TimeSpan PublishTimeout { get; init; } = TimeSpan.FromSeconds(15);
}

/// <summary>
/// One gateway's MQTT 5 connection (username = owner id, client id gw-owner): QoS 1 publishes with
/// up to MaxInflight awaiting PUBACK, reconnect with backoff, and store-and-forward: while the broker
/// is unreachable incoming messages go to the on-disk spool, and on reconnect the unacknowledged
/// in-flight ones are sent first, then the spool, oldest first, then new ones.
/// </summary>
internal sealed class GatewayPublisher : IAsyncDisposable
{
    private readonly string _ownerId;
    private readonly IMqttClient _client;
    private readonly MqttClientOptions _connectOptions;
    private readonly GatewayPublisherOptions _options;
    private readonly PublishLedger _ledger;
    private readonly RunStats _stats;
    private readonly DiskSpool _spool;
    private readonly Channel<OutboundMessage> _input = Channel.CreateBounded<OutboundMessage>(
        new BoundedChannelOptions(4096) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly Lock _retryLock = new();
    private readonly List<(long Ordinal, OutboundMessage Message)> _retry = [];
    private readonly SemaphoreSlim _wake = new(0);
    private long _nextOrdinal;
    private int _inflight;
    private int _limit;
    private volatile bool _reconnectNeeded;

    public GatewayPublisher(string ownerId, string password, MqttEndpoint endpoint, GatewayPublisherOptions options, PublishLedger ledger, RunStats stats)
    {
        _ownerId = ownerId;
        _options = options;
        _ledger = ledger;
        _stats = stats;
        _limit = options.MaxInflight;
        _spool = new DiskSpool(Path.Combine(options.SpoolDirectory, ownerId + ".spool"), options.SpoolMaxBytes);
        stats.OnSpooled(_spool.Count);
        _client = new MqttClientFactory().CreateMqttClient();
        _connectOptions = new MqttClientOptionsBuilder()
            .WithTcpServer(endpoint.Host, endpoint.Port)
            .WithClientId("gw-" + ownerId)
            .WithCredentials(ownerId, password)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(true)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(15))
            .WithTimeout(TimeSpan.FromSeconds(10))
            .Build();
    }

    public string OwnerId => _ownerId;

    public int Spooled => _spool.Count;

    public string? LastConnectError { get; private set; }

    public ValueTask EnqueueAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        _stats.OnAccepted();
        return _input.Writer.WriteAsync(message, cancellationToken);
    }

    public void CompleteInput() => _input.Writer.TryComplete();

    /// <summary>Runs until the input is complete and every message is answered, or until <paramref name="stop"/>.</summary>
    public async Task RunAsync(CancellationToken stop)
    {
        var backoff = TimeSpan.FromMilliseconds(250);
        try
        {
            while (!stop.IsCancellationRequested)
            {
                if (_reconnectNeeded || !_client.IsConnected)
                {
                    if (Volatile.Read(ref _inflight) > 0)
                    {
                        await WaitForWakeAsync(TimeSpan.FromMilliseconds(50), stop).ConfigureAwait(false);
                        continue;
                    }
                    if (await TryConnectAsync(stop).ConfigureAwait(false))
                    {
                        backoff = TimeSpan.FromMilliseconds(250);
                        continue;
                    }
                    if (InputDrained && NothingPending)
                    {
                        break;
                    }
                    await SpoolIncomingAsync(backoff, stop).ConfigureAwait(false);
                    backoff = TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, TimeSpan.FromSeconds(4).Ticks));
                    continue;
                }
                if (Volatile.Read(ref _inflight) >= _limit)
                {
                    await WaitForWakeAsync(TimeSpan.FromMilliseconds(100), stop).ConfigureAwait(false);
                    continue;
                }
                var next = TakeNext();
                if (next is null)
                {
                    if (InputDrained && Volatile.Read(ref _inflight) == 0 && NothingPending)
                    {
                        break;
                    }
                    await WaitForInputOrWakeAsync(stop).ConfigureAwait(false);
                    continue;
                }
                Interlocked.Increment(ref _inflight);
                _ = PublishOneAsync(next.Value.Ordinal, next.Value.Message);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        await SpoolLeftoversAsync().ConfigureAwait(false);
    }

    private bool InputDrained => _input.Reader.Completion.IsCompleted;

    private bool NothingPending
    {
        get
        {
            lock (_retryLock)
            {
                return _retry.Count == 0 && _spool.Count == 0;
            }
        }
    }

    private (long Ordinal, OutboundMessage Message)? TakeNext()
    {
        lock (_retryLock)
        {
            if (_retry.Count > 0)
            {
                var oldest = 0;
                for (var i = 1; i < _retry.Count; i++)
                {
                    if (_retry[i].Ordinal < _retry[oldest].Ordinal)
                    {
                        oldest = i;
                    }
                }
                var item = _retry[oldest];
                _retry.RemoveAt(oldest);
                return item;
            }
        }
        if (_spool.TryDequeue() is { } spooled)
        {
            _stats.OnSpooled(-1);
            return (_nextOrdinal++, spooled);
        }
        return _input.Reader.TryRead(out var message) ? (_nextOrdinal++, message) : null;
    }

    private async Task PublishOneAsync(long ordinal, OutboundMessage message)
    {
        _stats.OnSent();
        try
        {
            var applicationMessage = new MqttApplicationMessageBuilder()
                .WithTopic(message.Topic)
                .WithPayload(message.Payload)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build();
            using var timeout = new CancellationTokenSource(_options.PublishTimeout);
            var result = await _client.PublishAsync(applicationMessage, timeout.Token).ConfigureAwait(false);
            var reasonCode = (int)result.ReasonCode;
            _ledger.Record(message, reasonCode);
            if (reasonCode < 0x80)
            {
                _stats.OnAcked();
            }
            else
            {
                _stats.OnRefused();
            }
        }
#pragma warning disable CA1031 // any transport failure means "no PUBACK": keep the message and reconnect
        catch (Exception)
#pragma warning restore CA1031
        {
            _ledger.Record(message, PublishLedger.TransportFailure);
            _stats.OnTransportFailure();
            if (MessageKinds.ExpectedByPlatform(message.Fault))
            {
                lock (_retryLock)
                {
                    _retry.Add((ordinal, message));
                }
            }
            else
            {
                // Fault copies are sent once: an oversized one may be what closed the connection.
                _stats.OnDropped();
            }
            _reconnectNeeded = true;
        }
        finally
        {
            Interlocked.Decrement(ref _inflight);
            _wake.Release();
        }
    }

    private async Task<bool> TryConnectAsync(CancellationToken stop)
    {
        try
        {
            if (_client.IsConnected)
            {
                await _client.DisconnectAsync(new MqttClientDisconnectOptions(), stop).ConfigureAwait(false);
            }
            var result = await _client.ConnectAsync(_connectOptions, stop).ConfigureAwait(false);
            if (result.ResultCode != MqttClientConnectResultCode.Success)
            {
                LastConnectError = result.ResultCode.ToString();
                return false;
            }
            // Never exceed the broker's Receive Maximum: Mosquitto disconnects a client that does.
            _limit = result.ReceiveMaximum is > 0 and var receiveMaximum ? Math.Min(_options.MaxInflight, (int)receiveMaximum) : _options.MaxInflight;
            _reconnectNeeded = false;
            LastConnectError = null;
            return true;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // broker down, refused, timed out: all mean "try again later"
        catch (Exception exception)
#pragma warning restore CA1031
        {
            LastConnectError = exception.Message;
            return false;
        }
    }

    /// <summary>While the broker is unreachable: move new messages to the disk spool for a while.</summary>
    private async Task SpoolIncomingAsync(TimeSpan duration, CancellationToken stop)
    {
        using var window = CancellationTokenSource.CreateLinkedTokenSource(stop);
        window.CancelAfter(duration);
        try
        {
            while (await _input.Reader.WaitToReadAsync(window.Token).ConfigureAwait(false))
            {
                while (_input.Reader.TryRead(out var message))
                {
                    SpoolOrDrop(message);
                }
            }
            await Task.Delay(Timeout.Infinite, window.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
        }
    }

    private void SpoolOrDrop(OutboundMessage message)
    {
        if (_spool.TryAppend(message))
        {
            _stats.OnSpooled(1);
        }
        else
        {
            _ledger.Record(message, PublishLedger.SpoolFull);
            _stats.OnDropped();
        }
    }

    private async Task WaitForWakeAsync(TimeSpan timeout, CancellationToken stop) =>
        await _wake.WaitAsync(timeout, stop).ConfigureAwait(false);

    private async Task WaitForInputOrWakeAsync(CancellationToken stop)
    {
        if (InputDrained)
        {
            await WaitForWakeAsync(TimeSpan.FromMilliseconds(100), stop).ConfigureAwait(false);
            return;
        }
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(stop);
        var input = _input.Reader.WaitToReadAsync(cancel.Token).AsTask();
        var wake = _wake.WaitAsync(TimeSpan.FromMilliseconds(200), cancel.Token);
        await Task.WhenAny(input, wake).ConfigureAwait(false);
        await cancel.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(input, wake).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>At a hard stop: whatever is unanswered stays on disk for the next run and the ledger says so.</summary>
    private async Task SpoolLeftoversAsync()
    {
        for (var wait = 0; Volatile.Read(ref _inflight) > 0 && wait < 100; wait++)
        {
            await Task.Delay(50).ConfigureAwait(false);
        }
        lock (_retryLock)
        {
            _retry.Sort(static (x, y) => x.Ordinal.CompareTo(y.Ordinal));
            foreach (var (_, message) in _retry)
            {
                SpoolOrDrop(message);
                _ledger.Record(message, PublishLedger.LeftInSpool);
            }
            _retry.Clear();
        }
        while (_input.Reader.TryRead(out var message))
        {
            SpoolOrDrop(message);
            _ledger.Record(message, PublishLedger.LeftInSpool);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            try
            {
                await _client.DisconnectAsync(new MqttClientDisconnectOptions()).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // best effort at shutdown
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
        _client.Dispose();
        _spool.Dispose();
        _wake.Dispose();
    }
}
