using System.Threading.Channels;
using System.Security.Cryptography;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.TimeSeries;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// From received reading to its durable outcome. Readings are taken in batches; for each batch: validate, check
/// against the registry and the components' gates, claim each key's body digest (a resend with another body is a
/// conflict), quarantine what fails (durably, with the reason), apply the rest in one call per owning grain (each
/// grain persists once per batch), report the grains' totals to their rollups, write the points of what was applied
/// (or recognised as a duplicate of the same body), and only then complete each reading's
/// <see cref="IncomingMessage.Delivered"/>, which the MQTT endpoint turns into the PUBACK. A store being away is
/// retried with backoff for as long as it lasts, completing nothing; a batch failing for any other reason is split
/// until the reading that fails it is found and quarantined, so one poison message holds back nobody else.
/// </summary>
public sealed partial class IngestionPipeline : BackgroundService
{
    private readonly Channel<IncomingMessage> _queue;
    private readonly TelemetryPayloadParser _parser;
    private readonly DeviceDirectory _directory;
    private readonly QuarantineStore _quarantine;
    private readonly ReadingDigestStore _digests;
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
        ReadingDigestStore digests,
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
        _directory = directory;
        _quarantine = quarantine;
        _digests = digests;
        _grains = grains;
        _influx = influx;
        _metrics = metrics;
        _clock = clock;
        _logger = logger;
        _queue = Channel.CreateBounded<IncomingMessage>(new BoundedChannelOptions(_options.QueueCapacity)
        {
            FullMode = BoundedChannelFullMode.Wait,
        });
        metrics.ObserveQueueDepth(() => _queue.Reader.Count);
    }

    private long _unfinished;
    private int[] _batchInProgress = [];

    private StoreFailure? _storeFailure;

    /// <summary>
    /// The store failure the pipeline is waiting out right now (PostgreSQL refusing writes, e.g. its disk full, while
    /// it still answers a <c>select 1</c>), or null once a batch went through again: the health checks report it.
    /// </summary>
    public StoreFailure? CurrentStoreFailure => Volatile.Read(ref _storeFailure);

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
                    var verdicts = await ProcessWithRetryAsync(batch, stoppingToken);
                    for (var i = 0; i < batch.Count; i++)
                    {
                        batch[i].Complete(verdicts[i]);
                    }

                    _metrics.RecordAcknowledged(batch.Count);
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

    /// <summary>
    /// Processes a batch until every reading in it is durable. A store being away (<see cref="StoreOutage"/>) is
    /// retried with backoff as long as it lasts; any other failure, repeated, splits the batch in halves (each retried
    /// the same way), and a single reading that still fails is quarantined as <c>processing_failed</c>.
    /// </summary>
    private async Task<DeliveryVerdict[]> ProcessWithRetryAsync(IReadOnlyList<IncomingMessage> batch, CancellationToken stoppingToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        var failures = 0;
        while (true)
        {
            try
            {
                var verdicts = await ProcessBatchAsync(batch, stoppingToken);
                Volatile.Write(ref _storeFailure, null);
                return verdicts;
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                _metrics.RecordBatchRetry();
                if (StoreOutage.Is(exception))
                {
                    Volatile.Write(ref _storeFailure, new StoreFailure(StoreOutage.IsPostgres(exception), TextLimits.Shorten(exception.Message, 300)));
                }

                if (!StoreOutage.Is(exception) && ++failures >= _options.FailuresBeforeSplit)
                {
                    if (batch.Count == 1)
                    {
                        return [await QuarantineFailedAsync(batch[0], exception, stoppingToken)];
                    }

                    LogBatchSplit(batch.Count, exception);
                    _metrics.RecordBatchSplit();
                    var half = batch.Count / 2;
                    var first = await ProcessWithRetryAsync([.. batch.Take(half)], stoppingToken);
                    var second = await ProcessWithRetryAsync([.. batch.Skip(half)], stoppingToken);
                    return [.. first, .. second];
                }

                LogBatchFailed(batch.Count, delay, exception);
                await Task.Delay(delay, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    /// <summary>The reading that failed its batch alone: into the quarantine with the error (retried while a store is away).</summary>
    private async Task<DeliveryVerdict> QuarantineFailedAsync(IncomingMessage message, Exception exception, CancellationToken stoppingToken)
    {
        message.Key ??= TelemetryPayloadParser.ReadKey(message.Payload);
        var rejection = new Rejection(QuarantineReasons.ProcessingFailed, TextLimits.Shorten($"{exception.GetType().Name}: {exception.Message}", 500));
        var verdicts = new DeliveryVerdict[1];
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                await QuarantineAsync([message], [(0, rejection)], verdicts, stoppingToken);
                return verdicts[0];
            }
            catch (Exception failure) when (!stoppingToken.IsCancellationRequested)
            {
                LogBatchFailed(1, delay, failure);
                await Task.Delay(delay, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    /// <summary>
    /// Processes one batch up to its outcomes: after it returns, every reading of the batch is durably applied (its
    /// point stored), recognised as a duplicate of the same body, or in the quarantine.
    /// </summary>
    private async Task<DeliveryVerdict[]> ProcessBatchAsync(IReadOnlyList<IncomingMessage> batch, CancellationToken cancellationToken)
    {
        var verdicts = new DeliveryVerdict[batch.Count];
        var rejections = new List<(int Index, Rejection Rejection)>();
        var accepted = new List<(int Index, object Reading)>(batch.Count);
        for (var i = 0; i < batch.Count; i++)
        {
            var message = batch[i];
            if (message.Refusal is { } refusal)
            {
                message.Key ??= TelemetryPayloadParser.ReadKey(message.Payload);
                rejections.Add((i, refusal));
                continue;
            }

            if (!_parser.TryParse(message.Topic, message.Payload, out var parsed, out var rejection))
            {
                // Keyed when its envelope reads, so a resent invalid message adds no second quarantine row.
                message.Key ??= TelemetryPayloadParser.ReadKey(message.Payload);
                rejections.Add((i, rejection));
                continue;
            }

            message.Key = parsed!.Key;
            var outcome = await ResolveAsync(parsed, message.Topic, cancellationToken);
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
        await ClaimDigestsAsync(batch, accepted, rejections, cancellationToken);
        var outcomes = await ApplyAsync(accepted, cancellationToken);
        var stored = new List<(int Index, object Reading)>(accepted.Count);
        for (var p = 0; p < accepted.Count; p++)
        {
            var (index, reading) = accepted[p];
            switch (outcomes[p])
            {
                case ApplyOutcome.Applied:
                    verdicts[index] = DeliveryVerdict.Applied;
                    stored.Add(accepted[p]);
                    break;
                case ApplyOutcome.Duplicate:
                    // The same body as the applied one (its digest matched): its point is rewritten in place, so a
                    // crash between the grain's commit and the point's write is mended by the resend.
                    verdicts[index] = DeliveryVerdict.Duplicate;
                    stored.Add(accepted[p]);
                    break;
                default:
                    rejections.Add((index, new Rejection(QuarantineReasons.UnverifiableKey,
                        $"key ({batch[index].Key}) belongs to a boot epoch the platform no longer holds or to a closed hole of its sequence: whether it was counted cannot be told, so it is kept here and not counted")));
                    break;
            }
        }

        await QuarantineAsync(batch, rejections, verdicts, cancellationToken);
        if (_observers.Length > 0 && stored.Count > 0)
        {
            var readings = new List<object>(stored.Count);
            foreach (var (_, reading) in stored)
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

        if (stored.Count > 0)
        {
            await WritePointsAsync(batch, stored, verdicts, cancellationToken);
        }

        return verdicts;
    }

    /// <summary>
    /// Claims each accepted reading's body digest under its key (one statement for the batch). A key first received
    /// with another body is a conflicting resend: it moves to the rejections with both digests, and neither the grain
    /// nor InfluxDB sees it, so the stores cannot disagree about what the key holds.
    /// </summary>
    private async Task ClaimDigestsAsync(
        IReadOnlyList<IncomingMessage> batch,
        List<(int Index, object Reading)> accepted,
        List<(int Index, Rejection Rejection)> rejections,
        CancellationToken cancellationToken)
    {
        if (accepted.Count == 0)
        {
            return;
        }

        var claims = new List<(ReadingKey Key, long Digest, DateTimeOffset EventTime)>(accepted.Count);
        foreach (var (index, reading) in accepted)
        {
            var message = batch[index];
            claims.Add((message.Key!.Value, ReadingDigestStore.DigestOf(message.Payload), EventTimeOf(reading)));
        }

        var results = await _digests.ClaimAsync(claims, cancellationToken);
        for (var p = accepted.Count - 1; p >= 0; p--)
        {
            if (results[p].Claim != DigestClaim.Conflict)
            {
                continue;
            }

            var (index, _) = accepted[p];
            rejections.Add((index, new Rejection(QuarantineReasons.ConflictingDuplicate,
                $"key ({claims[p].Key}) was first received with body digest {ReadingDigestStore.Format(results[p].StoredDigest)}; this body's digest is {ReadingDigestStore.Format(claims[p].Digest)}: the first body stands")));
            accepted.RemoveAt(p);
        }
    }

    private static DateTimeOffset EventTimeOf(object reading) => reading switch
    {
        MilkingReading m => m.EventTime,
        BulkTankReading b => b.EventTime,
        PlantIntakeReading p => p.EventTime,
        ValueTuple<IRecordKindHandler, AcceptedRecord> record => record.Item2.EventTime,
        _ => throw new ArgumentException($"Not a reading: {reading.GetType().Name}", nameof(reading)),
    };

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

    private async ValueTask<object> ResolveAsync(ParsedReading parsed, string rawTopic, CancellationToken cancellationToken)
    {
        var topic = parsed.Topic;
        var device = await _directory.FindDeviceAsync(topic.DeviceId, cancellationToken);
        if (device is null)
        {
            return new Rejection(QuarantineReasons.UnknownDevice, $"device '{topic.DeviceId}' is not registered");
        }

        var topicOwnerKind = OwnerKinds.Name(topic.OwnerKind);
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

    /// <summary>
    /// Applies the accepted readings, one call per owning grain or component, and returns each one's outcome in the
    /// order of <paramref name="accepted"/>.
    /// </summary>
    private async Task<ApplyOutcome[]> ApplyAsync(List<(int Index, object Reading)> accepted, CancellationToken cancellationToken)
    {
        var milkings = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var bulkTank = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var intakes = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        var records = new Dictionary<IRecordKindHandler, List<int>>();
        for (var p = 0; p < accepted.Count; p++)
        {
            switch (accepted[p].Reading)
            {
                case MilkingReading m:
                    Group(milkings, m.HerdId, p);
                    break;
                case BulkTankReading b:
                    Group(bulkTank, b.PastureId, p);
                    break;
                case PlantIntakeReading i:
                    Group(intakes, i.PlantId, p);
                    break;
                case (IRecordKindHandler handler, AcceptedRecord):
                    Group(records, handler, p);
                    break;
            }
        }

        T[] Readings<T>(List<int> positions) => [.. positions.Select(p => (T)accepted[p].Reading)];
        var grainCalls = new List<(List<int> Positions, Task<ApplyResult> Call)>(milkings.Count + bulkTank.Count + intakes.Count);
        foreach (var (herdId, positions) in milkings)
        {
            grainCalls.Add((positions, _grains.GetGrain<IHerdGrain>(herdId).ApplyMilkingsAsync(Readings<MilkingReading>(positions))));
        }

        foreach (var (pastureId, positions) in bulkTank)
        {
            grainCalls.Add((positions, _grains.GetGrain<IPastureGrain>(pastureId).ApplyBulkTankAsync(Readings<BulkTankReading>(positions))));
        }

        foreach (var (plantId, positions) in intakes)
        {
            grainCalls.Add((positions, _grains.GetGrain<IPlantGrain>(plantId).ApplyIntakesAsync(Readings<PlantIntakeReading>(positions))));
        }

        var storeCalls = new List<(List<int> Positions, Task<ApplyOutcome[]> Call)>(records.Count);
        foreach (var (handler, positions) in records)
        {
            storeCalls.Add((positions, handler.StoreAsync([.. positions.Select(p => ((ValueTuple<IRecordKindHandler, AcceptedRecord>)accepted[p].Reading).Item2)], cancellationToken)));
        }

        var results = await Task.WhenAll(grainCalls.Select(c => c.Call));
        await Task.WhenAll(storeCalls.Select(c => c.Call));
        await ReportToRollupsAsync(results);

        var outcomes = new ApplyOutcome[accepted.Count];
        for (var c = 0; c < grainCalls.Count; c++)
        {
            Spread(grainCalls[c].Positions, results[c].Outcomes, outcomes);
        }

        foreach (var (positions, call) in storeCalls)
        {
            Spread(positions, call.Result, outcomes);
        }

        _metrics.RecordApplied(outcomes.Count(o => o == ApplyOutcome.Applied));
        _metrics.RecordDuplicates(outcomes.Count(o => o == ApplyOutcome.Duplicate));
        return outcomes;
    }

    private static void Spread(List<int> positions, ApplyOutcome[] callOutcomes, ApplyOutcome[] outcomes)
    {
        for (var i = 0; i < positions.Count; i++)
        {
            outcomes[positions[i]] = callOutcomes[i];
        }
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
        List<(int Index, object Reading)> stored,
        DeliveryVerdict[] verdicts,
        CancellationToken cancellationToken)
    {
        var writer = new LineProtocolWriter(256 * stored.Count);
        foreach (var (_, reading) in stored)
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
            foreach (var (index, reading) in stored)
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
                    await QuarantineAsync(batch, [(index, new Rejection(QuarantineReasons.InfluxRejected, rejected.Message))], verdicts, cancellationToken);
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
    /// Keeps the rejected readings of a batch in the quarantine, in one statement, with their device and key when
    /// they parsed, and sets their verdicts. A reading whose row was written on an earlier try of the batch is not
    /// written again; one whose key is already quarantined for the same reason (a resend) adds no row and is counted
    /// as a duplicate.
    /// </summary>
    private async Task QuarantineAsync(
        IReadOnlyList<IncomingMessage> batch,
        List<(int Index, Rejection Rejection)> rejections,
        DeliveryVerdict[] verdicts,
        CancellationToken cancellationToken)
    {
        var pending = rejections.FindAll(r => batch[r.Index].QuarantinedAs is null);
        if (pending.Count > 0)
        {
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
                message.QuarantinedAs = rejection;
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

        foreach (var (index, _) in rejections)
        {
            verdicts[index] = DeliveryVerdict.Quarantined(batch[index].QuarantinedAs!.Value);
        }
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

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Batch of {Count} readings failed; retrying in {Delay}, completing nothing")]
    private partial void LogBatchFailed(int count, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Quarantined a reading on {Topic}: {Reason} ({Detail})")]
    private partial void LogQuarantined(string topic, string reason, string detail);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "Could not report {Members} members to rollup {Rollup}; it will catch up from storage")]
    private partial void LogReportFailed(string rollup, int members, Exception exception);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Warning, Message = "Batch of {Count} readings keeps failing with no store away; splitting it to find the reading that fails it")]
    private partial void LogBatchSplit(int count, Exception exception);
}
