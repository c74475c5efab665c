using HohhotCluster.Telemetry.Ingestion;

namespace HohhotCluster.Telemetry.Tests.Ingestion;

public sealed class AcknowledgementOrderTests
{
    [Fact]
    public async Task Batches_finishing_out_of_order_acknowledge_in_the_order_they_were_taken()
    {
        var order = new AcknowledgementOrder();
        var turns = Enumerable.Range(1, 4).Select(_ => order.Next()).ToArray();
        var sent = new List<int>();

        // Batches 4, 2 and 3 finish first; nothing is sent until batch 1 has sent its own.
        var waiting = new[] { 3, 1, 2 }.Select(i => turns[i].AcknowledgeAsync(_ => Record(sent, i + 1), CancellationToken.None)).ToArray();
        await Task.Delay(50);
        Assert.Empty(sent);

        await turns[0].AcknowledgeAsync(_ => Record(sent, 1), CancellationToken.None);
        await Task.WhenAll(waiting);
        Assert.Equal([1, 2, 3, 4], sent);
    }

    [Fact]
    public async Task A_skipped_turn_does_not_hold_the_next_one()
    {
        var order = new AcknowledgementOrder();
        var first = order.Next();
        var second = order.Next();
        var sent = new List<int>();

        first.Skip();
        await second.AcknowledgeAsync(_ => Record(sent, 2), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal([2], sent);
    }

    [Fact]
    public async Task A_failed_acknowledgement_still_lets_the_next_turn_go()
    {
        var order = new AcknowledgementOrder();
        var first = order.Next();
        var second = order.Next();
        var sent = new List<int>();

        await Assert.ThrowsAsync<InvalidOperationException>(() => first.AcknowledgeAsync(_ => throw new InvalidOperationException("socket closed"), CancellationToken.None));
        await second.AcknowledgeAsync(_ => Record(sent, 2), CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal([2], sent);
    }

    private static Task Record(List<int> sent, int batch)
    {
        lock (sent)
        {
            sent.Add(batch);
        }

        return Task.CompletedTask;
    }
}
