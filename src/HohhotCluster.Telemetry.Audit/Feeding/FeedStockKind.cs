using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.TimeSeries;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Audit.Feeding;

/// <summary>The <c>feed_stock</c> kind: what one feed store of a pasture holds (docs/mqtt-contract.md, "Feeding kinds").</summary>
public sealed class FeedStockKind(FeedingStore store, IOptions<AuditOptions> options) : TelemetryKind<FeedStockRecord>
{
    public const string KindName = "feed_stock";

    public override string Name => KindName;

    public override OwnerKind Owner => OwnerKind.Pasture;

    /// <summary>Stores are measured once a day (a clamp's face, a barn's bales): two days without a message is silent.</summary>
    public override ReportingCadence Cadence => ReportingCadence.SilentAfterOf(TimeSpan.FromHours(48));

    public override bool TryParse(JsonElement body, ReadingKey key, DateTimeOffset eventTime, [NotNullWhen(true)] out FeedStockRecord? record, out Rejection rejection) =>
        PayloadFields.TryRead(() => FeedingPayloads.ParseFeedStock(body, eventTime, options.Value.Feeding), out record, out rejection);

    public override Task<ApplyOutcome[]> ApplyAsync(IReadOnlyList<Accepted<FeedStockRecord>> records, CancellationToken cancellationToken)
    {
        var messages = new FeedingMessage<FeedStockRecord>[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            var r = records[i];
            messages[i] = new FeedingMessage<FeedStockRecord>(r.Key, r.EventTime, r.Device.OwnerId, r.Device.CountyId, r.Record);
        }

        return store.AddStockAsync(messages, cancellationToken);
    }

    public override void WritePoints(LineProtocolWriter writer, Accepted<FeedStockRecord> record)
    {
        var s = record.Record;
        writer.Measurement(KindName, record.Key)
            .Tag("county", record.Device.CountyId).Tag("device", record.Key.DeviceId).Tag("feed", s.FeedId)
            .Tag("origin", s.Origin is { } o ? FeedOrigins.Name(o) : null).Tag("pasture", record.Device.OwnerId).Tag("storage", s.StorageId)
            .Field("quantity_kg", s.QuantityKg).Field("capacity_kg", s.CapacityKg).Field("dry_matter_percent", s.DryMatterPercent)
            .Field("seq", record.Key.Sequence)
            .Timestamp(LineProtocolWriter.TimestampFor(record.EventTime, record.Key.Sequence));
    }
}
