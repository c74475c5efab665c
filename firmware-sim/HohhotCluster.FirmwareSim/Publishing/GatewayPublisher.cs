using System.Threading.Channels;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace HohhotCluster.FirmwareSim.Publishing;

internal sealed record GatewayPublisherOptions
{
    /// <summary>Publishes awaiting their PUBACK at once (capped by the server's Receive Maximum); a batch is one publish.</summary>
    public int MaxInflight { get; init; } = 64;
    /// <summary>Readings per batch when draining a backlog (at most <see cref="BatchPayloadBuilder.MaxReadings"/>); 1 sends every message alone.</summary>
    public int BatchReadings { get; init; } = 200;
    public long SpoolMaxBytes { get; init; } = 256L * 1024 * 1024;
    public required string SpoolDirectory { get; init; }
    /// <summary>
    /// How long a publish may wait for its PUBACK before the connection is given up. The platform answers a connection's
    /// publishes one at a time, each once its readings are durable, so the last of a full window waits for all before it.
    /// </summary>
    public TimeSpan PublishTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// One gateway's MQTT 5 connection (username = owner id, client id gw-owner, plaintext or TLS): QoS 1 publishes with
/// up to MaxInflight awaiting PUBACK, reconnect with backoff, and store-and-forward: while the endpoint is unreachable
/// incoming messages go to the on-disk spool, and on reconnect the unacknowledged in-flight ones are sent first, then
/// the spool, oldest first, then new ones (<see cref="GatewayOutbox"/>, which also forms batches and settles answers).
/// A PUBACK 0x97 or 0x96 (a device, or the gateway, beyond its rate), or a DISCONNECT with one of those reasons (the
/// platform disconnects a gateway beyond its own rate, and what was in flight gets no PUBACK and is resent), pauses new
/// publishes and the reconnect with a growing backoff; a success resets it.
/// </summary>
internal sealed class GatewayPublisher : IAsyncDisposable
{
    private const long FirstRateBackoffMs = 250;
    private const long LongestRateBackoffMs = 8_000;

    private readonly string _ownerId;
    private readonly IMqttClient _client;
    private readonly MqttClientOptions _connectOptions;
    private readonly GatewayPublisherOptions _options;
    private readonly RunStats _stats;
    private readonly GatewayOutbox _outbox;
    private readonly Channel<OutboundMessage> _input = Channel.CreateBounded<OutboundMessage>(
        new BoundedChannelOptions(4096) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });
    private readonly SemaphoreSlim _wake = new(0);
    private int _inflight;
    private int _limit;
    private long _rateBackoffMs = FirstRateBackoffMs;
    private long _resumeAtMs;
    private volatile bool _reconnectNeeded;

    public GatewayPublisher(string ownerId, string password, MqttEndpoint endpoint, GatewayPublisherOptions options, PublishLedger ledger, RunStats stats)
    {
        _ownerId = ownerId;
        _options = options;
        _stats = stats;
        _limit = options.MaxInflight;
        var spool = new DiskSpool(Path.Combine(options.SpoolDirectory, ownerId + ".spool"), options.SpoolMaxBytes);
        _outbox = new GatewayOutbox(spool, _input.Reader, options.BatchReadings, ledger, stats);
        _client = new MqttClientFactory().CreateMqttClient();
        _client.DisconnectedAsync += OnDisconnectedAsync;
        _connectOptions = endpoint.Configure(new MqttClientOptionsBuilder())
            .WithClientId("gw-" + ownerId)
            .WithCredentials(ownerId, password)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithCleanStart(true)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(15))
            .WithTimeout(TimeSpan.FromSeconds(10))
            .Build();
    }

    public string OwnerId => _ownerId;

    public int Spooled => _outbox.Spooled;

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
                    var pausedBeforeConnecting = RateLimitPauseLeft();
                    if (pausedBeforeConnecting > TimeSpan.Zero)
                    {
                        await WaitForWakeAsync(pausedBeforeConnecting, stop).ConfigureAwait(false);
                        continue;
                    }
                    if (await TryConnectAsync(stop).ConfigureAwait(false))
                    {
                        backoff = TimeSpan.FromMilliseconds(250);
                        continue;
                    }
                    if (InputDrained && _outbox.NothingPending)
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
                var paused = RateLimitPauseLeft();
                if (paused > TimeSpan.Zero)
                {
                    await WaitForWakeAsync(paused, stop).ConfigureAwait(false);
                    continue;
                }
                var next = _outbox.TakeNext();
                if (next is null)
                {
                    if (InputDrained && Volatile.Read(ref _inflight) == 0 && _outbox.NothingPending)
                    {
                        break;
                    }
                    await WaitForInputOrWakeAsync(stop).ConfigureAwait(false);
                    continue;
                }
                Interlocked.Increment(ref _inflight);
                _ = PublishAsync(next);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        await SpoolLeftoversAsync().ConfigureAwait(false);
    }

    private bool InputDrained => _input.Reader.Completion.IsCompleted;

    private async Task PublishAsync(Publication publication)
    {
        _stats.OnSent(publication);
        try
        {
            MqttClientPublishResult result;
            try
            {
                var applicationMessage = new MqttApplicationMessageBuilder()
                    .WithTopic(publication.Topic)
                    .WithPayload(publication.Payload)
                    .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                    .Build();
                using var timeout = new CancellationTokenSource(_options.PublishTimeout);
                result = await _client.PublishAsync(applicationMessage, timeout.Token).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // any transport failure means "no PUBACK": keep the readings and reconnect
            catch (Exception)
#pragma warning restore CA1031
            {
                _outbox.SettleUnanswered(publication);
                _reconnectNeeded = true;
                return;
            }
            AdjustRateBackoff(_outbox.Settle(publication, (int)result.ReasonCode));
        }
        finally
        {
            Interlocked.Decrement(ref _inflight);
            _wake.Release();
        }
    }

    /// <summary>Disconnected for its rate: the publishes in flight fail and are resent, after the backoff.</summary>
    private Task OnDisconnectedAsync(MqttClientDisconnectedEventArgs args)
    {
        if (PubackCodes.IsRateDisconnect((int)args.Reason))
        {
            _stats.OnRateDisconnect();
            AdjustRateBackoff(PubackOutcome.RateLimited);
        }
        return Task.CompletedTask;
    }

    /// <summary>Rate-limited: no new publish until the backoff has passed, and the next one waits twice as long; a success starts over.</summary>
    private void AdjustRateBackoff(PubackOutcome outcome)
    {
        if (outcome == PubackOutcome.RateLimited)
        {
            var backoffMs = Interlocked.Read(ref _rateBackoffMs);
            Interlocked.Exchange(ref _resumeAtMs, Environment.TickCount64 + backoffMs);
            Interlocked.Exchange(ref _rateBackoffMs, Math.Min(backoffMs * 2, LongestRateBackoffMs));
        }
        else if (outcome == PubackOutcome.Counted)
        {
            Interlocked.Exchange(ref _rateBackoffMs, FirstRateBackoffMs);
        }
    }

    private TimeSpan RateLimitPauseLeft() => TimeSpan.FromMilliseconds(Math.Max(0, Interlocked.Read(ref _resumeAtMs) - Environment.TickCount64));

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
            // Never exceed the server's Receive Maximum: Mosquitto disconnects a client that does.
            _limit = result.ReceiveMaximum is > 0 and var receiveMaximum ? Math.Min(_options.MaxInflight, (int)receiveMaximum) : _options.MaxInflight;
            _reconnectNeeded = false;
            LastConnectError = null;
            return true;
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // endpoint down, refused, timed out: all mean "try again later"
        catch (Exception exception)
#pragma warning restore CA1031
        {
            LastConnectError = exception.Message;
            return false;
        }
    }

    /// <summary>While the endpoint is unreachable: move new messages to the disk spool for a while.</summary>
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
                    _outbox.SpoolOrDrop(message);
                }
            }
            await Task.Delay(Timeout.Infinite, window.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!stop.IsCancellationRequested)
        {
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

    /// <summary>At a hard stop: lets the publishes in flight settle a moment, then spools whatever is unanswered or unsent.</summary>
    private async Task SpoolLeftoversAsync()
    {
        for (var wait = 0; Volatile.Read(ref _inflight) > 0 && wait < 100; wait++)
        {
            await Task.Delay(50).ConfigureAwait(false);
        }
        _outbox.SpoolLeftovers();
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
        _outbox.Dispose();
        _wake.Dispose();
    }
}
