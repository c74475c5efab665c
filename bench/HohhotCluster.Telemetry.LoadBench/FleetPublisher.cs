using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using MQTTnet;
using MQTTnet.Exceptions;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace HohhotCluster.Telemetry.LoadBench;

/// <summary>
/// Where the replay publishes: the platform's endpoint, the raw MQTTnet endpoint or Mosquitto. Mosquitto answers a
/// publish nobody subscribes to with 0x10 (no matching subscribers): that is its success; any other code but 0x00 is a
/// failure wherever it comes from. With a <c>CaFile</c> the connection is mqtts, the server's certificate checked against that CA only (the cluster's
/// HAProxy passes TLS through to the hosts).
/// </summary>
internal sealed record MqttTarget(string Name, string Host, int Port, bool NoSubscribersIsSuccess = false, string? CaFile = null);

/// <summary>
/// The failover as the gateways saw it: from <see cref="KilledAt"/> (a host SIGKILLed), each gateway that lost its
/// connection afterwards (it was connected to that host: HAProxy closes the client side when the host's side dies) and
/// the time of its first success PUBACK after that, on the new connection HAProxy gave it to a survivor.
/// </summary>
internal sealed class FailoverWatch
{
    public long KilledAt { get; private set; }

    public void MarkKill() => KilledAt = Stopwatch.GetTimestamp();

    /// <summary>Per moved gateway: seconds from the kill to its first acknowledged reading after it lost its connection (NaN: none came).</summary>
    public List<(string Gateway, double Seconds)> Moved { get; } = [];
}

/// <summary>
/// What a replay did. Seconds: first CONNECT to last PUBACK; PublishSeconds: first publish to last PUBACK; ConnectSeconds
/// and FirstAckSeconds: from the first CONNECT to the last gateway's CONNACK and to the first success PUBACK.
/// </summary>
internal sealed record PublishResult(
    long Readings, long Publishes, double ConnectSeconds, double FirstAckSeconds, double Seconds, double PublishSeconds,
    IReadOnlyDictionary<int, long> FailedReadingsByCode, long TransportFailures, long Reconnects, string FirstFailure)
{
    public long FailedReadings => FailedReadingsByCode.Values.Sum();

    public bool Clean => FailedReadings == 0;

    public string Failures => FailedReadingsByCode.Count == 0 ? "none"
        : string.Join(", ", FailedReadingsByCode.OrderBy(f => f.Key).Select(f => string.Create(CultureInfo.InvariantCulture, $"0x{f.Key:X2}: {f.Value:N0} readings")))
          + "; first: " + FirstFailure;
}

/// <summary>
/// The bench's gateways: one MQTT 5 connection per gateway of the recorded run (client id <c>gw-{owner}</c>, username
/// the gateway id = owner id, its password, clean start), every publish QoS 1 and awaited until its PUBACK, at most
/// <c>inflight</c> publishes of a gateway awaiting theirs. The same publisher, the same gateways and the same publishes
/// (<see cref="BatchPlan"/>) go to every endpoint. Every PUBACK's reason code is checked; a publish whose connection was
/// lost is sent again on a new connection (the readings' keys make that safe), and counted. Writes hohhot-sim's ledger
/// format (one line per reading, <c>b</c> = readings of its batch), so <c>hohhot-sim verify</c> can check the run.
/// </summary>
internal sealed class FleetPublisher(MqttTarget target, IReadOnlyDictionary<string, string> passwords, int inflightPerGateway, string? ledgerPath,
    FailoverWatch? failover = null)
{
    private const int MaxAttempts = 20;
    private readonly Dictionary<int, long> _failed = [];
    private readonly Lock _lock = new();
    private string _firstFailure = "";
    private long _readings;
    private long _publishes;
    private long _transportFailures;
    private long _reconnects;
    private int _connected;
    private long _firstAckAt;
    private Utf8JsonWriter? _ledger;
    private FileStream? _ledgerStream;

    /// <summary>Readings acknowledged with success so far.</summary>
    public long AckedReadings => Interlocked.Read(ref _readings);

    public int Connected => Volatile.Read(ref _connected);

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
    /// Every gateway connects at once. With <paramref name="connectAllFirst"/> none publishes before all are connected
    /// (the day: the logins are not part of its rate); without, each starts as soon as its own CONNACK is in (a
    /// reconnect after an outage).
    /// </summary>
    public async Task<PublishResult> PublishAsync(IReadOnlyList<GatewayPlan> plans, bool connectAllFirst, CancellationToken cancellationToken)
    {
        if (ledgerPath is not null)
        {
            _ledgerStream = new FileStream(ledgerPath, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 16);
            _ledger = new Utf8JsonWriter(_ledgerStream);
        }

        var gateways = new Gateway[plans.Count];
        for (var i = 0; i < gateways.Length; i++)
        {
            gateways[i] = new Gateway(plans[i], passwords.TryGetValue(plans[i].GatewayId, out var p) ? p
                : throw new InvalidOperationException($"no credentials for gateway {plans[i].GatewayId}"));
        }

        var start = Stopwatch.GetTimestamp();
        long lastConnectedAt = start;
        var connects = new Task[gateways.Length];
        for (var i = 0; i < gateways.Length; i++)
        {
            var gateway = gateways[i];
            connects[i] = Task.Run(async () =>
            {
                await ConnectAsync(gateway, cancellationToken);
                Interlocked.Increment(ref _connected);
                var now = Stopwatch.GetTimestamp();
                long seen;
                while ((seen = Interlocked.Read(ref lastConnectedAt)) < now && Interlocked.CompareExchange(ref lastConnectedAt, now, seen) != seen)
                {
                }
            }, cancellationToken);
        }

        if (connectAllFirst)
        {
            await Task.WhenAll(connects);
        }

        var publishStart = Stopwatch.GetTimestamp();
        var runs = new Task[gateways.Length];
        for (var i = 0; i < gateways.Length; i++)
        {
            var (gateway, connected) = (gateways[i], connects[i]);
            runs[i] = Task.Run(async () =>
            {
                await connected;
                await PublishAllAsync(gateway, cancellationToken);
            }, cancellationToken);
        }

        try
        {
            await Task.WhenAll(runs);
        }
        finally
        {
            var end = Stopwatch.GetTimestamp();
            foreach (var gateway in gateways)
            {
                if (failover is { KilledAt: > 0 } f && gateway.LostAt != 0)
                {
                    f.Moved.Add((gateway.Plan.GatewayId, gateway.MovedAckAt != 0 ? Stopwatch.GetElapsedTime(f.KilledAt, gateway.MovedAckAt).TotalSeconds : double.NaN));
                }

                await gateway.DisposeAsync();
            }

            lock (_lock)
            {
                _ledger?.Flush();
                _ledgerStream?.Flush();
                _ledger?.Dispose();
                _ledgerStream?.Dispose();
                _ledger = null;
                _ledgerStream = null;
            }

            Result = new PublishResult(Interlocked.Read(ref _readings), Interlocked.Read(ref _publishes),
                Stopwatch.GetElapsedTime(start, Interlocked.Read(ref lastConnectedAt)).TotalSeconds,
                Interlocked.Read(ref _firstAckAt) is > 0 and var firstAck ? Stopwatch.GetElapsedTime(start, firstAck).TotalSeconds : double.NaN,
                Stopwatch.GetElapsedTime(start, end).TotalSeconds,
                Stopwatch.GetElapsedTime(publishStart, end).TotalSeconds, new Dictionary<int, long>(_failed), Interlocked.Read(ref _transportFailures),
                Interlocked.Read(ref _reconnects), _firstFailure);
        }

        return Result!;
    }

    public PublishResult? Result { get; private set; }

    private async Task PublishAllAsync(Gateway gateway, CancellationToken cancellationToken)
    {
        var pending = new List<Task>(gateway.Plan.Publications.Length);
        foreach (var publication in gateway.Plan.Publications)
        {
            await gateway.Slots!.WaitAsync(cancellationToken);
            pending.Add(PublishOneAsync(gateway, publication, cancellationToken));
        }

        await Task.WhenAll(pending);
    }

    private async Task PublishOneAsync(Gateway gateway, Publication publication, CancellationToken cancellationToken)
    {
        try
        {
            var message = new MqttApplicationMessageBuilder()
                .WithTopic(publication.Topic)
                .WithPayload(publication.Payload)
                .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
                .Build();
            for (var attempt = 1; ; attempt++)
            {
                var client = gateway.Client;
                try
                {
                    var result = await client!.PublishAsync(message, cancellationToken);
                    var code = (int)result.ReasonCode;
                    Interlocked.Increment(ref _publishes);
                    if (code == 0 || (code == 0x10 && target.NoSubscribersIsSuccess))
                    {
                        Interlocked.Add(ref _readings, publication.Readings.Length);
                        Interlocked.CompareExchange(ref _firstAckAt, Stopwatch.GetTimestamp(), 0);
                        if (Interlocked.Read(ref gateway.LostAt) != 0)
                        {
                            Interlocked.CompareExchange(ref gateway.MovedAckAt, Stopwatch.GetTimestamp(), 0);
                        }
                    }
                    else
                    {
                        Fail(code, publication, result.ReasonString);
                    }

                    Record(publication, code);
                    return;
                }
                catch (Exception exception) when (!cancellationToken.IsCancellationRequested
                    && exception is MqttCommunicationException or MqttClientNotConnectedException or OperationCanceledException or ObjectDisposedException)
                {
                    // The connection went (or the PUBACK timed out): no answer, so the publish is sent again on a new one.
                    Interlocked.Increment(ref _transportFailures);
                    if (failover is { KilledAt: > 0 })
                    {
                        Interlocked.CompareExchange(ref gateway.LostAt, Stopwatch.GetTimestamp(), 0);
                    }
                    if (attempt >= MaxAttempts)
                    {
                        Fail(-1, publication, $"no PUBACK after {MaxAttempts} attempts: {exception.Message}");
                        Record(publication, -1);
                        return;
                    }

                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(2000, 50 << Math.Min(attempt, 6))), cancellationToken);
                    await ReconnectAsync(gateway, client, cancellationToken);
                }
            }
        }
        finally
        {
            gateway.Slots!.Release();
        }
    }

    private void Fail(int code, Publication publication, string? reason)
    {
        lock (_lock)
        {
            _failed[code] = _failed.GetValueOrDefault(code) + publication.Readings.Length;
            if (_firstFailure.Length == 0)
            {
                _firstFailure = string.Create(CultureInfo.InvariantCulture, $"{publication.Topic} ({publication.Readings.Length} readings): {code} {reason}");
            }
        }
    }

    private async Task ConnectAsync(Gateway gateway, CancellationToken cancellationToken)
    {
        var client = new MqttClientFactory().CreateMqttClient();
        var builder = new MqttClientOptionsBuilder();
        if (target.CaFile is { } caFile)
        {
            var ca = X509CertificateLoader.LoadCertificateFromFile(caFile);
            builder.WithTlsOptions(tls => tls.UseTls().WithCertificateValidationHandler(e =>
            {
                // The platform's CA is the only root trusted; the name must match.
                if ((e.SslPolicyErrors & ~System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors) != 0)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                using var server = X509CertificateLoader.LoadCertificate(e.Certificate.GetRawCertData());
                return chain.Build(server);
            }));
        }

        var result = await client.ConnectAsync(builder
            .WithTcpServer(target.Host, target.Port)
            .WithProtocolVersion(MqttProtocolVersion.V500)
            .WithClientId("gw-" + gateway.Plan.GatewayId)
            .WithCredentials(gateway.Plan.GatewayId, gateway.Password)
            .WithCleanStart(true)
            .WithKeepAlivePeriod(TimeSpan.FromSeconds(60))
            // A batch's PUBACK comes only once its readings are durable: under a whole city's load that is seconds.
            .WithTimeout(TimeSpan.FromSeconds(120))
            .Build(), cancellationToken);
        if (result.ResultCode != MqttClientConnectResultCode.Success)
        {
            client.Dispose();
            throw new InvalidOperationException($"{target.Name}: gateway {gateway.Plan.GatewayId} refused: {result.ResultCode} {result.ReasonString}");
        }

        var limit = result.ReceiveMaximum is > 0 and var max ? Math.Min(inflightPerGateway, (int)max) : inflightPerGateway;
        if (gateway.Slots is null)
        {
            gateway.Slots = new SemaphoreSlim(limit, limit);
        }

        gateway.Client = client;
    }

    private async Task ReconnectAsync(Gateway gateway, IMqttClient? failed, CancellationToken cancellationToken)
    {
        await gateway.ConnectLock.WaitAsync(cancellationToken);
        try
        {
            if (!ReferenceEquals(gateway.Client, failed) || gateway.Client is { IsConnected: true })
            {
                return; // another publish of this gateway reconnected it already
            }

            gateway.Client?.Dispose();
            Interlocked.Increment(ref _reconnects);
            await ConnectAsync(gateway, cancellationToken);
        }
        finally
        {
            gateway.ConnectLock.Release();
        }
    }

    private void Record(Publication publication, int code)
    {
        if (_ledger is null)
        {
            return;
        }

        lock (_lock)
        {
            foreach (var m in publication.Readings)
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

                if (publication.IsBatch)
                {
                    _ledger.WriteNumber("b", publication.Readings.Length);
                }

                _ledger.WriteNumber("rc", code);
                _ledger.WriteEndObject();
                _ledger.Flush();
                _ledgerStream!.WriteByte((byte)'\n');
            }
        }
    }

    private sealed class Gateway(GatewayPlan plan, string password) : IAsyncDisposable
    {
        public GatewayPlan Plan { get; } = plan;
        public string Password { get; } = password;
        public IMqttClient? Client { get; set; }
        public SemaphoreSlim? Slots { get; set; }
        public SemaphoreSlim ConnectLock { get; } = new(1, 1);

        /// <summary>When its connection was first lost after a kill (<see cref="FailoverWatch"/>), and its first success PUBACK after that.</summary>
        public long LostAt;
        public long MovedAckAt;

        public async ValueTask DisposeAsync()
        {
            if (Client is { IsConnected: true } client)
            {
                try
                {
                    await client.DisconnectAsync(new MqttClientDisconnectOptions());
                }
                catch (MqttCommunicationException)
                {
                }
            }

            Client?.Dispose();
            Slots?.Dispose();
            ConnectLock.Dispose();
        }
    }
}
