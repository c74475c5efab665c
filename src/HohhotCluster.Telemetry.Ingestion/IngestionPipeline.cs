using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// From received reading to its durable outcome, as a thin orchestrator of the stages (Pipeline/Stages.cs): readings
/// are queued and taken in batches by <see cref="IngestionOptions.ConcurrentBatches"/> workers; each batch goes
/// through <see cref="BatchRetry"/> (retry while a store is away, split to find a poison reading) around the
/// <see cref="IBatchProcessor"/> (validate and resolve, gates, body digests, apply, quarantine, observe, points), and
/// only then <see cref="AcknowledgeStage"/> completes each reading's <see cref="IncomingMessage.Delivered"/>, which
/// the MQTT endpoint turns into the PUBACK.
/// </summary>
public sealed class IngestionPipeline : BackgroundService
{
    private readonly Channel<IncomingMessage> _queue;
    private readonly BatchRetry _retry;
    private readonly AcknowledgeStage _acknowledge;
    private readonly IngestionMetrics _metrics;
    private readonly IngestionOptions _options;

    public IngestionPipeline(IOptions<IngestionOptions> options, BatchRetry retry, AcknowledgeStage acknowledge, IngestionMetrics metrics)
    {
        _options = options.Value;
        _retry = retry;
        _acknowledge = acknowledge;
        _metrics = metrics;
        _queue = Channel.CreateBounded<IncomingMessage>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
        });
        metrics.ObserveQueueDepth(() => _queue.Reader.Count);
    }

    private long _unfinished;
    private int[] _batchInProgress = [];

    /// <summary>
    /// The store failure the pipeline is waiting out right now (PostgreSQL refusing writes, e.g. its disk full, while
    /// it still answers a <c>select 1</c>), or null once a batch went through again: the health checks report it.
    /// </summary>
    public StoreFailure? CurrentStoreFailure => _retry.CurrentStoreFailure;

    /// <summary>Readings handed in whose outcome is not yet durable.</summary>
    public long InFlight => Interlocked.Read(ref _unfinished);

    /// <summary>The size of the largest batch a worker is processing right now (0: all wait for readings).</summary>
    public int LargestBatchInProgress
    {
        get
        {
            var sizes = _batchInProgress;
            var largest = 0;
            for (var i = 0; i < sizes.Length; i++)
            {
                largest = Math.Max(largest, Volatile.Read(ref sizes[i]));
            }

            return largest;
        }
    }

    /// <summary>Hands a reading in; waits while the queue is full (back-pressure to the endpoint's connections).</summary>
    public ValueTask EnqueueAsync(IncomingMessage message, CancellationToken cancellationToken)
    {
        _metrics.RecordReceived();
        Interlocked.Increment(ref _unfinished);
        return _queue.Writer.WriteAsync(message, cancellationToken);
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var workers = new Task[_options.ConcurrentBatches];
        _batchInProgress = new int[workers.Length];
        for (var i = 0; i < workers.Length; i++)
        {
            var slot = i;
            workers[i] = Task.Run(() => RunWorkerAsync(slot, stoppingToken), stoppingToken);
        }

        return Task.WhenAll(workers);
    }

    private async Task RunWorkerAsync(int slot, CancellationToken stoppingToken)
    {
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                var batch = new List<IncomingMessage>(Math.Min(_options.MaxBatchMessages, _queue.Reader.Count));
                while (batch.Count < _options.MaxBatchMessages && _queue.Reader.TryRead(out var message))
                {
                    batch.Add(message);
                }

                if (batch.Count == 0)
                {
                    continue;
                }

                Volatile.Write(ref _batchInProgress[slot], batch.Count);
                var started = System.Diagnostics.Stopwatch.GetTimestamp();
                try
                {
                    _acknowledge.Run(batch, await _retry.ProcessAsync(batch, stoppingToken));
                    _metrics.RecordBatch(batch.Count, System.Diagnostics.Stopwatch.GetElapsedTime(started));
                }
                finally
                {
                    Volatile.Write(ref _batchInProgress[slot], 0);
                    Interlocked.Add(ref _unfinished, -batch.Count);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // What was not completed got no PUBACK: its devices resend it, and the keys are recognised.
        }
    }
}
