using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using System.Text;
using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Ingestion;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.TimeSeries;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace HohhotCluster.Telemetry.Tests.Ingestion.Pipeline;

// The fast tier's stand-ins for the stores the stages write (the integration tier runs the real ones), a kind that
// records what reaches it, and the stages wired as the platform wires them.

internal sealed record NoteRecord(string Note);

/// <summary><c>note</c> under a pasture: the body's <c>note</c>; records what reached ApplyAsync and answers per note.</summary>
internal sealed class NoteKind : TelemetryKind<NoteRecord>
{
    public List<ReadingKey> AppliedKeys { get; } = [];

    /// <summary>The outcome ApplyAsync gives a record by its note (default: applied).</summary>
    public Dictionary<string, ApplyOutcome> OutcomeByNote { get; } = [];

    public override string Name => "note";

    public override OwnerKind Owner => OwnerKind.Pasture;

    public override ReportingCadence Cadence => ReportingCadence.EventDriven;

    public override bool TryParse(JsonElement body, ReadingKey key, DateTimeOffset eventTime, [NotNullWhen(true)] out NoteRecord? record, out Rejection rejection)
    {
        if (body.TryGetProperty("note", out var note) && note.ValueKind == JsonValueKind.String)
        {
            record = new NoteRecord(note.GetString()!);
            rejection = default;
            return true;
        }

        record = null;
        rejection = new Rejection(QuarantineReasons.MissingField, "note is required");
        return false;
    }

    public override Task<ApplyOutcome[]> ApplyAsync(IReadOnlyList<Accepted<NoteRecord>> records, CancellationToken cancellationToken)
    {
        AppliedKeys.AddRange(records.Select(r => r.Key));
        return Task.FromResult(records.Select(r => OutcomeByNote.GetValueOrDefault(r.Record.Note, ApplyOutcome.Applied)).ToArray());
    }

    public override void WritePoints(LineProtocolWriter writer, Accepted<NoteRecord> record) =>
        writer.Measurement("note", record.Key).Tag("device", record.Key.DeviceId).Field("seq", record.Key.Sequence)
            .Timestamp(LineProtocolWriter.TimestampFor(record.EventTime, record.Key.Sequence));
}

internal sealed class RefusingGate(string note, Rejection rejection) : IAcceptedGate<NoteRecord>
{
    public List<string> Seen { get; } = [];

    public Task<IReadOnlyList<(int Index, Rejection Rejection)>> CheckAsync(IReadOnlyList<Accepted<NoteRecord>> records, CancellationToken cancellationToken)
    {
        Seen.AddRange(records.Select(r => r.Record.Note));
        IReadOnlyList<(int, Rejection)> refused = [.. records.Select((r, i) => (i, r)).Where(x => x.r.Record.Note == note).Select(x => (x.i, rejection))];
        return Task.FromResult(refused);
    }
}

internal sealed class RecordingObserver : IAcceptedObserver<NoteRecord>, IAcceptedKeysObserver
{
    public List<string> Notes { get; } = [];

    public List<AcceptedKey> Keys { get; } = [];

    public Task OnAcceptedAsync(IReadOnlyList<Accepted<NoteRecord>> records, CancellationToken cancellationToken)
    {
        Notes.AddRange(records.Select(r => r.Record.Note));
        return Task.CompletedTask;
    }

    public Task OnAcceptedAsync(IReadOnlyList<AcceptedKey> keys, CancellationToken cancellationToken)
    {
        Keys.AddRange(keys);
        return Task.CompletedTask;
    }
}

internal sealed class InMemoryDevices : IDeviceLookup
{
    public Dictionary<string, DeviceContext> Devices { get; } = [];

    public ValueTask<DeviceContext?> FindDeviceAsync(string deviceId, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Devices.GetValueOrDefault(deviceId));
}

/// <summary>Digests by key, as reading_digest keeps them: the first body's digest stands.</summary>
internal sealed class InMemoryDigests : IDigestClaims
{
    public Dictionary<ReadingKey, long> Stored { get; } = [];

    public Task<DigestClaimResult[]> ClaimAsync(IReadOnlyList<(ReadingKey Key, long Digest, DateTimeOffset EventTime)> readings, CancellationToken cancellationToken) =>
        Task.FromResult(readings.Select(r =>
            Stored.TryAdd(r.Key, r.Digest) ? new DigestClaimResult(DigestClaim.New, r.Digest)
            : new DigestClaimResult(Stored[r.Key] == r.Digest ? DigestClaim.Same : DigestClaim.Conflict, Stored[r.Key])).ToArray());
}

internal sealed class InMemoryQuarantine : IQuarantineRows
{
    public List<QuarantinedMessage> Rows { get; } = [];

    public Task<bool[]> AddAsync(IReadOnlyList<QuarantinedMessage> rows, CancellationToken cancellationToken)
    {
        Rows.AddRange(rows);
        return Task.FromResult(rows.Select(_ => true).ToArray());
    }
}

internal sealed class InMemoryPoints : IPointSink
{
    public List<string> Lines { get; } = [];

    public Task WriteAsync(ReadOnlyMemory<byte> lines, int pointCount, CancellationToken cancellationToken)
    {
        Lines.AddRange(Encoding.UTF8.GetString(lines.Span).Split('\n', StringSplitOptions.RemoveEmptyEntries));
        return Task.CompletedTask;
    }
}

/// <summary>The stages over one <see cref="NoteKind"/>, with in-memory stores.</summary>
internal sealed class InMemoryPipeline
{
    public static readonly DateTimeOffset Now = new(2026, 11, 29, 10, 0, 0, ChinaTime.Offset);

    public InMemoryPipeline(IAcceptedGate<NoteRecord>? gate = null)
    {
        Devices.Devices["D1"] = new DeviceContext { DeviceId = "D1", OwnerKind = "pasture", OwnerId = "P1", CountyId = "150121" };
        var services = new ServiceCollection();
        services.AddMetrics();
        services.AddSingleton(Kind);
        services.AddSingleton<ITelemetryKind>(Kind);
        services.AddSingleton<IAcceptedObserver<NoteRecord>>(Observer);
        if (gate is not null)
        {
            services.AddSingleton(gate);
        }

        var provider = services.BuildServiceProvider();
        Metrics = new IngestionMetrics(provider.GetRequiredService<IMeterFactory>());
        var runtimes = new KindRuntimes(new TelemetryKindRegistry(provider.GetServices<ITelemetryKind>()), provider);
        var parser = new TelemetryPayloadParser(new FakeTimeProvider(Now), new IngestionOptions(), runtimes);
        Quarantine = new QuarantineStage(QuarantineRows, Metrics, new FakeTimeProvider(Now), NullLogger<QuarantineStage>.Instance);
        Processor = new BatchProcessor(
            new ValidateStage(parser, Devices), new GateStage(), new DigestStage(Digests), new ApplyStage(Metrics), Quarantine,
            new ObserveStage([Observer]), new PointsStage(Points, Quarantine));
    }

    public NoteKind Kind { get; } = new();

    public RecordingObserver Observer { get; } = new();

    public InMemoryDevices Devices { get; } = new();

    public InMemoryDigests Digests { get; } = new();

    public InMemoryQuarantine QuarantineRows { get; } = new();

    public InMemoryPoints Points { get; } = new();

    public IngestionMetrics Metrics { get; }

    public QuarantineStage Quarantine { get; }

    public BatchProcessor Processor { get; }

    public static IncomingMessage Note(long seq, string note, string device = "D1", string owner = "P1") =>
        new($"hohhot/v1/pasture/{owner}/{device}/note",
            Encoding.UTF8.GetBytes($$"""{"deviceId":"{{device}}","bootEpoch":1,"seq":{{seq}},"eventTime":"2026-11-29T09:40:00+08:00","note":"{{note}}"}"""));
}
