namespace HohhotCluster.FirmwareSim.Publishing;

/// <summary>Counters the progress display and the final summary read; updated from many tasks.</summary>
internal sealed class RunStats
{
    private long _accepted;
    private long _sent;
    private long _acked;
    private long _refused;
    private long _transportFailures;
    private long _dropped;
    private long _inflight;
    private long _spooled;

    public long Accepted => Interlocked.Read(ref _accepted);
    public long Sent => Interlocked.Read(ref _sent);
    public long Acked => Interlocked.Read(ref _acked);
    public long Refused => Interlocked.Read(ref _refused);
    public long TransportFailures => Interlocked.Read(ref _transportFailures);
    public long Dropped => Interlocked.Read(ref _dropped);
    public long Inflight => Interlocked.Read(ref _inflight);
    public long Spooled => Interlocked.Read(ref _spooled);
    public long Pending => Accepted - Acked - Refused - Dropped;

    public void OnAccepted() => Interlocked.Increment(ref _accepted);
    public void OnSent() { Interlocked.Increment(ref _sent); Interlocked.Increment(ref _inflight); }
    public void OnAcked() { Interlocked.Increment(ref _acked); Interlocked.Decrement(ref _inflight); }
    public void OnRefused() { Interlocked.Increment(ref _refused); Interlocked.Decrement(ref _inflight); }
    public void OnTransportFailure() { Interlocked.Increment(ref _transportFailures); Interlocked.Decrement(ref _inflight); }
    public void OnDropped() => Interlocked.Increment(ref _dropped);
    public void OnSpooled(int delta) => Interlocked.Add(ref _spooled, delta);
}
