using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Ingestion;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.TimeSeries;
using Microsoft.Extensions.Logging.Abstractions;

namespace HohhotCluster.Telemetry.Tests.Ingestion.Pipeline;

/// <summary>Each stage of a batch in memory: what reaches the kind, the quarantine and InfluxDB, and what each reading's verdict is.</summary>
public sealed class StageTests
{
    [Fact]
    public async Task A_gates_refusal_never_reaches_ApplyAsync_and_is_quarantined_with_the_gates_reason()
    {
        var refusal = new Rejection(QuarantineReasons.InvalidField, "note: 'taken' belongs to another pasture");
        var gate = new RefusingGate("taken", refusal);
        var pipeline = new InMemoryPipeline(gate);

        var verdicts = await pipeline.Processor.ProcessAsync([InMemoryPipeline.Note(1, "fine"), InMemoryPipeline.Note(2, "taken")], default);

        Assert.Equal(["fine", "taken"], gate.Seen);
        Assert.Equal([new ReadingKey("D1", 1, 1)], pipeline.Kind.AppliedKeys);
        Assert.Equal(DeliveryVerdict.Applied, verdicts[0]);
        Assert.Equal(DeliveryVerdict.Quarantined(refusal), verdicts[1]);
        var row = Assert.Single(pipeline.QuarantineRows.Rows);
        Assert.Equal((QuarantineReasons.InvalidField, 2L), (row.Reason, row.Sequence));
        Assert.Single(pipeline.Points.Lines);
        Assert.Equal(["fine"], pipeline.Observer.Notes);
    }

    [Fact]
    public async Task A_conflicting_digest_never_reaches_the_kind_nor_InfluxDB()
    {
        var pipeline = new InMemoryPipeline();
        await pipeline.Processor.ProcessAsync([InMemoryPipeline.Note(1, "first body")], default);

        var verdicts = await pipeline.Processor.ProcessAsync([InMemoryPipeline.Note(1, "another body"), InMemoryPipeline.Note(2, "new")], default);

        Assert.Equal(DeliveryOutcome.Quarantined, verdicts[0].Outcome);
        Assert.Equal(QuarantineReasons.ConflictingDuplicate, verdicts[0].Reason);
        Assert.Equal(DeliveryVerdict.Applied, verdicts[1]);
        Assert.Equal([new ReadingKey("D1", 1, 1), new ReadingKey("D1", 1, 2)], pipeline.Kind.AppliedKeys);
        Assert.Equal(2, pipeline.Points.Lines.Count);
        Assert.Equal(["first body", "new"], pipeline.Observer.Notes);
    }

    [Fact]
    public async Task Points_and_observers_see_applied_and_duplicate_records_only()
    {
        var pipeline = new InMemoryPipeline();
        pipeline.Kind.OutcomeByNote["again"] = ApplyOutcome.Duplicate;
        pipeline.Kind.OutcomeByNote["lost epoch"] = ApplyOutcome.Unverifiable;

        var verdicts = await pipeline.Processor.ProcessAsync(
            [InMemoryPipeline.Note(1, "new"), InMemoryPipeline.Note(2, "again"), InMemoryPipeline.Note(3, "lost epoch")], default);

        Assert.Equal(DeliveryVerdict.Applied, verdicts[0]);
        Assert.Equal(DeliveryVerdict.Duplicate, verdicts[1]);
        Assert.Equal(QuarantineReasons.UnverifiableKey, verdicts[2].Reason);
        Assert.Equal(2, pipeline.Points.Lines.Count);
        Assert.DoesNotContain(pipeline.Points.Lines, line => line.Contains("seq=3i", StringComparison.Ordinal));
        Assert.Equal(["new", "again"], pipeline.Observer.Notes);
        Assert.Equal([ApplyOutcome.Applied, ApplyOutcome.Duplicate], pipeline.Observer.Keys.Select(k => k.Outcome));
        Assert.All(pipeline.Observer.Keys, k => Assert.Equal("note", k.Kind.Name));
        Assert.Equal(3L, Assert.Single(pipeline.QuarantineRows.Rows).Sequence);
    }

    [Fact]
    public async Task An_unregistered_device_and_another_owners_topic_are_quarantined_before_the_kind()
    {
        var pipeline = new InMemoryPipeline();

        var verdicts = await pipeline.Processor.ProcessAsync(
            [InMemoryPipeline.Note(1, "who", device: "D9"), InMemoryPipeline.Note(1, "not yours", owner: "P2"), InMemoryPipeline.Note(2, "{}", device: "D1")], default);

        Assert.Equal(QuarantineReasons.UnknownDevice, verdicts[0].Reason);
        Assert.Equal(QuarantineReasons.TopicOwnerMismatch, verdicts[1].Reason);
        Assert.Equal(DeliveryVerdict.Applied, verdicts[2]);
        Assert.Equal([new ReadingKey("D1", 1, 2)], pipeline.Kind.AppliedKeys);
        Assert.Equal(["D9", "D1"], pipeline.QuarantineRows.Rows.Select(r => r.DeviceId));
    }

    [Fact]
    public async Task A_body_its_kind_refuses_is_quarantined_with_the_kinds_reason_and_its_key()
    {
        var pipeline = new InMemoryPipeline();
        var message = new IncomingMessage("hohhot/v1/pasture/P1/D1/note",
            """{"deviceId":"D1","bootEpoch":1,"seq":5,"eventTime":"2026-11-29T09:40:00+08:00"}"""u8.ToArray());

        var verdicts = await pipeline.Processor.ProcessAsync([message], default);

        Assert.Equal(DeliveryVerdict.Quarantined(new Rejection(QuarantineReasons.MissingField, "note is required")), verdicts[0]);
        Assert.Equal(5L, Assert.Single(pipeline.QuarantineRows.Rows).Sequence);
        Assert.Empty(pipeline.Kind.AppliedKeys);
    }

    [Fact]
    public async Task Points_InfluxDB_refuses_are_quarantined_one_by_one_and_the_rest_stay_applied()
    {
        var pipeline = new InMemoryPipeline();
        var points = new RefusingPoints("seq=2i");
        var processor = new BatchProcessor(
            new ValidateStage(new TelemetryPayloadParser(new Microsoft.Extensions.Time.Testing.FakeTimeProvider(InMemoryPipeline.Now), new IngestionOptions(),
                KindRuntimes.ForParsing(new TelemetryKindRegistry([pipeline.Kind]))), pipeline.Devices),
            new GateStage(), new DigestStage(pipeline.Digests), new ApplyStage(pipeline.Metrics), pipeline.Quarantine,
            new ObserveStage([]), new PointsStage(points, pipeline.Quarantine));

        var verdicts = await processor.ProcessAsync([InMemoryPipeline.Note(1, "a"), InMemoryPipeline.Note(2, "b"), InMemoryPipeline.Note(3, "c")], default);

        Assert.Equal(DeliveryVerdict.Applied, verdicts[0]);
        Assert.Equal(QuarantineReasons.InfluxRejected, verdicts[1].Reason);
        Assert.Equal(DeliveryVerdict.Applied, verdicts[2]);
        Assert.Equal(2, points.Written.Count);
    }

    private sealed class RefusingPoints(string refused) : IPointSink
    {
        public List<string> Written { get; } = [];

        public Task WriteAsync(ReadOnlyMemory<byte> lines, int pointCount, CancellationToken cancellationToken)
        {
            var text = System.Text.Encoding.UTF8.GetString(lines.Span);
            if (text.Contains(refused, StringComparison.Ordinal))
            {
                throw new PointRejectedException("field type conflict: " + refused);
            }

            Written.AddRange(text.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            return Task.CompletedTask;
        }
    }
}

/// <summary>Take and order: retry, backoff and split, over a processor that fails as told.</summary>
public sealed class BatchRetryTests
{
    [Fact]
    public async Task A_poison_reading_is_split_out_and_quarantined_as_processing_failed_and_the_others_apply()
    {
        var processor = new ScriptedProcessor(batch => batch.Any(m => m.Topic.EndsWith("/poison", StringComparison.Ordinal))
            ? throw new InvalidOperationException("poison breaks the batch") : null);
        var retry = Retry(processor);
        IncomingMessage[] batch = [Message("a"), Message("b"), Message("poison"), Message("c")];

        var verdicts = await retry.ProcessAsync(batch, default);

        Assert.Equal([DeliveryOutcome.Applied, DeliveryOutcome.Applied, DeliveryOutcome.Quarantined, DeliveryOutcome.Applied], verdicts.Select(v => v.Outcome));
        Assert.Equal(QuarantineReasons.ProcessingFailed, verdicts[2].Reason);
        Assert.Contains("poison breaks the batch", verdicts[2].Detail, StringComparison.Ordinal);
        var (message, rejection) = Assert.Single(processor.Quarantined);
        Assert.Same(batch[2], message);
        Assert.Equal(QuarantineReasons.ProcessingFailed, rejection.Reason);
        Assert.Null(retry.CurrentStoreFailure);
    }

    [Fact]
    public async Task A_store_outage_is_waited_out_without_splitting_or_quarantining_anything()
    {
        var failures = 5;
        StoreFailure? seenDuringOutage = null;
        ScriptedProcessor? processor = null;
        BatchRetry? retry = null;
        processor = new ScriptedProcessor(batch =>
        {
            if (failures-- > 0)
            {
                seenDuringOutage ??= failures < 4 ? retry!.CurrentStoreFailure : null;
                throw new TimeoutException("PostgreSQL does not answer");
            }

            return null;
        });
        retry = Retry(processor);
        IncomingMessage[] batch = [Message("a"), Message("b"), Message("c")];

        var verdicts = await retry.ProcessAsync(batch, default);

        Assert.All(verdicts, v => Assert.Equal(DeliveryOutcome.Applied, v.Outcome));
        Assert.All(processor.Batches, b => Assert.Equal(3, b.Count)); // never split while a store is away
        Assert.Equal(6, processor.Batches.Count);
        Assert.Empty(processor.Quarantined);
        Assert.NotNull(seenDuringOutage);
        Assert.Contains("PostgreSQL does not answer", seenDuringOutage.Message, StringComparison.Ordinal);
        Assert.Null(retry.CurrentStoreFailure);
    }

    [Fact]
    public async Task Cancellation_during_an_outage_completes_nothing()
    {
        using var stop = new CancellationTokenSource();
        var processor = new ScriptedProcessor(_ =>
        {
            stop.Cancel();
            throw new TimeoutException("away");
        });

        // Stopping: the failure is not retried and no verdict comes back, so nothing is acknowledged.
        await Assert.ThrowsAsync<TimeoutException>(() => Retry(processor).ProcessAsync([Message("a")], stop.Token));
        Assert.Empty(processor.Quarantined);
    }

    private static BatchRetry Retry(IBatchProcessor processor) =>
        new(processor, new IngestionOptions { FailuresBeforeSplit = 2 }, InMemoryPipelineMetrics.Create(), NullLogger<BatchRetry>.Instance)
        {
            FirstDelay = TimeSpan.FromMilliseconds(1),
            MaxDelay = TimeSpan.FromMilliseconds(2),
        };

    private static IncomingMessage Message(string name) => new("hohhot/v1/pasture/P1/D1/" + name, [(byte)'{', (byte)'}']);

    /// <summary>Throws what the script throws for a batch; otherwise every reading is applied.</summary>
    private sealed class ScriptedProcessor(Func<IReadOnlyList<IncomingMessage>, object?> script) : IBatchProcessor
    {
        public List<IReadOnlyList<IncomingMessage>> Batches { get; } = [];

        public List<(IncomingMessage Message, Rejection Rejection)> Quarantined { get; } = [];

        public Task<DeliveryVerdict[]> ProcessAsync(IReadOnlyList<IncomingMessage> batch, CancellationToken cancellationToken)
        {
            Batches.Add(batch);
            script(batch);
            return Task.FromResult(batch.Select(_ => DeliveryVerdict.Applied).ToArray());
        }

        public Task<DeliveryVerdict> QuarantineAsync(IncomingMessage message, Rejection rejection, CancellationToken cancellationToken)
        {
            Quarantined.Add((message, rejection));
            return Task.FromResult(DeliveryVerdict.Quarantined(rejection));
        }
    }
}

internal static class InMemoryPipelineMetrics
{
    public static IngestionMetrics Create() => new InMemoryPipeline().Metrics;
}
