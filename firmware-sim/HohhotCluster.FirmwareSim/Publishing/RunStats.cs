namespace HohhotCluster.FirmwareSim.Publishing;

/// <summary>
/// Counters the progress display and the final summary read, in messages (a batch counts each reading it carries);
/// updated from many tasks. A message is settled once it is counted, quarantined, refused or dropped; rate-limited
/// and transport-failed attempts are counted as attempts, their messages stay pending and are sent again.
/// </summary>
internal sealed class RunStats
{
    private long _accepted;
    private long _sent;
    private long _batches;
    private long _acked;
    private long _quarantined;
    private long _refused;
    private long _rateLimited;
    private long _rateDisconnects;
    private long _transportFailures;
    private long _dropped;
    private long _inflight;
    private long _spooled;

    public long Accepted => Interlocked.Read(ref _accepted);
    /// <summary>Messages sent, resends included.</summary>
    public long Sent => Interlocked.Read(ref _sent);
    /// <summary>Batch publishes sent.</summary>
    public long Batches => Interlocked.Read(ref _batches);
    /// <summary>Acknowledged with a success code: stored and counted (or a duplicate of the same body).</summary>
    public long Acked => Interlocked.Read(ref _acked);
    /// <summary>Answered 0x99 on their own: the platform holds them in quarantine.</summary>
    public long Quarantined => Interlocked.Read(ref _quarantined);
    /// <summary>Answered 0x87 or another refusal: stored nowhere.</summary>
    public long Refused => Interlocked.Read(ref _refused);
    /// <summary>Attempts answered 0x97 or 0x96: kept and resent.</summary>
    public long RateLimited => Interlocked.Read(ref _rateLimited);
    /// <summary>Connections the endpoint closed for the gateway's rate (DISCONNECT 0x96): what was in flight is resent.</summary>
    public long RateDisconnects => Interlocked.Read(ref _rateDisconnects);
    /// <summary>Attempts without a PUBACK (connection lost): resent after reconnecting, fault copies dropped.</summary>
    public long TransportFailures => Interlocked.Read(ref _transportFailures);
    public long Dropped => Interlocked.Read(ref _dropped);
    public long Inflight => Interlocked.Read(ref _inflight);
    public long Spooled => Interlocked.Read(ref _spooled);
    public long Pending => Accepted - Acked - Quarantined - Refused - Dropped;

    public void OnAccepted() => Interlocked.Increment(ref _accepted);

    public void OnSent(Publication publication)
    {
        var messages = publication.Messages.Count;
        Interlocked.Add(ref _sent, messages);
        Interlocked.Add(ref _inflight, messages);
        if (publication.IsBatch)
        {
            Interlocked.Increment(ref _batches);
        }
    }

    public void OnAnswered(Publication publication, PubackOutcome outcome)
    {
        var messages = publication.Messages.Count;
        Interlocked.Add(ref _inflight, -messages);
        switch (outcome)
        {
            case PubackOutcome.Counted: Interlocked.Add(ref _acked, messages); break;
            case PubackOutcome.Quarantined: Interlocked.Add(ref _quarantined, messages); break;
            case PubackOutcome.Refused: Interlocked.Add(ref _refused, messages); break;
            case PubackOutcome.RateLimited: Interlocked.Add(ref _rateLimited, messages); break;
            case PubackOutcome.PartlyQuarantined: break; // its halves are asked next: each message is settled by their answers
        }
    }

    public void OnTransportFailure(Publication publication)
    {
        var messages = publication.Messages.Count;
        Interlocked.Add(ref _transportFailures, messages);
        Interlocked.Add(ref _inflight, -messages);
    }

    public void OnRateDisconnect() => Interlocked.Increment(ref _rateDisconnects);
    public void OnDropped() => Interlocked.Increment(ref _dropped);
    public void OnSpooled(int delta) => Interlocked.Add(ref _spooled, delta);
}
