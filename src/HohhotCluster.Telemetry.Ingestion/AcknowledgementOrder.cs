namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// Lets batches send their acknowledgements in the order they were taken from the queue, whatever order they finish
/// processing in, without holding a worker back: each batch gets a turn that follows the turn before it.
/// </summary>
public sealed class AcknowledgementOrder
{
    private Task _last = Task.CompletedTask;

    /// <summary>The next turn; the caller takes turns in queue order (under the lock it takes the batch with).</summary>
    public AcknowledgementTurn Next()
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var previous = _last;
        _last = done.Task;
        return new AcknowledgementTurn(previous, done);
    }
}

/// <summary>One batch's place in the acknowledgement order.</summary>
public sealed class AcknowledgementTurn(Task previous, TaskCompletionSource done)
{
    /// <summary>Waits for the turn before this one, then acknowledges; the next turn may go once this one returns.</summary>
    public async Task AcknowledgeAsync(Func<CancellationToken, Task> acknowledge, CancellationToken cancellationToken)
    {
        try
        {
            await previous.WaitAsync(cancellationToken);
            await acknowledge(cancellationToken);
        }
        finally
        {
            done.TrySetResult();
        }
    }

    /// <summary>Gives the turn up without acknowledging (shutting down), so later turns are not held.</summary>
    public void Skip() => done.TrySetResult();
}
