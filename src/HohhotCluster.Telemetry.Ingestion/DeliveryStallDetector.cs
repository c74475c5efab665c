namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// Tells a broker that stopped delivering, or fell to a drip, from a quiet fleet or a busy pipeline. Mosquitto 2.0.11
/// (Debian 12) can stop sending QoS 1 messages to a persistent session that had more queued than its receive maximum,
/// or send them a few a second (one per acknowledgement), and only a reconnect restores delivery (fixed upstream in
/// 2.0.13). The ingestion client therefore publishes a liveness probe to a topic it subscribes to itself: the probe
/// queues behind everything the broker holds for the session, so while it is outstanding the broker has messages for
/// us; and it follows the broker's count of stored messages on a side connection. Healthy delivery keeps our window
/// full while there is a backlog (the probe then comes back late, but the pipeline is busy), and brings the probe
/// straight back when there is none. So a pipeline that starved (fewer than <see cref="StarvingBelow"/> messages
/// awaiting acknowledgement and no batch of <see cref="BusyBatch"/> or more in hand: a slow batch is work, not
/// starving) for longer than the timeout while the broker shows it holds messages for us means the
/// broker is holding back what it has. The evidence: our probe held past the timeout (nothing comes), or, for a drip
/// (the probe may overtake the queue), messages still trickling in while the broker stores more than is in flight to
/// us. The stored count covers every session on the broker, so without the trickle it proves nothing: an idle
/// platform beside another session's stale queue is not stalled.
/// </summary>
public sealed class DeliveryStallDetector(TimeProvider clock, TimeSpan stallTimeout, int receiveMaximum)
{
    private readonly object _gate = new();
    private DateTimeOffset? _probeSentAt;
    private DateTimeOffset? _starvingSince;
    private long _brokerStored;
    private long _lastReceivedTicks;

    /// <summary>Fewer messages than this awaiting acknowledgement is a starving pipeline (a healthy window holds far more).</summary>
    public int StarvingBelow { get; } = Math.Max(1, Math.Min(receiveMaximum / 2, 1000));

    public TimeSpan StallTimeout => stallTimeout;

    /// <summary>A new connection: forget the old probe, count from now.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _probeSentAt = null;
            _starvingSince = null;
        }
    }

    /// <summary>The broker's latest count of stored messages (<c>$SYS/broker/store/messages/count</c>).</summary>
    public void BrokerStored(long messages)
    {
        lock (_gate)
        {
            _brokerStored = messages;
        }
    }

    /// <summary>A message arrived (called for every message: no lock).</summary>
    public void Received() => Volatile.Write(ref _lastReceivedTicks, clock.GetUtcNow().UtcTicks);

    /// <summary>Our probe came back.</summary>
    public void ProbeReturned()
    {
        lock (_gate)
        {
            _probeSentAt = null;
        }
    }

    /// <summary>True when a new probe should be sent (none is outstanding).</summary>
    public bool ShouldProbe()
    {
        lock (_gate)
        {
            return _probeSentAt is null;
        }
    }

    public void ProbeSent()
    {
        lock (_gate)
        {
            _probeSentAt = clock.GetUtcNow();
        }
    }

    /// <summary>A batch this large is work, not a drip (a drip hands the pipeline a message or two at a time).</summary>
    public const int BusyBatch = 100;

    /// <summary>Called every probe interval.</summary>
    /// <param name="unacknowledged">Messages received from the broker and not yet acknowledged.</param>
    /// <param name="largestBatchInProgress">The largest batch the pipeline is processing now.</param>
    public bool IsStalled(long unacknowledged, int largestBatchInProgress = 0)
    {
        lock (_gate)
        {
            var now = clock.GetUtcNow();
            var starving = unacknowledged < StarvingBelow && largestBatchInProgress < BusyBatch;
            _starvingSince = starving ? _starvingSince ?? now : null;
            var probeHeld = _probeSentAt is { } sent && now - sent > stallTimeout;
            // The stored count includes what is in flight to us; a drip keeps trickling in.
            var trickling = now.UtcTicks - Volatile.Read(ref _lastReceivedTicks) < (stallTimeout / 4).Ticks;
            var dripping = trickling && _brokerStored - unacknowledged > StarvingBelow;
            return (probeHeld || dripping) && _starvingSince is { } since && now - since > stallTimeout;
        }
    }
}
