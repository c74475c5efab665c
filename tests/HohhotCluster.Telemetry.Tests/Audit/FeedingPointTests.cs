using System.Text;
using HohhotCluster.Telemetry.Audit;
using HohhotCluster.Telemetry.Audit.Feeding;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.TimeSeries;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Tests.Audit;

/// <summary>The feeding kinds' InfluxDB points: one per message keyed like every kind's, and one per load ingredient.</summary>
public sealed class FeedingPointTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 29, 5, 10, 0, TimeSpan.FromHours(8));
    private static readonly DeviceContext Mixer = new() { DeviceId = "P1-TMR1", OwnerKind = "pasture", OwnerId = "P1", CountyId = "150121" };

    [Fact]
    public void Load_writes_one_tmr_point_and_one_tmr_ingredient_point_per_feed_at_the_keyed_time()
    {
        var kind = new TmrKind(null!, null!, null!, Options.Create(new AuditOptions()));
        var record = FeedingPayloads.ParseTmr(System.Text.Json.JsonDocument.Parse(FeedingPayloadTests.Load).RootElement, At, new FeedingOptions());
        var writer = new LineProtocolWriter();
        kind.WritePoints(writer, new Accepted<TmrRecord>(new ReadingKey("P1-TMR1", 7, 2), At, Mixer, "t", record));

        var lines = Encoding.UTF8.GetString(writer.WrittenMemory.Span).Split('\n');
        var time = LineProtocolWriter.TimestampFor(At, 2).ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(5, lines.Length);
        Assert.StartsWith("tmr,boot=7,county=150121,device=P1-TMR1,event=load,herd=P150121001-H1,pasture=P1,ration=LACT-HIGH "
            + "recipe_kg=10000,loaded_kg=10069,loaded_dm_kg=5982.6", lines[0], StringComparison.Ordinal); // 5262 x 0.33 + 791 x 0.89 + 405 x 0.9 + 3611 x 0.88
        Assert.EndsWith($",ration_version=3i,seq=2i {time}", lines[0], StringComparison.Ordinal);
        Assert.Equal($"tmr_ingredient,boot=7,county=150121,device=P1-TMR1,feed=silage_corn,herd=P150121001-H1,origin=local_farm,pasture=P1,ration=LACT-HIGH "
            + $"recipe_kg=5200,loaded_kg=5262,dry_matter_percent=33,seq=2i {time}", lines[1]);
        Assert.DoesNotContain("origin=", lines[4], StringComparison.Ordinal); // concentrate: no origin, no empty tag
    }

    [Fact]
    public void Feed_stock_writes_its_store_feed_and_origin_as_tags()
    {
        var kind = new FeedStockKind(null!, Options.Create(new AuditOptions()));
        var record = FeedingPayloads.ParseFeedStock(System.Text.Json.JsonDocument.Parse(FeedingPayloadTests.Stock).RootElement, At, new FeedingOptions());
        var writer = new LineProtocolWriter();
        kind.WritePoints(writer, new Accepted<FeedStockRecord>(new ReadingKey("P1-FS1", 7, 12), At, Mixer with { DeviceId = "P1-FS1" }, "t", record));
        Assert.StartsWith("feed_stock,boot=7,county=150121,device=P1-FS1,feed=silage_corn,origin=local_farm,pasture=P1,storage=CLAMP-2 "
            + "quantity_kg=3150000,capacity_kg=9000000,dry_matter_percent=32.5,seq=12i ", Encoding.UTF8.GetString(writer.WrittenMemory.Span), StringComparison.Ordinal);
    }
}
