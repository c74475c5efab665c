using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Dapper;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.TimeSeries;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.Audit.Feeding;

/// <summary>
/// The <c>tmr</c> kind: a TMR mixer's rations, loads, deliveries and refusals (docs/mqtt-contract.md, "Feeding kinds").
/// Every herd it names must be the pasture's; a load id is the pasture's once.
/// </summary>
public sealed class TmrKind(FeedingStore store, HerdDirectory herds, NpgsqlDataSource dataSource, IOptions<AuditOptions> options) : TelemetryKind<TmrRecord>
{
    public const string KindName = "tmr";

    public override string Name => KindName;

    public override OwnerKind Owner => OwnerKind.Pasture;

    /// <summary>
    /// A mixer reports from the morning's rations to the evening's refusals, two or three feedings a day: the longest
    /// quiet stretch is the night, about 5-8 hours; 12 hours without a message is a silent mixer.
    /// </summary>
    public override ReportingCadence Cadence => ReportingCadence.SilentAfterOf(TimeSpan.FromHours(12));

    public override bool TryParse(JsonElement body, ReadingKey key, DateTimeOffset eventTime, [NotNullWhen(true)] out TmrRecord? record, out Rejection rejection) =>
        PayloadFields.TryRead(() => FeedingPayloads.ParseTmr(body, eventTime, options.Value.Feeding), out record, out rejection);

    public override async ValueTask<Rejection?> CheckAsync(Accepted<TmrRecord> record, CancellationToken cancellationToken)
    {
        var r = record.Record;
        var pasture = record.Device.OwnerId;
        if (r.HerdId is { } herd && !await herds.IsOnPastureAsync(herd, pasture, cancellationToken))
        {
            return new Rejection(QuarantineReasons.UnknownHerd, $"herdId '{herd}' is not registered on pasture '{pasture}'");
        }

        for (var i = 0; i < r.HerdIds.Count; i++)
        {
            if (!await herds.IsOnPastureAsync(r.HerdIds[i], pasture, cancellationToken))
            {
                return new Rejection(QuarantineReasons.UnknownHerd, $"herdIds[{i}] '{r.HerdIds[i]}' is not registered on pasture '{pasture}'");
            }
        }

        if (r.Event == TmrEvent.Load)
        {
            var other = await PostgresRetry.RunAsync(async ct =>
            {
                await using var connection = await dataSource.OpenConnectionAsync(ct);
                return await connection.QuerySingleOrDefaultAsync<(string DeviceId, long BootEpoch, long Seq)?>(new CommandDefinition(
                    "select device_id, boot_epoch, seq from feed_load where pasture_id = @pasture and load_id = @LoadId",
                    new { pasture, r.LoadId }, cancellationToken: ct));
            }, cancellationToken);
            if (other is { } used && (used.DeviceId, used.BootEpoch, used.Seq) != (record.Key.DeviceId, record.Key.BootEpoch, record.Key.Sequence))
            {
                return new Rejection(QuarantineReasons.InvalidField,
                    $"loadId '{r.LoadId}' is already the load of {used.DeviceId} boot {used.BootEpoch} seq {used.Seq} on pasture '{pasture}'");
            }
        }

        return null;
    }

    public override Task<ApplyOutcome[]> ApplyAsync(IReadOnlyList<Accepted<TmrRecord>> records, CancellationToken cancellationToken)
    {
        var messages = new FeedingMessage<TmrRecord>[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            var r = records[i];
            messages[i] = new FeedingMessage<TmrRecord>(r.Key, r.EventTime, r.Device.OwnerId, r.Device.CountyId, r.Record);
        }

        return store.AddTmrAsync(messages, cancellationToken);
    }

    /// <summary>
    /// One <c>tmr</c> point per message, and for a load one <c>tmr_ingredient</c> point per ingredient (same time, the
    /// feed as a tag, so ingredients are separate series and never overwrite each other).
    /// </summary>
    public override void WritePoints(LineProtocolWriter writer, Accepted<TmrRecord> record)
    {
        var r = record.Record;
        var timestamp = LineProtocolWriter.TimestampFor(record.EventTime, record.Key.Sequence);
        writer.Measurement(KindName, record.Key)
            .Tag("county", record.Device.CountyId).Tag("device", record.Key.DeviceId).Tag("event", TmrEvents.Name(r.Event))
            .Tag("herd", r.HerdId).Tag("pasture", record.Device.OwnerId).Tag("ration", r.RationId);
        switch (r.Event)
        {
            case TmrEvent.Ration:
                writer.Field("herds", (long)r.HerdIds.Count);
                break;
            case TmrEvent.Load:
                double recipe = 0, loaded = 0, dm = 0;
                foreach (var ingredient in r.Ingredients)
                {
                    recipe += ingredient.RecipeKg;
                    loaded += ingredient.LoadedKg;
                    dm += ingredient.LoadedDryMatterKg;
                }

                writer.Field("recipe_kg", recipe).Field("loaded_kg", loaded).Field("loaded_dm_kg", dm);
                break;
            case TmrEvent.Delivery:
                writer.Field("kg", r.Kg).Field("head_count", (long)r.HeadCount);
                break;
            default:
                writer.Field("kg", r.Kg).Field("dry_matter_percent", r.DryMatterPercent);
                break;
        }

        if (r.RationVersion > 0)
        {
            writer.Field("ration_version", (long)r.RationVersion);
        }

        writer.Field("seq", record.Key.Sequence).Timestamp(timestamp);
        foreach (var ingredient in r.Ingredients)
        {
            writer.Measurement("tmr_ingredient", record.Key)
                .Tag("county", record.Device.CountyId).Tag("device", record.Key.DeviceId).Tag("feed", ingredient.FeedId)
                .Tag("herd", r.HerdId).Tag("origin", ingredient.Origin is { } o ? FeedOrigins.Name(o) : null)
                .Tag("pasture", record.Device.OwnerId).Tag("ration", r.RationId)
                .Field("recipe_kg", ingredient.RecipeKg).Field("loaded_kg", ingredient.LoadedKg)
                .Field("dry_matter_percent", ingredient.DryMatterPercent).Field("seq", record.Key.Sequence)
                .Timestamp(timestamp);
        }
    }
}
