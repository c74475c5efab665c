using System.Threading.Channels;

namespace HohhotCluster.FirmwareSim.Publishing;

/// <summary>
/// What one gateway has to send, in which order and in which publishes, and what each PUBACK does to it. Order: the
/// halves of a batch being asked again first, then resends (oldest first), then the disk spool, then new input. With a
/// backlog (more than one message waiting in those) readings go in batches on the owner's batch topic, up to the batch
/// size and <see cref="BatchPayloadBuilder.MaxPayloadBytes"/>; a lone message, and every fault copy, goes alone. A
/// resend keeps the form of its reading's first send (<see cref="PendingMessage"/>).
/// <para>
/// An answer settles all of its publication's messages alike and the ledger gets a line for each: counted, quarantined
/// and refused messages are done; rate-limited (0x97, 0x96) and unanswered ones (connection lost) are kept and go back to the
/// resends, since the platform stored none of them or recognises their keys. A batch answered 0x99 holds every item
/// durably but says only that some were quarantined: it is split in halves that are published again as they are,
/// until each quarantined reading has had its own 0x99 on a batch of one. Resending durable readings is safe, the
/// platform recognising their keys (a counted one comes back as a duplicate, success; a quarantined one as 0x99
/// again); it costs about two publishes per halving for each quarantined reading, and the ledger then knows of every
/// key whether it was counted.
/// </para>
/// The gateway's loop takes and spools; publish tasks settle concurrently. The spool is touched by the loop only.
/// </summary>
internal sealed class GatewayOutbox : IDisposable
{
    private readonly DiskSpool _spool;
    private readonly ChannelReader<OutboundMessage> _input;
    private readonly PublishLedger _ledger;
    private readonly RunStats _stats;
    private readonly BatchPayloadBuilder? _batch;
    private readonly Lock _lock = new();
    private readonly PriorityQueue<PendingMessage, long> _resend = new();
    private readonly Queue<PendingMessage[]> _halves = new();
    private long _nextOrdinal;

    /// <param name="batchReadings">Readings per batch; 1 sends every message alone.</param>
    public GatewayOutbox(DiskSpool spool, ChannelReader<OutboundMessage> input, int batchReadings, PublishLedger ledger, RunStats stats)
    {
        _spool = spool;
        _input = input;
        _ledger = ledger;
        _stats = stats;
        _batch = batchReadings > 1 ? new BatchPayloadBuilder(batchReadings) : null;
        stats.OnSpooled(spool.Count);
    }

    public int Spooled => _spool.Count;

    /// <summary>Nothing to resend, to ask again or in the spool (new input aside).</summary>
    public bool NothingPending
    {
        get
        {
            lock (_lock)
            {
                return _resend.Count == 0 && _halves.Count == 0 && _spool.Count == 0;
            }
        }
    }

    /// <summary>The next publish, or null when nothing waits.</summary>
    public Publication? TakeNext()
    {
        if (TakeHalf() is { } half)
        {
            return Compose(half);
        }
        var backlog = ResendCount + _spool.Count + (_input.CanCount ? _input.Count : 0);
        if (TakeOne() is not { } first)
        {
            return null;
        }
        var batchWanted = backlog > 1 || first.Form == PublishForm.InBatch;
        if (_batch is null || !batchWanted || !_batch.TryAdd(first))
        {
            return Publication.Single(first);
        }
        while (!_batch.IsFull && TakeOne() is { } next)
        {
            if (!_batch.TryAdd(next))
            {
                Resend(next); // another owner's topic, a fault copy or no room: it leads the next publish
                break;
            }
        }
        return _batch.Build();
    }

    /// <summary>Records the PUBACK of every message the publication carried and keeps what must be sent again.</summary>
    public PubackOutcome Settle(Publication publication, int reasonCode)
    {
        var outcome = PubackCodes.Classify(reasonCode, publication.CarriesSeveral);
        var readings = BatchReadings(publication);
        foreach (var pending in publication.Messages)
        {
            _ledger.Record(pending.Message, reasonCode, readings);
        }
        _stats.OnAnswered(publication, outcome);
        switch (outcome)
        {
            case PubackOutcome.RateLimited:
                lock (_lock)
                {
                    foreach (var pending in publication.Messages)
                    {
                        _resend.Enqueue(pending, pending.Ordinal);
                    }
                }
                break;
            case PubackOutcome.PartlyQuarantined:
                var messages = publication.Messages;
                var middle = messages.Count / 2;
                lock (_lock)
                {
                    _halves.Enqueue([.. messages.Take(middle)]);
                    _halves.Enqueue([.. messages.Skip(middle)]);
                }
                break;
        }
        return outcome;
    }

    /// <summary>No PUBACK (connection lost, timed out): readings are resent; fault copies are dropped, as one may be what closed the connection.</summary>
    public void SettleUnanswered(Publication publication)
    {
        _stats.OnTransportFailure(publication);
        var readings = BatchReadings(publication);
        foreach (var pending in publication.Messages)
        {
            _ledger.Record(pending.Message, PublishLedger.TransportFailure, readings);
            if (MessageKinds.ExpectedByPlatform(pending.Message.Fault))
            {
                Resend(pending);
            }
            else
            {
                _stats.OnDropped();
            }
        }
    }

    /// <summary>While the endpoint is unreachable: a new message goes to the disk spool, or is dropped (and the ledger says so) when it is full.</summary>
    public bool SpoolOrDrop(OutboundMessage message)
    {
        if (_spool.TryAppend(message))
        {
            _stats.OnSpooled(1);
            return true;
        }
        _ledger.Record(message, PublishLedger.SpoolFull);
        _stats.OnDropped();
        return false;
    }

    /// <summary>At a hard stop: whatever is unanswered or unsent stays on disk for the next run, and the ledger says so.</summary>
    public void SpoolLeftovers()
    {
        var leftovers = new List<OutboundMessage>();
        lock (_lock)
        {
            while (_halves.TryDequeue(out var half))
            {
                leftovers.AddRange(half.Select(pending => pending.Message));
            }
            while (_resend.TryDequeue(out var pending, out _))
            {
                leftovers.Add(pending.Message);
            }
        }
        while (_input.TryRead(out var message))
        {
            leftovers.Add(message);
        }
        foreach (var message in leftovers)
        {
            if (SpoolOrDrop(message))
            {
                _ledger.Record(message, PublishLedger.LeftInSpool);
            }
        }
    }

    public void Dispose() => _spool.Dispose();

    private int ResendCount
    {
        get
        {
            lock (_lock)
            {
                return _resend.Count;
            }
        }
    }

    private PendingMessage[]? TakeHalf()
    {
        lock (_lock)
        {
            return _halves.TryDequeue(out var half) ? half : null;
        }
    }

    private PendingMessage? TakeOne()
    {
        lock (_lock)
        {
            if (_resend.TryDequeue(out var pending, out _))
            {
                return pending;
            }
        }
        if (_spool.TryDequeue() is { } spooled)
        {
            _stats.OnSpooled(-1);
            return new PendingMessage(_nextOrdinal++, spooled);
        }
        return _input.TryRead(out var message) ? new PendingMessage(_nextOrdinal++, message) : null;
    }

    private void Resend(PendingMessage pending)
    {
        lock (_lock)
        {
            _resend.Enqueue(pending, pending.Ordinal);
        }
    }

    /// <summary>The ledger's <c>b</c>: readings in the batch that carried a message, 0 when it went alone.</summary>
    private static int BatchReadings(Publication publication) => publication.IsBatch ? publication.Messages.Count : 0;

    /// <summary>A half of a batch answered 0x99, published as it is (a batch of one at the end, whose answer is its reading's own).</summary>
    private Publication Compose(PendingMessage[] half)
    {
        foreach (var pending in half)
        {
            if (!_batch!.TryAdd(pending))
            {
                throw new InvalidOperationException("a half of a batch no longer fits a batch");
            }
        }
        return _batch!.Build()!;
    }
}
