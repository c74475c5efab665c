using System.Threading.Channels;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.TimeSeries;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>A message as received from the broker, with the way to acknowledge it.</summary>
public sealed class IncomingMessage(string topic, byte[] payload, Func<CancellationToken, Task> acknowledge)
{
    public string Topic { get; } = topic;
    public byte[] Payload { get; } = payload;
    public Func<CancellationToken, Task> Acknowledge { get; } = acknowledge;

    /// <summary>The rate limiter's verdict, taken once so that a retried batch does not spend the device's tokens again.</summary>
    internal bool? Admitted { get; set; }

    /// <summary>The key read from the payload, once it parsed: the quarantine keeps it, so that a redelivery adds no row.</summary>
    internal ReadingKey? Key { get; set; }

    /// <summary>Set once the message's quarantine row is written, so that a retried batch does not write it again.</summary>
    internal bool Quarantined { get; set; }
}

/// <summary>
/// From received message to acknowledgement. Messages are taken in batches; for each batch:
/// validate, check against the registry, quarantine what fails (durably, with the reason), apply the rest in one
/// call per owning grain (each grain persists once per batch), report the grains' totals to their rollups, write
/// every accepted reading's point to InfluxDB, and only then acknowledge the batch's messages, after those of the
/// batch taken before it. A failure in any of those steps (PostgreSQL or InfluxDB away) retries the step with
/// backoff and acknowledges nothing meanwhile; the bounded queue and the broker's receive maximum hold the rest
/// back. Duplicates are recognised by the grains and their points rewritten idempotently.
/// </summary>
public sealed partial class IngestionPipeline : BackgroundService
{
    private readonly Channel<IncomingMessage> _queue;
    private readonly TelemetryPayloadParser _parser;
    private readonly DeviceRateLimiter _rateLimiter;
    private readonly DeviceDirectory _directory;
    private readonly QuarantineStore _quarantine;
    private readonly IGrainFactory _grains;
    private readonly InfluxLineWriter _influx;
    private readonly IngestionMetrics _metrics;
    private readonly IngestionOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger<IngestionPipeline> _logger;
    private readonly IAcceptedReadingObserver[] _observers;
    private readonly IAcceptedReadingGate[] _gates;

    public IngestionPipeline(
        IOptions<IngestionOptions> options,
        DeviceDirectory directory,
        QuarantineStore quarantine,
        IGrainFactory grains,
        InfluxLineWriter influx,
        IngestionMetrics metrics,
        TimeProvider clock,
        ILogger<IngestionPipeline> logger,
        IEnumerable<IRecordKindHandler> extensionKinds,
        IEnumerable<IAcceptedReadingObserver> observers,
        IEnumerable<IAcceptedReadingGate> gates)
    {
        _options = options.Value;
        var kinds = new Dictionary<string, IRecordKindHandler>(StringComparer.Ordinal);
        foreach (var kind in extensionKinds)
        {
            if (!kinds.TryAdd(TelemetryTopic.ExtensionKey(kind.Kind, kind.Owner), kind) || kind.Kind is "milking" or "bulk_tank" or "plant_intake")
            {
                throw new InvalidOperationException($"Telemetry kind '{kind.Kind}' for {kind.Owner} is registered twice.");
            }
        }

        _observers = [.. observers];
        _gates = [.. gates];
        _parser = new TelemetryPayloadParser(clock, _options, kinds);
        _rateLimiter = new DeviceRateLimiter(clock, _options);
        _directory = directory;
        _quarantine = quarantine;
        _grains = grains;
        _influx = influx;
        _metrics = metrics;
        _clock = clock;
        _logger = logger;
        _queue = Channel.CreateBounded<IncomingMessage>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
        });
    }

    private long _unfinished;
    private int[] _batchInProgress = [];

    /// <summary>Messages handed in and not yet through their batch (acknowledged, or the acknowledgement failed).</summary>
    public long Unacknowledged => Interlocked.Read(ref _unfinished);

    /// <summary>The size of the largest batch a worker is processing right now (0: all wait for messages).</summary>
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

    /// <summary>Hands a message in; waits while the queue is full (back-pressure to the broker).</summary>
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

    private readonly Lock _take = new();
    private readonly AcknowledgementOrder _acknowledgementOrder = new();

    private async Task RunWorkerAsync(int slot, CancellationToken stoppingToken)
    {
        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                var batch = new List<IncomingMessage>(Math.Min(_options.MaxBatchMessages, _queue.Reader.Count));
                AcknowledgementTurn? turn = null;
                lock (_take)
                {
                    // One worker takes at a time, so a batch is a run of the queue as delivered, and each batch
                    // acknowledges after the one taken before it: PUBACKs leave in delivery order. Mosquitto looks an
                    // acknowledged message up from the oldest in flight, so out-of-order PUBACKs from concurrent
                    // batches cost it a walk past every message of the batches still in progress.
                    while (batch.Count < _options.MaxBatchMessages && _queue.Reader.TryRead(out var message))
                    {
                        batch.Add(message);
                    }

                    if (batch.Count > 0)
                    {
                        turn = _acknowledgementOrder.Next();
                    }
                }

                if (turn is null)
                {
                    continue;
                }

                Volatile.Write(ref _batchInProgress[slot], batch.Count);
                try
                {
                    await ProcessWithRetryAsync(batch, stoppingToken);
                }
                catch
                {
                    turn.Skip();
                    throw;
                }
                finally
                {
                    Volatile.Write(ref _batchInProgress[slot], 0);
                }

                // The worker goes on to the next batch; this one's PUBACKs wait for the batch before it.
                _ = AcknowledgeInOrderAsync(batch, turn, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Unacknowledged messages stay with the broker and come back on the next connection.
        }
    }

    private async Task AcknowledgeInOrderAsync(List<IncomingMessage> batch, AcknowledgementTurn turn, CancellationToken cancellationToken)
    {
        try
        {
            await turn.AcknowledgeAsync(ct => AcknowledgeAsync(batch, ct), cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down: the broker redelivers what was not acknowledged.
        }
        finally
        {
            Interlocked.Add(ref _unfinished, -batch.Count);
        }
    }

    private async Task ProcessWithRetryAsync(List<IncomingMessage> batch, CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                await ProcessBatchAsync(batch, stoppingToken);
                return;
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                _metrics.RecordBatchRetry();
                LogBatchFailed(batch.Count, delay, exception);
                await Task.Delay(delay, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    /// <summary>
    /// Processes one batch up to its acknowledgement: after it returns, every message of the batch is durably stored,
    /// in the quarantine, or recognised as a duplicate.
    /// </summary>
    private async Task ProcessBatchAsync(IReadOnlyList<IncomingMessage> batch, CancellationToken cancellationToken)
    {
        var milkings = new Dictionary<string, List<MilkingReading>>(StringComparer.Ordinal);
        var bulkTank = new Dictionary<string, List<BulkTankReading>>(StringComparer.Ordinal);
        var intakes = new Dictionary<string, List<PlantIntakeReading>>(StringComparer.Ordinal);
        var rejections = new List<(int Index, Rejection Rejection)>();
        var accepted = new List<(int Index, object Reading)>(batch.Count);
        var records = new Dictionary<IRecordKindHandler, List<AcceptedRecord>>();

        for (var i = 0; i < batch.Count; i++)
        {
            var message = batch[i];
            if (!_parser.TryParse(message.Topic, message.Payload, out var parsed, out var rejection))
            {
                // Keyed when its envelope reads, so a resent invalid message adds no second quarantine row.
                message.Key ??= TelemetryPayloadParser.ReadKey(message.Payload);
                rejections.Add((i, rejection));
                continue;
            }

            message.Key = parsed!.Key;
            message.Admitted ??= _rateLimiter.Admits(parsed.Key);
            if (message.Admitted == false)
            {
                rejections.Add((i, new Rejection(QuarantineReasons.RateLimited,
                    $"device sent more than {_options.DeviceMessagesPerSecond} messages/s beyond a burst of {_options.DeviceBurst}")));
                continue;
            }

            var outcome = await ResolveAsync(parsed!, message.Topic, cancellationToken);
            if (outcome is Rejection r)
            {
                rejections.Add((i, r));
            }
            else
            {
                accepted.Add((i, outcome));
            }
        }

        await GateAsync(accepted, rejections, cancellationToken);
        foreach (var (_, reading) in accepted)
        {
            switch (reading)
            {
                case MilkingReading m:
                    Group(milkings, m.HerdId, m);
                    break;
                case BulkTankReading b:
                    Group(bulkTank, b.PastureId, b);
                    break;
                case PlantIntakeReading p:
                    Group(intakes, p.PlantId, p);
                    break;
                case (IRecordKindHandler handler, AcceptedRecord record):
                    Group(records, handler, record);
                    break;
            }
        }

        await QuarantineAsync(batch, rejections, cancellationToken);

        await ApplyAsync(milkings, bulkTank, intakes, records, cancellationToken);
        if (_observers.Length > 0 && accepted.Count > 0)
        {
            var readings = new List<object>(accepted.Count);
            foreach (var (_, reading) in accepted)
            {
                if (reading is not ValueTuple<IRecordKindHandler, AcceptedRecord>)
                {
                    readings.Add(reading);
                }
            }

            foreach (var observer in _observers)
            {
                await observer.OnAcceptedAsync(readings, cancellationToken);
            }
        }

        if (accepted.Count > 0)
        {
            await WritePointsAsync(batch, accepted, cancellationToken);
        }
    }

    /// <summary>Moves the accepted core readings a gate refuses (e.g. a lot another owner holds) to the rejections.</summary>
    private async Task GateAsync(List<(int Index, object Reading)> accepted, List<(int Index, Rejection Rejection)> rejections, CancellationToken cancellationToken)
    {
        if (_gates.Length == 0 || accepted.Count == 0)
        {
            return;
        }

        var core = new List<object>(accepted.Count);
        var positions = new List<int>(accepted.Count);
        for (var i = 0; i < accepted.Count; i++)
        {
            if (accepted[i].Reading is MilkingReading or BulkTankReading or PlantIntakeReading)
            {
                core.Add(accepted[i].Reading);
                positions.Add(i);
            }
        }

        var refused = new SortedSet<int>();
        foreach (var gate in _gates)
        {
            foreach (var (index, rejection) in await gate.CheckAsync(core, cancellationToken))
            {
                if (refused.Add(positions[index]))
                {
                    rejections.Add((accepted[positions[index]].Index, rejection));
                }
            }
        }

        foreach (var position in refused.Reverse())
        {
            accepted.RemoveAt(position);
        }
    }

    private async Task AcknowledgeAsync(List<IncomingMessage> batch, CancellationToken cancellationToken)
    {
        var acknowledged = 0;
        foreach (var message in batch)
        {
            try
            {
                await message.Acknowledge(cancellationToken);
                acknowledged++;
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                // The connection dropped: the broker redelivers and the grains recognise the keys.
                LogAckFailed(exception.Message);
            }
        }

        _metrics.RecordAcknowledged(acknowledged);
    }

    private async ValueTask<object> ResolveAsync(ParsedReading parsed, string rawTopic, CancellationToken cancellationToken)
    {
        var topic = parsed.Topic;
        var device = await _directory.FindDeviceAsync(topic.DeviceId, cancellationToken);
        if (device is null)
        {
            return new Rejection(QuarantineReasons.UnknownDevice, $"device '{topic.DeviceId}' is not registered");
        }

        var topicOwnerKind = topic.OwnerKind == OwnerKind.Pasture ? "pasture" : "plant";
        if (device.OwnerKind != topicOwnerKind || device.OwnerId != topic.OwnerId)
        {
            return new Rejection(QuarantineReasons.TopicOwnerMismatch,
                $"device '{topic.DeviceId}' belongs to {device.OwnerKind} '{device.OwnerId}', not {topicOwnerKind} '{topic.OwnerId}'");
        }

        if (parsed.Extension is { } extension)
        {
            var record = new AcceptedRecord(parsed.Key, parsed.EventTime, device, rawTopic, extension.Record);
            var rejection = await extension.Handler.CheckAsync(record, cancellationToken);
            return rejection is { } r ? r : (extension.Handler, record);
        }

        if (parsed.Milking is { } m)
        {
            var herd = await _directory.FindHerdAsync(m.HerdId, cancellationToken);
            if (herd is null || herd.PastureId != device.OwnerId)
            {
                return new Rejection(QuarantineReasons.UnknownHerd, $"herd '{m.HerdId}' is not registered on pasture '{device.OwnerId}'");
            }

            return new MilkingReading
            {
                Key = parsed.Key,
                EventTime = parsed.EventTime,
                CountyId = device.CountyId,
                PastureId = device.OwnerId,
                HerdId = m.HerdId,
                AnimalId = m.AnimalId,
                YieldKg = m.YieldKg,
                DurationSeconds = m.DurationSeconds,
                ConductivityMsPerCm = m.ConductivityMsPerCm,
                MilkTemperatureC = m.MilkTemperatureC,
                FatPercent = m.FatPercent,
                ProteinPercent = m.ProteinPercent,
                SomaticCellsThousandPerMl = m.SomaticCellsThousandPerMl,
            };
        }

        if (parsed.BulkTank is { } b)
        {
            return new BulkTankReading
            {
                Key = parsed.Key,
                EventTime = parsed.EventTime,
                CountyId = device.CountyId,
                PastureId = device.OwnerId,
                TankId = b.TankId,
                Kind = b.Kind,
                VolumeLitres = b.VolumeLitres,
                TemperatureC = b.TemperatureC,
                LotId = b.LotId,
                CollectedKg = b.CollectedKg,
                TankerLoadId = b.TankerLoadId,
            };
        }

        var p = parsed.PlantIntake!;
        return new PlantIntakeReading
        {
            Key = parsed.Key,
            EventTime = parsed.EventTime,
            CountyId = device.CountyId,
            PlantId = device.OwnerId,
            TankerLoadId = p.TankerLoadId,
            NetKg = p.NetKg,
            TemperatureC = p.TemperatureC,
            TankerPlate = p.TankerPlate,
            SiloId = p.SiloId,
        };
    }

    private async Task ApplyAsync(
        Dictionary<string, List<MilkingReading>> milkings,
        Dictionary<string, List<BulkTankReading>> bulkTank,
        Dictionary<string, List<PlantIntakeReading>> intakes,
        Dictionary<IRecordKindHandler, List<AcceptedRecord>> records,
        CancellationToken cancellationToken)
    {
        var grainCalls = new List<Task<ApplyResult>>(milkings.Count + bulkTank.Count + intakes.Count);
        foreach (var (herdId, items) in milkings)
        {
            grainCalls.Add(_grains.GetGrain<IHerdGrain>(herdId).ApplyMilkingsAsync([.. items]));
        }

        foreach (var (pastureId, items) in bulkTank)
        {
            grainCalls.Add(_grains.GetGrain<IPastureGrain>(pastureId).ApplyBulkTankAsync([.. items]));
        }

        foreach (var (plantId, items) in intakes)
        {
            grainCalls.Add(_grains.GetGrain<IPlantGrain>(plantId).ApplyIntakesAsync([.. items]));
        }

        var storeCalls = new List<Task<ApplyOutcome[]>>(records.Count);
        foreach (var (handler, items) in records)
        {
            storeCalls.Add(handler.StoreAsync(items, cancellationToken));
        }

        var results = await Task.WhenAll(grainCalls);
        var stored = await Task.WhenAll(storeCalls);
        await ReportToRollupsAsync(results);

        int applied = 0, duplicates = 0;
        foreach (var batchOutcomes in results.Select(r => r.Outcomes).Concat(stored))
        {
            foreach (var outcome in batchOutcomes)
            {
                if (outcome == ApplyOutcome.Applied)
                {
                    applied++;
                }
                else
                {
                    duplicates++;
                }
            }
        }

        _metrics.RecordApplied(applied);
        _metrics.RecordDuplicates(duplicates);
    }

    /// <summary>
    /// Reports the totals of every grain the batch touched to the rollups above them, one call per rollup. A failed
    /// report is logged and not retried: the totals are stored, and a rollup rebuilds itself from storage when it is
    /// next activated.
    /// </summary>
    private async Task ReportToRollupsAsync(ApplyResult[] results)
    {
        var byRollup = new Dictionary<string, List<MemberReport>>(StringComparer.Ordinal);
        foreach (var result in results)
        {
            if (result.Report is not { } report)
            {
                continue;
            }

            foreach (var rollupKey in report.RollupKeys)
            {
                Group(byRollup, rollupKey, report);
            }
        }

        await Task.WhenAll(byRollup.Select(async rollup =>
        {
            try
            {
                await _grains.GetGrain<IRollupGrain>(rollup.Key).ReportMembersAsync([.. rollup.Value]);
            }
            catch (Exception exception)
            {
                LogReportFailed(rollup.Key, rollup.Value.Count, exception);
            }
        }));
    }

    private async Task WritePointsAsync(
        IReadOnlyList<IncomingMessage> batch,
        List<(int Index, object Reading)> accepted,
        CancellationToken cancellationToken)
    {
        var writer = new LineProtocolWriter(256 * accepted.Count);
        foreach (var (_, reading) in accepted)
        {
            WritePoints(writer, reading);
        }

        try
        {
            await _influx.WriteAsync(writer.WrittenMemory, writer.PointCount, cancellationToken);
        }
        catch (PointRejectedException)
        {
            // InfluxDB refused the chunk (e.g. a field type conflict). Write point by point so that only the
            // refused readings are set aside, each in the quarantine with InfluxDB's reason.
            foreach (var (index, reading) in accepted)
            {
                writer.Clear();
                WritePoints(writer, reading);
                if (writer.PointCount == 0)
                {
                    continue;
                }

                try
                {
                    await _influx.WriteAsync(writer.WrittenMemory.ToArray(), 1, cancellationToken);
                }
                catch (PointRejectedException rejected)
                {
                    await QuarantineAsync(batch, [(index, new Rejection(QuarantineReasons.InfluxRejected, rejected.Message))], cancellationToken);
                }
            }
        }
    }

    private static void WritePoints(LineProtocolWriter writer, object reading)
    {
        if (reading is ValueTuple<IRecordKindHandler, AcceptedRecord> extension)
        {
            extension.Item1.WritePoints(writer, extension.Item2);
        }
        else
        {
            ReadingPointEncoder.Write(writer, reading);
        }
    }

    /// <summary>
    /// Keeps the rejected messages of a batch in the quarantine, in one statement, with their device and key when
    /// they parsed. A message whose row was written on an earlier try of the batch is skipped; one whose key is
    /// already quarantined for the same reason (a redelivery) adds no row and is counted as a duplicate.
    /// </summary>
    private async Task QuarantineAsync(
        IReadOnlyList<IncomingMessage> batch,
        List<(int Index, Rejection Rejection)> rejections,
        CancellationToken cancellationToken)
    {
        var pending = rejections.FindAll(r => !batch[r.Index].Quarantined);
        if (pending.Count == 0)
        {
            return;
        }

        var receivedAt = _clock.GetUtcNow();
        var rows = pending.ConvertAll(r =>
        {
            var message = batch[r.Index];
            return new QuarantinedMessage
            {
                ReceivedAt = receivedAt,
                Topic = message.Topic,
                Reason = r.Rejection.Reason,
                Detail = r.Rejection.Detail,
                DeviceId = message.Key?.DeviceId,
                BootEpoch = message.Key?.BootEpoch,
                Sequence = message.Key?.Sequence,
                Payload = message.Payload,
            };
        });
        var added = await _quarantine.AddAsync(rows, cancellationToken);
        var again = 0;
        for (var i = 0; i < pending.Count; i++)
        {
            var (index, rejection) = pending[i];
            var message = batch[index];
            message.Quarantined = true;
            if (added[i])
            {
                _metrics.RecordQuarantined(rejection.Reason);
                LogQuarantined(message.Topic, rejection.Reason, rejection.Detail);
            }
            else
            {
                again++;
            }
        }

        _metrics.RecordDuplicates(again);
    }

    private static void Group<TKey, T>(Dictionary<TKey, List<T>> groups, TKey key, T item)
        where TKey : notnull
    {
        if (!groups.TryGetValue(key, out var list))
        {
            list = [];
            groups[key] = list;
        }

        list.Add(item);
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Batch of {Count} messages failed; retrying in {Delay} without acknowledging")]
    private partial void LogBatchFailed(int count, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Quarantined a message on {Topic}: {Reason} ({Detail})")]
    private partial void LogQuarantined(string topic, string reason, string detail);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "Could not report {Members} members to rollup {Rollup}; it will catch up from storage")]
    private partial void LogReportFailed(string rollup, int members, Exception exception);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Debug, Message = "Acknowledgement not sent ({Error}); the broker will redeliver")]
    private partial void LogAckFailed(string error);
}
