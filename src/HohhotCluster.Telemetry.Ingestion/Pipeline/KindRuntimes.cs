using System.Collections.Concurrent;
using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.TimeSeries;
using Microsoft.Extensions.DependencyInjection;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// Every registered kind with its typed gates and observers, built once at start from the
/// <see cref="TelemetryKindRegistry"/>: what the stages call for a kind without knowing its record type. Each entry
/// is a <see cref="KindRuntime{TRecord}"/>, reached through <see cref="ITelemetryKind.Accept{TResult}"/>, so nothing
/// in the pipeline casts a record.
/// </summary>
public sealed class KindRuntimes
{
    private readonly Dictionary<(string Name, OwnerKind Owner), IKindRuntime> _byKind = [];

    public KindRuntimes(TelemetryKindRegistry registry, IServiceProvider services)
        : this(registry, new Builder(services))
    {
    }

    private KindRuntimes(TelemetryKindRegistry registry, ITelemetryKindVisitor<IKindRuntime> builder)
    {
        Registry = registry;
        foreach (var kind in registry.All)
        {
            _byKind[(kind.Name, kind.Owner)] = kind.Accept(builder);
        }
    }

    /// <summary>The kinds for parsing alone (no gates, no observers): parsing is pure and needs nothing else.</summary>
    public static KindRuntimes ForParsing(TelemetryKindRegistry registry) => new(registry, new Builder(null));

    public TelemetryKindRegistry Registry { get; }

    /// <summary>The runtime of a kind the topic parser found in the registry.</summary>
    internal IKindRuntime Of(string name, OwnerKind owner) => _byKind[(name, owner)];

    private sealed class Builder(IServiceProvider? services) : ITelemetryKindVisitor<IKindRuntime>
    {
        public IKindRuntime Visit<TRecord>(TelemetryKind<TRecord> kind)
            where TRecord : class =>
            new KindRuntime<TRecord>(
                kind,
                services is null ? [] : [.. services.GetServices<IAcceptedGate<TRecord>>()],
                services is null ? [] : [.. services.GetServices<IAcceptedObserver<TRecord>>()]);
    }
}

/// <summary>A kind as the parser and the batch see it, its record type hidden.</summary>
internal interface IKindRuntime
{
    ITelemetryKind Kind { get; }

    /// <summary>The kind's pure parse of the body; the record stays typed inside the <see cref="IParsedRecord"/>.</summary>
    bool TryParse(JsonElement body, ReadingKey key, DateTimeOffset eventTime, out IParsedRecord record, out Rejection rejection);
}

/// <summary>A kind's parsed record, typed inside; the validate stage resolves it against the device and the kind's checks.</summary>
public interface IParsedRecord
{
    ITelemetryKind Kind { get; }

    /// <summary>
    /// The kind's <see cref="TelemetryKind{TRecord}.CheckAsync"/> of the record from <paramref name="device"/>; when it
    /// passes, the record joins its kind's slot of <paramref name="batch"/> at <paramref name="index"/>.
    /// </summary>
    /// <summary>The record, when it is a <typeparamref name="TRecord"/> (for tests and tools; the stages never ask).</summary>
    bool TryGet<TRecord>([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out TRecord? record)
        where TRecord : class;

    ValueTask<Rejection?> AcceptAsync(BatchRecords batch, int index, ReadingKey key, DateTimeOffset eventTime, DeviceContext device, string topic, CancellationToken cancellationToken);
}

internal sealed class KindRuntime<TRecord>(TelemetryKind<TRecord> kind, IAcceptedGate<TRecord>[] gates, IAcceptedObserver<TRecord>[] observers)
    : IKindRuntime
    where TRecord : class
{
    private readonly ConcurrentDictionary<BatchRecords, KindBatch<TRecord>> _open = new();

    public TelemetryKind<TRecord> Kind => kind;

    ITelemetryKind IKindRuntime.Kind => kind;

    public IAcceptedGate<TRecord>[] Gates => gates;

    public IAcceptedObserver<TRecord>[] Observers => observers;

    public bool TryParse(JsonElement body, ReadingKey key, DateTimeOffset eventTime, out IParsedRecord record, out Rejection rejection)
    {
        if (kind.TryParse(body, key, eventTime, out var typed, out rejection))
        {
            record = new ParsedRecord(this, typed);
            return true;
        }

        record = null!;
        return false;
    }

    /// <summary>This kind's slot of <paramref name="batch"/>, opened on first use.</summary>
    public KindBatch<TRecord> SlotOf(BatchRecords batch) =>
        _open.GetOrAdd(batch, static (b, runtime) => b.Open(new KindBatch<TRecord>(runtime, () => runtime._open.TryRemove(b, out _))), this);

    private sealed class ParsedRecord(KindRuntime<TRecord> runtime, TRecord record) : IParsedRecord
    {
        public ITelemetryKind Kind => runtime.Kind;

        public bool TryGet<T>([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out T? typed)
            where T : class
        {
            typed = record as T;
            return typed is not null;
        }

        public async ValueTask<Rejection?> AcceptAsync(
            BatchRecords batch, int index, ReadingKey key, DateTimeOffset eventTime, DeviceContext device, string topic, CancellationToken cancellationToken)
        {
            var accepted = new Accepted<TRecord>(key, eventTime, device, topic, record);
            var rejection = await runtime.Kind.CheckAsync(accepted, cancellationToken);
            if (rejection is null)
            {
                runtime.SlotOf(batch).Add(index, accepted);
            }

            return rejection;
        }
    }
}
