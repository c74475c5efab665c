using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.TimeSeries;
using Microsoft.Extensions.Logging;

namespace HohhotCluster.Telemetry.Ingestion;

// The stages of one batch, in order (ARCHITECTURE.md, "How a reading flows"): validate and resolve, gates, body
// digests, apply, quarantine, observe, points; BatchRetry around them (retry, backoff, split) and the acknowledgement
// after. Each has one job and is tested alone; BatchProcessor runs them.

/// <summary>
/// Validate and resolve: a message refused when split from its batch keeps its refusal; otherwise the envelope and
/// its kind's parse, the device's registration (known, and the topic's owner's), and the kind's
/// <see cref="TelemetryKind{TRecord}.CheckAsync"/>. What passes joins its kind's slot of the batch.
/// </summary>
public sealed class ValidateStage(TelemetryPayloadParser parser, IDeviceLookup devices)
{
    public async Task RunAsync(IReadOnlyList<IncomingMessage> batch, BatchRecords records, List<(int Index, Rejection Rejection)> rejections, CancellationToken cancellationToken)
    {
        for (var i = 0; i < batch.Count; i++)
        {
            var message = batch[i];
            if (message.Refusal is { } refusal)
            {
                message.Key ??= TelemetryPayloadParser.ReadKey(message.Payload);
                rejections.Add((i, refusal));
                continue;
            }

            if (!parser.TryParse(message.Topic, message.Payload, out var parsed, out var rejection))
            {
                // Keyed when its envelope reads, so a resent invalid message adds no second quarantine row.
                message.Key ??= TelemetryPayloadParser.ReadKey(message.Payload);
                rejections.Add((i, rejection));
                continue;
            }

            message.Key = parsed.Key;
            if (await ResolveAsync(parsed, message.Topic, records, i, cancellationToken) is { } refused)
            {
                rejections.Add((i, refused));
            }
        }
    }

    private async ValueTask<Rejection?> ResolveAsync(ParsedReading parsed, string rawTopic, BatchRecords records, int index, CancellationToken cancellationToken)
    {
        var topic = parsed.Topic;
        var device = await devices.FindDeviceAsync(topic.DeviceId, cancellationToken);
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

        return await parsed.Record.AcceptAsync(records, index, parsed.Key, parsed.EventTime, device, rawTopic, cancellationToken);
    }
}

/// <summary>Gates: each kind's <see cref="IAcceptedGate{TRecord}"/>s; a refused record is quarantined with the gate's reason and applied nowhere.</summary>
public sealed class GateStage
{
    public async Task RunAsync(BatchRecords records, List<(int Index, Rejection Rejection)> rejections, CancellationToken cancellationToken)
    {
        foreach (var kind in records.Kinds)
        {
            await kind.GateAsync(rejections, cancellationToken);
        }
    }
}

/// <summary>
/// Body digests: claims each accepted record's body digest under its key (one call for the batch). A key first
/// received with another body is a conflicting resend: it moves to the rejections with both digests, and neither its
/// kind nor InfluxDB sees it, so the stores cannot disagree about what the key holds.
/// </summary>
public sealed class DigestStage(IDigestClaims digests)
{
    public async Task RunAsync(IReadOnlyList<IncomingMessage> batch, BatchRecords records, List<(int Index, Rejection Rejection)> rejections, CancellationToken cancellationToken)
    {
        var entries = records.Kinds.SelectMany(k => k.Entries).OrderBy(e => e.Index).ToList();
        if (entries.Count == 0)
        {
            return;
        }

        var claims = entries.ConvertAll(e => (e.Key, ReadingDigestStore.DigestOf(batch[e.Index].Payload), e.EventTime));
        var results = await digests.ClaimAsync(claims, cancellationToken);
        var conflicts = new HashSet<int>();
        for (var p = 0; p < entries.Count; p++)
        {
            if (results[p].Claim != DigestClaim.Conflict)
            {
                continue;
            }

            conflicts.Add(entries[p].Index);
            rejections.Add((entries[p].Index, new Rejection(QuarantineReasons.ConflictingDuplicate,
                $"key ({claims[p].Key}) was first received with body digest {ReadingDigestStore.Format(results[p].StoredDigest)}; this body's digest is {ReadingDigestStore.Format(claims[p].Item2)}: the first body stands")));
        }

        if (conflicts.Count > 0)
        {
            foreach (var kind in records.Kinds)
            {
                kind.Remove(conflicts);
            }
        }
    }
}

/// <summary>
/// Apply: every kind's <see cref="TelemetryKind{TRecord}.ApplyAsync"/> (the kinds in parallel). Applied and
/// duplicate records get their verdicts; a key the kind cannot verify (a forgotten boot epoch, a closed hole of its
/// sequence) moves to the rejections as <c>unverifiable_key</c>.
/// </summary>
public sealed class ApplyStage(IngestionMetrics metrics)
{
    public async Task RunAsync(
        IReadOnlyList<IncomingMessage> batch, BatchRecords records, DeliveryVerdict[] verdicts, List<(int Index, Rejection Rejection)> rejections, CancellationToken cancellationToken)
    {
        var results = await Task.WhenAll(records.Kinds.Select(k => k.ApplyAsync(cancellationToken)));
        int applied = 0, duplicates = 0;
        foreach (var (index, outcome) in results.SelectMany(r => r).OrderBy(r => r.Index))
        {
            switch (outcome)
            {
                case ApplyOutcome.Applied:
                    verdicts[index] = DeliveryVerdict.Applied;
                    applied++;
                    break;
                case ApplyOutcome.Duplicate:
                    // The same body as the applied one (its digest matched): its point is rewritten in place, so a
                    // crash between the kind's commit and the point's write is mended by the resend.
                    verdicts[index] = DeliveryVerdict.Duplicate;
                    duplicates++;
                    break;
                default:
                    rejections.Add((index, new Rejection(QuarantineReasons.UnverifiableKey,
                        $"key ({batch[index].Key}) belongs to a boot epoch the platform no longer holds or to a closed hole of its sequence: whether it was counted cannot be told, so it is kept here and not counted")));
                    break;
            }
        }

        metrics.RecordApplied(applied);
        metrics.RecordDuplicates(duplicates);
    }
}

/// <summary>
/// Quarantine: keeps the rejected readings of a batch, in one call, with their device and key when they parsed, and
/// sets their verdicts. A reading whose row was written on an earlier try of the batch is not written again; one
/// whose key is already quarantined for the same reason (a resend) adds no row and is counted as a duplicate.
/// </summary>
public sealed partial class QuarantineStage(IQuarantineRows quarantine, IngestionMetrics metrics, TimeProvider clock, ILogger<QuarantineStage> logger)
{
    public async Task RunAsync(
        IReadOnlyList<IncomingMessage> batch, IReadOnlyList<(int Index, Rejection Rejection)> rejections, DeliveryVerdict[] verdicts, CancellationToken cancellationToken)
    {
        var pending = rejections.Where(r => batch[r.Index].QuarantinedAs is null).ToList();
        if (pending.Count > 0)
        {
            var receivedAt = clock.GetUtcNow();
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
            var added = await quarantine.AddAsync(rows, cancellationToken);
            var again = 0;
            for (var i = 0; i < pending.Count; i++)
            {
                var (index, rejection) = pending[i];
                var message = batch[index];
                message.QuarantinedAs = rejection;
                if (added[i])
                {
                    metrics.RecordQuarantined(rejection.Reason);
                    LogQuarantined(message.Topic, rejection.Reason, rejection.Detail);
                }
                else
                {
                    again++;
                }
            }

            metrics.RecordDuplicates(again);
        }

        foreach (var (index, _) in rejections)
        {
            verdicts[index] = DeliveryVerdict.Quarantined(batch[index].QuarantinedAs!.Value);
        }
    }

    [LoggerMessage(EventId = 4002, Level = LogLevel.Information, Message = "Quarantined a reading on {Topic}: {Reason} ({Detail})")]
    private partial void LogQuarantined(string topic, string reason, string detail);
}

/// <summary>
/// Observe: each kind's typed observers over its stored records (applied and duplicates: observers are idempotent),
/// then the observers of every kind's keys (device activity, delivered sequence numbers), once for the batch.
/// </summary>
public sealed class ObserveStage(IEnumerable<IAcceptedKeysObserver> keyObservers)
{
    private readonly IAcceptedKeysObserver[] _keyObservers = [.. keyObservers];

    public async Task RunAsync(BatchRecords records, CancellationToken cancellationToken)
    {
        foreach (var kind in records.Kinds)
        {
            await kind.ObserveAsync(cancellationToken);
        }

        if (_keyObservers.Length == 0)
        {
            return;
        }

        var keys = new List<AcceptedKey>(records.Count);
        foreach (var kind in records.Kinds)
        {
            kind.AddKeys(keys);
        }

        if (keys.Count == 0)
        {
            return;
        }

        foreach (var observer in _keyObservers)
        {
            await observer.OnAcceptedAsync(keys, cancellationToken);
        }
    }
}

/// <summary>
/// Points: the InfluxDB points of the stored records (applied, or duplicates, whose point is rewritten in place), in
/// one write. When InfluxDB refuses the chunk, point by point, so only the refused readings are set aside, each in
/// the quarantine with InfluxDB's reason.
/// </summary>
public sealed class PointsStage(IPointSink points, QuarantineStage quarantine)
{
    public async Task RunAsync(IReadOnlyList<IncomingMessage> batch, BatchRecords records, DeliveryVerdict[] verdicts, CancellationToken cancellationToken)
    {
        var stored = records.Count;
        if (stored == 0)
        {
            return;
        }

        var writer = new LineProtocolWriter(256 * stored);
        foreach (var kind in records.Kinds)
        {
            kind.WritePoints(writer);
        }

        if (writer.PointCount == 0)
        {
            return;
        }

        try
        {
            await points.WriteAsync(writer.WrittenMemory, writer.PointCount, cancellationToken);
        }
        catch (PointRejectedException)
        {
            foreach (var kind in records.Kinds)
            {
                var indexes = kind.StoredIndexes;
                for (var p = 0; p < indexes.Count; p++)
                {
                    writer.Clear();
                    kind.WritePoints(writer, p);
                    if (writer.PointCount == 0)
                    {
                        continue;
                    }

                    try
                    {
                        await points.WriteAsync(writer.WrittenMemory.ToArray(), writer.PointCount, cancellationToken);
                    }
                    catch (PointRejectedException rejected)
                    {
                        await quarantine.RunAsync(batch, [(indexes[p], new Rejection(QuarantineReasons.InfluxRejected, rejected.Message))], verdicts, cancellationToken);
                    }
                }
            }
        }
    }
}

/// <summary>Acknowledge: completes each reading with its verdict (the endpoint's PUBACK waits on it).</summary>
public sealed class AcknowledgeStage(IngestionMetrics metrics)
{
    public void Run(IReadOnlyList<IncomingMessage> batch, IReadOnlyList<DeliveryVerdict> verdicts)
    {
        for (var i = 0; i < batch.Count; i++)
        {
            batch[i].Complete(verdicts[i]);
        }

        metrics.RecordAcknowledged(batch.Count);
    }
}

/// <summary>One batch through the stages, up to its outcomes.</summary>
public interface IBatchProcessor
{
    /// <summary>
    /// After it returns, every reading of the batch is durably applied (its point stored), recognised as a duplicate
    /// of the same body, or in the quarantine. Throws when a store fails; nothing is completed then.
    /// </summary>
    Task<DeliveryVerdict[]> ProcessAsync(IReadOnlyList<IncomingMessage> batch, CancellationToken cancellationToken);

    /// <summary>Quarantines one reading with this rejection (the reading that failed its batch alone).</summary>
    Task<DeliveryVerdict> QuarantineAsync(IncomingMessage message, Rejection rejection, CancellationToken cancellationToken);
}

/// <summary>Runs a batch through validate, gates, digests, apply, quarantine, observe and points.</summary>
public sealed class BatchProcessor(
    ValidateStage validate, GateStage gates, DigestStage digests, ApplyStage apply, QuarantineStage quarantine, ObserveStage observe, PointsStage points)
    : IBatchProcessor
{
    public async Task<DeliveryVerdict[]> ProcessAsync(IReadOnlyList<IncomingMessage> batch, CancellationToken cancellationToken)
    {
        var verdicts = new DeliveryVerdict[batch.Count];
        var rejections = new List<(int Index, Rejection Rejection)>();
        using var records = new BatchRecords();
        await validate.RunAsync(batch, records, rejections, cancellationToken);
        await gates.RunAsync(records, rejections, cancellationToken);
        await digests.RunAsync(batch, records, rejections, cancellationToken);
        await apply.RunAsync(batch, records, verdicts, rejections, cancellationToken);
        await quarantine.RunAsync(batch, rejections, verdicts, cancellationToken);
        await observe.RunAsync(records, cancellationToken);
        await points.RunAsync(batch, records, verdicts, cancellationToken);
        return verdicts;
    }

    public async Task<DeliveryVerdict> QuarantineAsync(IncomingMessage message, Rejection rejection, CancellationToken cancellationToken)
    {
        var verdicts = new DeliveryVerdict[1];
        await quarantine.RunAsync([message], [(0, rejection)], verdicts, cancellationToken);
        return verdicts[0];
    }
}

/// <summary>
/// Take and order, the retry half: processes a batch until every reading in it is durable. A store being away
/// (<see cref="StoreOutage"/>) is retried with backoff as long as it lasts, completing nothing; any other failure,
/// repeated, splits the batch in halves (each retried the same way), and a single reading that still fails is
/// quarantined as <c>processing_failed</c>.
/// </summary>
public sealed partial class BatchRetry(IBatchProcessor processor, IngestionOptions options, IngestionMetrics metrics, ILogger<BatchRetry> logger)
{
    private StoreFailure? _storeFailure;

    /// <summary>The store failure being waited out right now, or null once a batch went through again.</summary>
    public StoreFailure? CurrentStoreFailure => Volatile.Read(ref _storeFailure);

    /// <summary>The first delay after a failure; it doubles up to <see cref="MaxDelay"/>.</summary>
    public TimeSpan FirstDelay { get; init; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(5);

    public async Task<DeliveryVerdict[]> ProcessAsync(IReadOnlyList<IncomingMessage> batch, CancellationToken stoppingToken)
    {
        var delay = FirstDelay;
        var failures = 0;
        while (true)
        {
            try
            {
                var verdicts = await processor.ProcessAsync(batch, stoppingToken);
                Volatile.Write(ref _storeFailure, null);
                return verdicts;
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                metrics.RecordBatchRetry();
                if (StoreOutage.Is(exception))
                {
                    Volatile.Write(ref _storeFailure, new StoreFailure(StoreOutage.IsPostgres(exception), TextLimits.Shorten(exception.Message, 300)));
                }

                if (!StoreOutage.Is(exception) && ++failures >= options.FailuresBeforeSplit)
                {
                    if (batch.Count == 1)
                    {
                        return [await QuarantineFailedAsync(batch[0], exception, stoppingToken)];
                    }

                    LogBatchSplit(batch.Count, exception);
                    metrics.RecordBatchSplit();
                    var half = batch.Count / 2;
                    var first = await ProcessAsync([.. batch.Take(half)], stoppingToken);
                    var second = await ProcessAsync([.. batch.Skip(half)], stoppingToken);
                    return [.. first, .. second];
                }

                LogBatchFailed(batch.Count, delay, exception);
                await Task.Delay(delay, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxDelay.Ticks));
            }
        }
    }

    /// <summary>The reading that failed its batch alone: into the quarantine with the error (retried while a store is away).</summary>
    private async Task<DeliveryVerdict> QuarantineFailedAsync(IncomingMessage message, Exception exception, CancellationToken stoppingToken)
    {
        message.Key ??= TelemetryPayloadParser.ReadKey(message.Payload);
        var rejection = new Rejection(QuarantineReasons.ProcessingFailed, TextLimits.Shorten($"{exception.GetType().Name}: {exception.Message}", 500));
        var delay = FirstDelay;
        while (true)
        {
            try
            {
                return await processor.QuarantineAsync(message, rejection, stoppingToken);
            }
            catch (Exception failure) when (!stoppingToken.IsCancellationRequested)
            {
                LogBatchFailed(1, delay, failure);
                await Task.Delay(delay, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxDelay.Ticks));
            }
        }
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning, Message = "Batch of {Count} readings failed; retrying in {Delay}, completing nothing")]
    private partial void LogBatchFailed(int count, TimeSpan delay, Exception exception);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Warning, Message = "Batch of {Count} readings keeps failing with no store away; splitting it to find the reading that fails it")]
    private partial void LogBatchSplit(int count, Exception exception);
}
