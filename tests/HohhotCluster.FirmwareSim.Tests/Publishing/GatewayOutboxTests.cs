using System.Threading.Channels;
using HohhotCluster.FirmwareSim.Publishing;
using HohhotCluster.FirmwareSim.Verification;

namespace HohhotCluster.FirmwareSim.Tests.Publishing;

/// <summary>Which publishes a gateway makes of what it holds, and what each PUBACK code does to them and to the ledger.</summary>
public sealed class GatewayOutboxTests : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("hohhot-sim-outbox-");
    private readonly Channel<OutboundMessage> _input = Channel.CreateUnbounded<OutboundMessage>();
    private readonly RunStats _stats = new();
    private readonly PublishLedger _ledger;

    public GatewayOutboxTests() => _ledger = new PublishLedger(LedgerPath);

    private string LedgerPath => Path.Combine(_work.FullName, "ledger.jsonl");

    public void Dispose()
    {
        _ledger.Dispose();
        _work.Delete(recursive: true);
    }

    private GatewayOutbox Outbox(int batchReadings = 200) =>
        new(new DiskSpool(Path.Combine(_work.FullName, "gw.spool"), 1 << 24), _input.Reader, batchReadings, _ledger, _stats);

    private List<OutboundMessage> Enqueue(int count)
    {
        var messages = PublishingSamples.OfOneGateway(count);
        foreach (var message in messages)
        {
            Assert.True(_input.Writer.TryWrite(message));
        }
        return messages;
    }

    private Publication Send(GatewayOutbox outbox)
    {
        var publication = outbox.TakeNext();
        Assert.NotNull(publication);
        _stats.OnSent(publication);
        return publication;
    }

    private LedgerSummary Summary()
    {
        _ledger.Flush();
        return LedgerSummary.Read(LedgerPath);
    }

    private static List<(string, long)> Keys(Publication publication) => [.. publication.Messages.Select(m => (m.Message.DeviceId, m.Message.Seq))];

    [Fact]
    public void A_backlog_goes_out_in_batches_and_a_lone_message_alone()
    {
        using var outbox = Outbox(batchReadings: 25);
        var messages = Enqueue(60);

        var sizes = new List<int>();
        while (outbox.TakeNext() is { } publication)
        {
            sizes.Add(publication.Messages.Count);
            Assert.Equal(publication.Messages.Count > 1, publication.IsBatch);
        }
        Assert.Equal([25, 25, 10], sizes);

        Enqueue(1);
        var single = outbox.TakeNext()!;
        Assert.False(single.IsBatch);
        Assert.Equal(messages[0].Topic, single.Topic);
    }

    [Fact]
    public void Batch_size_one_sends_every_message_alone_even_with_a_backlog()
    {
        using var outbox = Outbox(batchReadings: 1);
        var messages = Enqueue(5);
        for (var i = 0; i < messages.Count; i++)
        {
            var publication = outbox.TakeNext()!;
            Assert.False(publication.IsBatch);
            Assert.Same(messages[i], publication.Messages[0].Message);
        }
        Assert.Null(outbox.TakeNext());
    }

    [Fact]
    public void A_rate_limited_batch_is_requeued_whole_and_resent_and_nothing_of_it_counts_as_delivered()
    {
        using var outbox = Outbox();
        Enqueue(30);
        var first = Send(outbox);
        Assert.Equal(30, first.Messages.Count);

        Assert.Equal(PubackOutcome.RateLimited, outbox.Settle(first, PubackCodes.QuotaExceeded));

        Assert.False(outbox.NothingPending);
        Assert.Equal((0L, 0L, 0L, 30L, 0L), (_stats.Acked, _stats.Quarantined, _stats.Refused, _stats.RateLimited, _stats.Inflight));
        var rateLimited = Summary();
        Assert.All(rateLimited.Keys.Values, k => Assert.Equal((KeyFate.NeverAcknowledged, 1), (k.Fate, k.RateLimitedPubacks)));

        var again = Send(outbox);
        Assert.True(again.IsBatch);
        Assert.Equal(Keys(first), Keys(again));
        Assert.Equal(first.Payload, again.Payload);
        Assert.Equal(PubackOutcome.Counted, outbox.Settle(again, 0x00));

        Assert.True(outbox.NothingPending);
        Assert.Null(outbox.TakeNext());
        Assert.Equal(30L, _stats.Acked);
        var summary = Summary();
        Assert.Equal(30, summary.Keys.Count);
        Assert.All(summary.Keys.Values, k => Assert.Equal((KeyFate.Counted, 1, 1, 2), (k.Fate, k.SuccessfulPubacks, k.RateLimitedPubacks, k.Attempts)));
    }

    [Fact]
    public void Rate_limited_messages_go_before_the_rest_of_the_backlog()
    {
        using var outbox = Outbox(batchReadings: 10);
        var messages = Enqueue(25);
        var first = Send(outbox);
        var second = Send(outbox);
        outbox.Settle(second, PubackCodes.MessageRateTooHigh);
        outbox.Settle(first, PubackCodes.MessageRateTooHigh);

        var resent = Send(outbox);
        Assert.Equal([.. messages.Take(10).Select(m => (m.DeviceId, m.Seq))], Keys(resent));
    }

    [Fact]
    public void A_batch_answered_0x99_is_halved_until_each_quarantined_reading_has_its_own_answer()
    {
        using var outbox = Outbox();
        var messages = Enqueue(8);
        var poisoned = messages[5];
        // The platform's answer: 0x99 for any publish carrying the poisoned reading, success otherwise.
        int Answer(Publication publication) => publication.Messages.Any(m => ReferenceEquals(m.Message, poisoned)) ? PubackCodes.PayloadFormatInvalid : 0x00;

        var publishes = new List<int>();
        while (outbox.TakeNext() is { } publication)
        {
            _stats.OnSent(publication);
            publishes.Add(publication.Messages.Count);
            outbox.Settle(publication, Answer(publication));
        }

        Assert.Equal([8, 4, 4, 2, 2, 1, 1], publishes);
        Assert.Equal(7, _stats.Batches); // the last two are batches of one: a resend keeps its reading's form
        Assert.True(outbox.NothingPending);
        Assert.Equal((7L, 1L, 0L), (_stats.Acked, _stats.Quarantined, _stats.Inflight));
        var summary = Summary();
        Assert.Equal(KeyFate.Quarantined, summary.Keys[new MessageKey(poisoned.DeviceId, poisoned.BootEpoch, poisoned.Seq)].Fate);
        Assert.Equal(7, summary.Keys.Values.Count(k => k.Fate == KeyFate.Counted));
    }

    [Fact]
    public void A_resend_keeps_the_form_the_reading_was_first_sent_in()
    {
        using var outbox = Outbox();
        var alone = Enqueue(1)[0];
        var sentAlone = Send(outbox);
        Assert.False(sentAlone.IsBatch);
        outbox.SettleUnanswered(sentAlone);
        var batched = Enqueue(3);
        // A backlog now, yet the reading first sent alone goes alone again: the platform holds its body as it was.
        var resentAlone = Send(outbox);
        Assert.False(resentAlone.IsBatch);
        Assert.Same(alone, resentAlone.Messages[0].Message);

        var batch = Send(outbox);
        Assert.True(batch.IsBatch);
        Assert.Equal(3, batch.Messages.Count);
        outbox.Settle(batch, PubackCodes.MessageRateTooHigh);
        outbox.Settle(resentAlone, 0x00);
        var resentBatch = Send(outbox);
        Assert.Equal(batch.Payload, resentBatch.Payload);

        Assert.True(resentBatch.IsBatch);
        Assert.Equal(BatchPayloadBuilder.BatchTopicOf(batched[0]), resentBatch.Topic);
    }

    [Fact]
    public void Without_a_PUBACK_readings_are_resent_and_fault_copies_dropped()
    {
        using var outbox = Outbox();
        var reading = Enqueue(1)[0];
        var copy = PublishingSamples.Copy(reading, fault: FaultTag.Malformed, payload: reading.Payload[..^3]);
        Assert.True(_input.Writer.TryWrite(copy));

        var first = Send(outbox);
        var second = Send(outbox);
        Assert.False(first.IsBatch);
        Assert.False(second.IsBatch);
        outbox.SettleUnanswered(first);
        outbox.SettleUnanswered(second);

        Assert.Equal((2L, 1L), (_stats.TransportFailures, _stats.Dropped));
        var resent = Send(outbox);
        Assert.Same(reading, resent.Messages[0].Message);
        Assert.Null(outbox.TakeNext());
    }

    [Fact]
    public void A_fault_copy_in_a_backlog_travels_alone_between_batches()
    {
        using var outbox = Outbox();
        var readings = PublishingSamples.OfOneGateway(6);
        var copy = PublishingSamples.Copy(readings[2], fault: FaultTag.Oversized);
        foreach (var message in readings.Take(3).Append(copy).Concat(readings.Skip(3)))
        {
            Assert.True(_input.Writer.TryWrite(message));
        }

        var publications = new List<Publication>();
        while (outbox.TakeNext() is { } publication)
        {
            publications.Add(publication);
        }

        Assert.Equal([3, 1, 3], publications.Select(p => p.Messages.Count));
        Assert.Same(copy, publications[1].Messages[0].Message);
        Assert.Equal(copy.Topic, publications[1].Topic);
    }

    [Fact]
    public void Refused_and_quarantined_single_messages_are_settled_and_not_resent()
    {
        using var outbox = Outbox();
        Enqueue(1);
        Assert.Equal(PubackOutcome.Refused, outbox.Settle(Send(outbox), PubackCodes.NotAuthorized));
        Enqueue(1);
        Assert.Equal(PubackOutcome.Quarantined, outbox.Settle(Send(outbox), PubackCodes.PayloadFormatInvalid));
        Assert.Null(outbox.TakeNext());
        Assert.True(outbox.NothingPending);
        Assert.Equal((1L, 1L, 0L), (_stats.Refused, _stats.Quarantined, _stats.Inflight));
    }

    [Fact]
    public void At_a_hard_stop_what_waits_stays_in_the_spool_for_the_next_run()
    {
        Enqueue(12);
        using (var outbox = Outbox())
        {
            var publication = Send(outbox);
            outbox.Settle(publication, PubackCodes.MessageRateTooHigh);
            outbox.SpoolLeftovers();
            Assert.Equal(12, outbox.Spooled);
        }
        Assert.Equal(12, Summary().Keys.Count);
        using var next = Outbox();
        Assert.Equal(12, next.TakeNext()!.Messages.Count);
    }
}
