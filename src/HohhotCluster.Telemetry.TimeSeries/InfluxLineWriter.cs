using System.Buffers;
using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Threading.Channels;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.TimeSeries;

/// <summary>InfluxDB refused these lines as invalid (HTTP 400); retrying cannot help.</summary>
public sealed class PointRejectedException(string message) : Exception(message);

/// <summary>
/// Writes line protocol to InfluxDB's v1 <c>/write</c> endpoint (precision ns), the API that InfluxDB 1.x, 2.x and 3.x all serve.
/// Callers hand in a chunk of lines and await the write that contains it: the chunk's task completes only after
/// InfluxDB answered 204 for it. Chunks are coalesced into batches of up to <see cref="InfluxOptions.MaxBatchPoints"/>;
/// the queue in front is bounded (producers wait); failed writes are retried with backoff until they succeed, and
/// a chunk that InfluxDB rejects as invalid fails with <see cref="PointRejectedException"/>. Nothing is dropped.
/// </summary>
public sealed partial class InfluxLineWriter : BackgroundService
{
    private readonly Channel<PendingChunk> _queue;
    private readonly HttpClient _http;
    private readonly InfluxOptions _options;
    private readonly ILogger<InfluxLineWriter> _logger;
    private readonly Uri _writeUri;
    private readonly ArrayBufferWriter<byte> _body = new(1 << 20);
    private readonly Counter<long> _pointsWritten;
    private readonly Counter<long> _writeFailures;
    private readonly Counter<long> _pointsRejected;
    private readonly Counter<long> _pointsQueued;
    private readonly Counter<long> _pointsRetried;

    public InfluxLineWriter(IOptions<InfluxOptions> options, IMeterFactory meterFactory, ILogger<InfluxLineWriter> logger)
    {
        _options = options.Value;
        _logger = logger;
        _queue = Channel.CreateBounded<PendingChunk>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            Timeout = _options.RequestTimeout,
        };
        _writeUri = new Uri(new Uri(_options.Url.TrimEnd('/') + "/"),
            "write?db=" + Uri.EscapeDataString(_options.Database) + "&precision=ns");
        var meter = meterFactory.Create("HohhotCluster.Telemetry.TimeSeries");
        _pointsWritten = meter.CreateCounter<long>("hohhot.influx.points.written", "{point}");
        _writeFailures = meter.CreateCounter<long>("hohhot.influx.write.failures", "{request}");
        _pointsRejected = meter.CreateCounter<long>("hohhot.influx.points.rejected", "{point}");
        _pointsQueued = meter.CreateCounter<long>("hohhot.influx.points.queued", "{point}", "Points handed to the writer");
        _pointsRetried = meter.CreateCounter<long>("hohhot.influx.points.retried", "{point}", "Points of failed writes, sent again after a backoff");
        meter.CreateObservableGauge("hohhot.influx.queue.chunks", () => _queue.Reader.Count, "{chunk}");
    }

    /// <summary>Consecutive failed writes; zero when InfluxDB is healthy.</summary>
    public int ConsecutiveFailures => Volatile.Read(ref _consecutiveFailures);

    public string? LastError { get; private set; }

    private int _consecutiveFailures;

    /// <summary>Queues the lines (one or more points, newline separated) and completes when InfluxDB has stored them.</summary>
    public async Task WriteAsync(ReadOnlyMemory<byte> lines, int pointCount, CancellationToken cancellationToken = default)
    {
        if (pointCount == 0)
        {
            return;
        }

        var chunk = new PendingChunk(lines, pointCount);
        await _queue.Writer.WriteAsync(chunk, cancellationToken);
        _pointsQueued.Add(pointCount);
        await chunk.Done.Task.WaitAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var batch = new List<PendingChunk>();
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                batch.Clear();
                var points = 0;
                var deadline = DateTime.UtcNow + _options.FlushInterval;
                while (points < _options.MaxBatchPoints)
                {
                    if (_queue.Reader.TryRead(out var chunk))
                    {
                        batch.Add(chunk);
                        points += chunk.Points;
                        continue;
                    }

                    var wait = deadline - DateTime.UtcNow;
                    if (wait <= TimeSpan.Zero)
                    {
                        break;
                    }

                    using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                    timeout.CancelAfter(wait);
                    try
                    {
                        if (!await _queue.Reader.WaitToReadAsync(timeout.Token))
                        {
                            break;
                        }
                    }
                    catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
                    {
                        break;
                    }
                }

                await WriteBatchAsync(batch, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down: whatever was not written is failed so its messages stay unacknowledged and come back.
            foreach (var chunk in batch)
            {
                chunk.Done.TrySetCanceled(stoppingToken);
            }

            while (_queue.Reader.TryRead(out var chunk))
            {
                chunk.Done.TrySetCanceled(stoppingToken);
            }
        }
    }

    private async Task WriteBatchAsync(List<PendingChunk> batch, CancellationToken stoppingToken)
    {
        var outcome = await SendWithRetryAsync(batch, stoppingToken);
        if (outcome.Success)
        {
            foreach (var chunk in batch)
            {
                chunk.Done.TrySetResult();
            }

            return;
        }

        // HTTP 400: at least one line is invalid. InfluxDB may have stored the good ones; find the bad chunk(s) by
        // writing each chunk alone (rewriting a stored point is idempotent).
        if (batch.Count == 1)
        {
            _pointsRejected.Add(batch[0].Points);
            LogRejected(batch[0].Points, outcome.Error);
            batch[0].Done.TrySetException(new PointRejectedException(outcome.Error));
            return;
        }

        var single = new List<PendingChunk>(1);
        foreach (var chunk in batch)
        {
            single.Clear();
            single.Add(chunk);
            await WriteBatchAsync(single, stoppingToken);
        }
    }

    private async Task<(bool Success, string Error)> SendWithRetryAsync(List<PendingChunk> batch, CancellationToken stoppingToken)
    {
        _body.Clear();
        var points = 0;
        foreach (var chunk in batch)
        {
            if (_body.WrittenCount > 0)
            {
                _body.GetSpan(1)[0] = (byte)'\n';
                _body.Advance(1);
            }

            _body.Write(chunk.Lines.Span);
            points += chunk.Points;
        }

        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            string error;
            try
            {
                using var content = new ReadOnlyMemoryContent(_body.WrittenMemory);
                content.Headers.ContentType = new MediaTypeHeaderValue("text/plain") { CharSet = "utf-8" };
                using var response = await _http.PostAsync(_writeUri, content, stoppingToken);
                if (response.IsSuccessStatusCode)
                {
                    _pointsWritten.Add(points);
                    if (Interlocked.Exchange(ref _consecutiveFailures, 0) > 0)
                    {
                        LogRecovered(points);
                    }

                    LastError = null;
                    return (true, "");
                }

                var text = await response.Content.ReadAsStringAsync(stoppingToken);
                error = $"HTTP {(int)response.StatusCode}: {Truncate(text)}";
                if (response.StatusCode == HttpStatusCode.BadRequest)
                {
                    return (false, error);
                }
            }
            catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException && !stoppingToken.IsCancellationRequested)
            {
                error = exception.Message;
            }

            _writeFailures.Add(1);
            _pointsRetried.Add(points);
            LastError = error;
            var failures = Interlocked.Increment(ref _consecutiveFailures);
            LogRetrying(points, failures, delay, error);
            await Task.Delay(delay, stoppingToken);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
        }
    }

    private static string Truncate(string text) => text.Length <= 300 ? text : text[..300];

    public override void Dispose()
    {
        _http.Dispose();
        base.Dispose();
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "InfluxDB write of {Points} points failed ({Failures} in a row), retrying in {Delay}: {Error}")]
    private partial void LogRetrying(int points, int failures, TimeSpan delay, string error);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "InfluxDB writes recovered ({Points} points written)")]
    private partial void LogRecovered(int points);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Error, Message = "InfluxDB rejected {Points} points as invalid: {Error}")]
    private partial void LogRejected(int points, string error);

    private sealed class PendingChunk(ReadOnlyMemory<byte> lines, int points)
    {
        public ReadOnlyMemory<byte> Lines { get; } = lines;
        public int Points { get; } = points;
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
