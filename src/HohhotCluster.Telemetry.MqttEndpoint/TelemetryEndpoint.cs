using System.Collections.Concurrent;
using HohhotCluster.Telemetry.Ingestion;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet.AspNetCore;
using MQTTnet.Diagnostics.Logger;
using MQTTnet.Formatter;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace HohhotCluster.Telemetry.MqttEndpoint;

/// <summary>
/// The platform's MQTT endpoint: MQTTnet's server behind Kestrel (TLS, <see cref="PacketLengthGuard"/>). A gateway logs
/// in with its registry credential; it may publish only under its own owner's topics; each publish is rate-checked,
/// split when it is a batch, handed to the <see cref="IngestionPipeline"/>, and answered only when every reading in
/// it is durable: MQTTnet awaits this handler before it queues the PUBACK, and the PUBACK's reason code says what
/// became of the readings. On shutdown the endpoint stops taking publishes, lets those in flight become durable and
/// be acknowledged, and then closes the connections.
/// </summary>
public sealed partial class TelemetryEndpoint : IHostedService
{
    private const string ProtocolItem = "hohhot.protocol";

    private readonly MqttServer _server;
    private readonly IngestionPipeline _pipeline;
    private readonly GatewayAuthenticator _authenticator;
    private readonly EdgeRateLimiter _rates;
    private readonly EndpointMetrics _metrics;
    private readonly MqttEndpointOptions _options;
    private readonly IngestionOptions _ingestion;
    private readonly TimeProvider _clock;
    private readonly ILogger<TelemetryEndpoint> _logger;
    private readonly ConcurrentDictionary<string, (GatewayIdentity Identity, long CheckedAt)> _gateways = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _abandon = new();
    private int _inFlight;
    private int _connected;
    private volatile bool _draining;
    private Task _drained = Task.CompletedTask;

    public TelemetryEndpoint(
        MqttConnectionHandler connections,
        IngestionPipeline pipeline,
        GatewayAuthenticator authenticator,
        EndpointMetrics metrics,
        IOptions<MqttEndpointOptions> options,
        IOptions<IngestionOptions> ingestion,
        IHostApplicationLifetime lifetime,
        TimeProvider clock,
        ILogger<TelemetryEndpoint> logger)
    {
        _pipeline = pipeline;
        _authenticator = authenticator;
        _metrics = metrics;
        _options = options.Value;
        _ingestion = ingestion.Value;
        _clock = clock;
        _logger = logger;
        _rates = new EdgeRateLimiter(clock, _options);
        var serverOptions = new MqttServerOptionsBuilder()
            .WithoutDefaultEndpoint()
            .WithDefaultCommunicationTimeout(_options.ConnectTimeout)
            .Build();
        _server = new MqttServer(serverOptions, [connections], MqttNetNullLogger.Instance);
        _server.ValidatingConnectionAsync += ValidateConnectionAsync;
        _server.InterceptingPublishAsync += HandlePublishAsync;
        _server.InterceptingSubscriptionAsync += RefuseSubscriptionAsync;
        _server.ClientConnectedAsync += _ => { Interlocked.Increment(ref _connected); return Task.CompletedTask; };
        _server.ClientDisconnectedAsync += _ => { Interlocked.Decrement(ref _connected); return Task.CompletedTask; };
        metrics.ObserveConnections(() => Volatile.Read(ref _connected), () => InFlight);
        lifetime.ApplicationStopping.Register(() => _drained = DrainAsync());
    }

    public bool Started => _server.IsStarted;

    /// <summary>Publishes being handled now (each waits for its readings to become durable).</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    public Task StartAsync(CancellationToken cancellationToken) => _server.StartAsync();

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _drained.WaitAsync(cancellationToken).ConfigureAwait(false);
        await _abandon.CancelAsync();
        await _server.StopAsync(new MqttServerStopOptions());
    }

    /// <summary>
    /// Runs when the host is told to stop, before any service stops: no new publish is taken (a connection that sends
    /// one is closed without a PUBACK, so its gateway resends it elsewhere or later), those in flight finish and get
    /// their PUBACKs, then every connection is closed with "server shutting down".
    /// </summary>
    private async Task DrainAsync()
    {
        _draining = true;
        LogDraining(InFlight);
        var deadline = _clock.GetTimestamp();
        while (InFlight > 0 && _clock.GetElapsedTime(deadline) < _options.DrainTimeout)
        {
            await Task.Delay(20).ConfigureAwait(false);
        }

        if (InFlight > 0)
        {
            LogDrainTimedOut(InFlight);
        }

        // The PUBACKs just queued leave before the DISCONNECT: MQTTnet sends a session's packets in order.
        foreach (var client in await _server.GetClientsAsync().ConfigureAwait(false))
        {
            try
            {
                await client.DisconnectAsync(new MqttServerClientDisconnectOptions { ReasonCode = MqttDisconnectReasonCode.ServerShuttingDown }).ConfigureAwait(false);
            }
            catch (Exception exception) when (exception is not OutOfMemoryException)
            {
                LogDisconnectFailed(client.Id, exception.Message);
            }
        }
    }

    private async Task ValidateConnectionAsync(ValidatingConnectionEventArgs args)
    {
        if (_draining)
        {
            args.ReasonCode = MqttConnectReasonCode.ServerUnavailable;
            _metrics.RecordRefusedLogin("shutting_down");
            return;
        }

        (LoginVerdict Verdict, GatewayIdentity? Identity) login;
        try
        {
            login = await _authenticator.LoginAsync(args.UserName, args.RawPassword, args.CancellationToken).ConfigureAwait(false);
        }
        catch (Exception exception) when (StoreOutage.Is(exception))
        {
            args.ReasonCode = MqttConnectReasonCode.ServerUnavailable;
            args.ReasonString = "the registry is unreachable; try again";
            _metrics.RecordRefusedLogin("registry_unavailable");
            return;
        }

        switch (login.Verdict)
        {
            case LoginVerdict.Admitted:
                _gateways[args.UserName] = (login.Identity!, _clock.GetTimestamp());
                args.SessionItems[ProtocolItem] = args.ProtocolVersion;
                return;
            case LoginVerdict.Disabled:
                args.ReasonCode = MqttConnectReasonCode.NotAuthorized;
                args.ReasonString = "this gateway's credential is disabled";
                break;
            case LoginVerdict.TooManyFailures:
                args.ReasonCode = MqttConnectReasonCode.ConnectionRateExceeded;
                args.ReasonString = "too many failed logins for this gateway; wait a minute";
                break;
            default:
                args.ReasonCode = MqttConnectReasonCode.BadUserNameOrPassword;
                break;
        }

        _metrics.RecordRefusedLogin(login.Verdict.ToString());
        LogLoginRefused(args.UserName ?? "", args.RemoteEndPoint?.ToString() ?? "", login.Verdict.ToString());
    }

    private async Task HandlePublishAsync(InterceptingPublishEventArgs args)
    {
        // Nothing is routed to subscribers: the endpoint only takes telemetry in.
        args.ProcessPublish = false;
        var mqtt5 = args.SessionItems[ProtocolItem] is MqttProtocolVersion.V500;
        if (_draining)
        {
            _metrics.RecordRefusedPublish("shutting_down", 1);
            args.CloseConnection = true;
            return;
        }

        var identity = await CurrentIdentityAsync(args.UserName, args.CancellationToken).ConfigureAwait(false);
        if (identity is null)
        {
            _metrics.RecordRefusedPublish("credential_withdrawn", 1);
            args.CloseConnection = true;
            return;
        }

        var topic = args.ApplicationMessage.Topic;
        if (!topic.StartsWith(identity.TopicPrefix, StringComparison.Ordinal))
        {
            // Refused, not stored: another owner's topic is no reading of this gateway's.
            _metrics.RecordRefusedPublish("not_authorised", 1);
            Refuse(args, mqtt5, MqttPubAckReasonCode.NotAuthorized, $"gateway '{identity.GatewayId}' publishes only under {identity.TopicPrefix}");
            return;
        }

        var payload = args.ApplicationMessage.Payload;
        var bytes = payload.IsEmpty ? [] : System.Buffers.BuffersExtensions.ToArray(payload);
        IReadOnlyList<IncomingMessage> readings = TelemetryBatch.IsBatchTopic(topic, out var itemPrefix)
            ? TelemetryBatch.Split(topic, itemPrefix, bytes, _ingestion)
            : [new IncomingMessage(topic, bytes)];
        var devices = new string?[readings.Count];
        for (var i = 0; i < readings.Count; i++)
        {
            devices[i] = TelemetryTopic.DeviceSegment(readings[i].Topic);
        }

        switch (_rates.Admit(identity.GatewayId, devices, out var refusal))
        {
            case RateVerdict.DeviceOverRate:
                // One device beyond its share: this publish is refused (0x97), the gateway's other devices go on.
                _metrics.RecordRefusedPublish("device_rate", readings.Count);
                Refuse(args, mqtt5, MqttPubAckReasonCode.QuotaExceeded, refusal);
                return;
            case RateVerdict.GatewayOverRate:
                // The gateway itself beyond its rate: disconnected with 0x96 (message rate too high), no PUBACK, so
                // what it sent stays in its spool and comes back when it reconnects.
                _metrics.RecordRefusedPublish("gateway_rate", readings.Count);
                LogPublishRefused(args.UserName ?? "", topic, "MessageRateTooHigh", refusal);
                args.CloseConnection = true;
                await _server.DisconnectClientAsync(args.ClientId, new MqttServerClientDisconnectOptions
                {
                    ReasonCode = MqttDisconnectReasonCode.MessageRateTooHigh,
                    ReasonString = Contracts.TextLimits.Shorten(refusal, 500),
                }).ConfigureAwait(false);
                return;
        }

        Interlocked.Increment(ref _inFlight);
        var handedOver = _clock.GetTimestamp();
        try
        {
            foreach (var reading in readings)
            {
                await _pipeline.EnqueueAsync(reading, _abandon.Token).ConfigureAwait(false);
            }

            var verdicts = await Task.WhenAll(readings.Select(r => r.Delivered)).WaitAsync(_abandon.Token).ConfigureAwait(false);
            Answer(args, verdicts);
            _metrics.RecordPubackLatency(_clock.GetElapsedTime(handedOver));
        }
        catch (OperationCanceledException) when (_abandon.IsCancellationRequested)
        {
            // Stopping without the outcome: no PUBACK, the gateway resends and the keys are recognised.
            args.CloseConnection = true;
        }
        finally
        {
            Interlocked.Decrement(ref _inFlight);
        }
    }

    /// <summary>
    /// The PUBACK for readings that are all durable: success when each was applied or was a duplicate of the same
    /// body, 0x99 (payload format invalid) when any was quarantined, with the first quarantined reading's reason.
    /// </summary>
    private void Answer(InterceptingPublishEventArgs args, DeliveryVerdict[] verdicts)
    {
        var quarantined = 0;
        var first = -1;
        for (var i = 0; i < verdicts.Length; i++)
        {
            if (verdicts[i].Outcome == DeliveryOutcome.Quarantined)
            {
                quarantined++;
                first = first < 0 ? i : first;
            }
        }

        if (quarantined == 0)
        {
            _metrics.RecordPuback("success");
            return;
        }

        var verdict = verdicts[first];
        args.Response.ReasonCode = MqttPubAckReasonCode.PayloadFormatInvalid;
        args.Response.ReasonString = Contracts.TextLimits.Shorten(verdicts.Length == 1
            ? $"quarantined: {verdict.Reason}: {verdict.Detail}"
            : $"{quarantined} of {verdicts.Length} readings quarantined; readings[{first}]: {verdict.Reason}: {verdict.Detail}", 500);
        _metrics.RecordPuback("payload_format_invalid");
    }

    /// <summary>
    /// A publish refused at the edge, stored nowhere. MQTT 5 says why in the PUBACK; an MQTT 3.1.1 PUBACK has no reason
    /// code and would read as success, so a 3.1.1 connection is closed instead and its gateway resends later.
    /// </summary>
    private void Refuse(InterceptingPublishEventArgs args, bool mqtt5, MqttPubAckReasonCode code, string reason)
    {
        LogPublishRefused(args.UserName ?? "", args.ApplicationMessage.Topic, code.ToString(), reason);
        if (!mqtt5)
        {
            args.CloseConnection = true;
            return;
        }

        args.Response.ReasonCode = code;
        args.Response.ReasonString = Contracts.TextLimits.Shorten(reason, 500);
        _metrics.RecordPuback(code.ToString());
    }

    private async Task<GatewayIdentity?> CurrentIdentityAsync(string? gatewayId, CancellationToken cancellationToken)
    {
        if (gatewayId is null || !_gateways.TryGetValue(gatewayId, out var known))
        {
            return null;
        }

        if (_clock.GetElapsedTime(known.CheckedAt) < _options.CredentialRecheckInterval)
        {
            return known.Identity;
        }

        try
        {
            var identity = await _authenticator.RecheckAsync(known.Identity, cancellationToken).ConfigureAwait(false);
            if (identity is null)
            {
                _gateways.TryRemove(gatewayId, out _);
                return null;
            }

            _gateways[gatewayId] = (identity, _clock.GetTimestamp());
            return identity;
        }
        catch (Exception exception) when (StoreOutage.Is(exception))
        {
            return known.Identity; // the registry is away: the pipeline will hold the readings anyway
        }
    }

    private static Task RefuseSubscriptionAsync(InterceptingSubscriptionEventArgs args)
    {
        args.ProcessSubscription = false;
        args.Response.ReasonCode = MqttSubscribeReasonCode.NotAuthorized;
        return Task.CompletedTask;
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "MQTT endpoint draining: {InFlight} publishes in flight finish, then connections close")]
    private partial void LogDraining(int inFlight);

    [LoggerMessage(EventId = 5002, Level = LogLevel.Warning, Message = "MQTT endpoint drain timed out with {InFlight} publishes in flight; they get no PUBACK and will be resent")]
    private partial void LogDrainTimedOut(int inFlight);

    [LoggerMessage(EventId = 5003, Level = LogLevel.Debug, Message = "Could not disconnect {ClientId}: {Error}")]
    private partial void LogDisconnectFailed(string clientId, string error);

    [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "MQTT login refused for '{Gateway}' from {Remote}: {Verdict}")]
    private partial void LogLoginRefused(string gateway, string remote, string verdict);

    [LoggerMessage(EventId = 5005, Level = LogLevel.Information, Message = "Publish by '{Gateway}' on {Topic} refused ({Code}): {Reason}")]
    private partial void LogPublishRefused(string gateway, string topic, string code, string reason);
}
