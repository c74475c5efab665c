using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.TimeSeries;

namespace HohhotCluster.Telemetry.Animals;

/// <summary>
/// The <c>animal_event</c> kind: the farm's system reports what happened to an animal (birth, arrival, departure,
/// death, herd move, dry-off, calving) as an ICAR ADE event resource (docs/mqtt-contract.md, "Animal kinds"). The herd
/// it names must be the pasture's; whether the event may follow the animal's state is the gate's
/// (<see cref="AnimalEventGate"/>), which sees a batch's events in order.
/// </summary>
public sealed class AnimalEventKind(PastureDirectory pastures, AnimalCareApply stores) : TelemetryKind<AnimalEventRecord>
{
    public const string KindName = "animal_event";

    public override string Name => KindName;

    public override OwnerKind Owner => OwnerKind.Pasture;

    /// <summary>A farm's system reports when something happens to an animal; a quiet day is no fault.</summary>
    public override ReportingCadence Cadence => ReportingCadence.EventDriven;

    public override bool TryParse(JsonElement body, ReadingKey key, DateTimeOffset eventTime, [NotNullWhen(true)] out AnimalEventRecord? record, out Rejection rejection) =>
        AnimalEventPayloads.TryParse(body, eventTime, out record, out rejection);

    public override async ValueTask<Rejection?> CheckAsync(Accepted<AnimalEventRecord> record, CancellationToken cancellationToken)
    {
        var pasture = record.Device.OwnerId;
        if (record.Record.HerdId is { } herd && !await pastures.IsHerdOnPastureAsync(herd, pasture, cancellationToken))
        {
            var member = record.Record.Event == AnimalEventType.HerdMove ? "animalEvent.animalSetId" : "herdId";
            return new Rejection(QuarantineReasons.UnknownHerd, $"{member} '{herd}' is not registered on pasture '{pasture}'");
        }

        return null;
    }

    public override async Task<ApplyOutcome[]> ApplyAsync(IReadOnlyList<Accepted<AnimalEventRecord>> records, CancellationToken cancellationToken)
    {
        var messages = new AnimalEventMessage[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            var r = records[i];
            messages[i] = new AnimalEventMessage(r.Key, r.EventTime, await pastures.RequireAsync(r.Device.OwnerId, cancellationToken), r.Record);
        }

        // Registry events to the registry, health and breeding events to their stores (AnimalCareApply.cs).
        return await stores.ApplyAsync(messages, cancellationToken);
    }

    /// <summary>One point per event; the animal is no tag (600,000 series), so the point counts events per pasture and herd.</summary>
    public override void WritePoints(LineProtocolWriter writer, Accepted<AnimalEventRecord> record)
    {
        var r = record.Record;
        writer.Measurement(KindName, record.Key)
            .Tag("county", record.Device.CountyId).Tag("device", record.Key.DeviceId).Tag("event", AnimalNames.Name(r.Event))
            .Tag("herd", r.HerdId).Tag("pasture", record.Device.OwnerId)
            .Field("seq", record.Key.Sequence)
            .Timestamp(LineProtocolWriter.TimestampFor(record.EventTime, record.Key.Sequence));
    }
}

/// <summary>
/// Whether each animal event of a batch may follow its animal's state: the registry's current state of the batch's
/// animals (one query), folded through the batch's events in order with <see cref="AnimalRules"/>, so a birth and the
/// calf's herd move in one batch both pass and a second departure does not. A key already recorded passes untouched
/// (its apply is a duplicate), so a redelivery is answered the same way as the first delivery.
/// </summary>
public sealed class AnimalEventGate(AnimalRegistryStore store, PastureDirectory pastures, AnimalCareApply care) : IAcceptedGate<AnimalEventRecord>
{
    public async Task<IReadOnlyList<(int Index, Rejection Rejection)>> CheckAsync(IReadOnlyList<Accepted<AnimalEventRecord>> records, CancellationToken cancellationToken)
    {
        if (records.Count == 0)
        {
            return [];
        }

        var keys = new ReadingKey[records.Count];
        var tags = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < records.Count; i++)
        {
            keys[i] = records[i].Key;
            tags.Add(records[i].Record.Animal.Value);
        }

        var recorded = await store.RecordedKeysAsync(keys, cancellationToken);
        recorded.UnionWith(await care.RecordedKeysAsync(keys, cancellationToken));
        var states = await store.FindAsync(tags, cancellationToken);
        var rejections = new List<(int, Rejection)>();
        var seen = new HashSet<ReadingKey>();
        for (var i = 0; i < records.Count; i++)
        {
            var r = records[i];
            if (recorded.Contains(r.Key) || !seen.Add(r.Key))
            {
                continue;
            }

            var pasture = await pastures.RequireAsync(r.Device.OwnerId, cancellationToken);
            var tag = r.Record.Animal.Value;
            if (AnimalRules.TryApply(states.GetValueOrDefault(tag), r.Record, r.EventTime, pasture, out var next, out var rejection))
            {
                states[tag] = next;
            }
            else
            {
                rejections.Add((i, rejection));
            }
        }

        return rejections;
    }
}
