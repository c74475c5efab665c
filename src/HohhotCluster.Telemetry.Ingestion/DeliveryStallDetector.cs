namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// Tells a broker that stopped delivering from a quiet fleet. Mosquitto 2.0.11 (Debian 12) can stop sending QoS 1
/// messages to a persistent session that had more queued than its receive maximum, and only a reconnect restarts
/// delivery (fixed upstream in 2.0.13). The ingestion client therefore publishes a liveness probe to a topic it
/// subscribes to itself: the probe queues behind everything the broker holds for the session, so while it is
/// outstanding the broker has at least one message for us. Delivery is stalled when a probe has been outstanding
/// longer than the timeout, nothing at all arrived in that time, and nothing we received is still waiting to be
/// acknowledged (so the broker is not merely holding back for our receive maximum while the pipeline is busy or
/// its servers are away).
/// </summary>
public sealed class DeliveryStallDetector(TimeProvider clock, TimeSpan stallTimeout)
{
    private readonly object _gate = new();
    private DateTimeOffset _lastReceived = clock.GetUtcNow();
    private DateTimeOffset? _probeSentAt;

    public TimeSpan StallTimeout => stallTimeout;

    /// <summary>A new connection: forget the old probe, count from now.</summary>
    public void Reset()
    {
        lock (_gate)
        {
            _lastReceived = clock.GetUtcNow();
            _probeSentAt = null;
        }
    }

    /// <summary>Any message (telemetry or probe) arrived.</summary>
    public void Received()
    {
        lock (_gate)
        {
            _lastReceived = clock.GetUtcNow();
        }
    }

    /// <summary>Our probe came back.</summary>
    public void ProbeReturned()
    {
        lock (_gate)
        {
            _lastReceived = clock.GetUtcNow();
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

    /// <param name="unacknowledged">Messages received from the broker and not yet acknowledged.</param>
    public bool IsStalled(long unacknowledged)
    {
        lock (_gate)
        {
            var now = clock.GetUtcNow();
            return unacknowledged == 0
                && _probeSentAt is { } sent
                && now - sent > stallTimeout
                && now - _lastReceived > stallTimeout;
        }
    }
}
