using Dapper;
using HohhotCluster.Telemetry.Audit.Alerts;
using HohhotCluster.Telemetry.Audit.Feeding;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Audit.Tests;

/// <summary>
/// The tmr and feed_stock kinds against a real PostgreSQL: storage once per key, the herd and load-id checks, the
/// daily rollups from hand-computed records, and each feeding alert raised by a record that causes it and not by one
/// that does not. Each test has its own pasture (P1..P9, herds {pasture}-H1 and -H2, county cA).
/// </summary>
public sealed class FeedingTests(FeedingTests.Fixture fixture) : IClassFixture<FeedingTests.Fixture>
{
    private static readonly DateOnly Day = new(2026, 4, 1);

    public sealed class Fixture : IAsyncLifetime
    {
        public AuditDatabase Db { get; } = new();
        public TmrKind Tmr { get; private set; } = null!;
        public FeedStockKind Stock { get; private set; } = null!;
        public FeedingRollups Rollups { get; private set; } = null!;
        public MilkByHerd Milk { get; } = new();
        internal HandlerFeed Feed { get; } = new("-TMR1");

        public async Task InitializeAsync()
        {
            await Db.InitializeAsync();
            var options = Options.Create(new AuditOptions
            {
                Feeding = new FeedingOptions
                {
                    Feeds =
                    [
                        new FeedDefinition { Id = "silage_corn", Category = FeedCategory.SilageCorn, PricePerTonneCny = 500 },
                        new FeedDefinition { Id = "alfalfa_hay", Category = FeedCategory.Alfalfa },
                        new FeedDefinition { Id = "oat_hay", Category = FeedCategory.OatHay },
                        new FeedDefinition { Id = "concentrate", Category = FeedCategory.Concentrate, PricePerTonneCny = 3000 },
                    ],
                },
            });
            var registry = new RegistryStore(Db.DataSource);
            var pastures = Enumerable.Range(1, 9).Select(i => "P" + i).ToList();
            await registry.UpsertAsync(new RegistryBatch
            {
                Counties = [new CountyRecord { Id = "cA", Name = "A" }],
                Pastures = [.. pastures.Select(p => new PastureRecord { Id = p, CountyId = "cA", Name = p, Species = "cow" })],
                Herds = [.. pastures.SelectMany(p => new[] { new HerdRecord { Id = p + "-H1", PastureId = p }, new HerdRecord { Id = p + "-H2", PastureId = p } })],
            });
            var store = new FeedingStore(Db.DataSource, Db.Alerts(), options, Db.Clock);
            Tmr = new TmrKind(store, new HerdDirectory(registry, Db.Clock), Db.DataSource, options);
            Stock = new FeedStockKind(store, options);
            Rollups = new FeedingRollups(Db.DataSource, Milk, options);
        }

        public Task DisposeAsync() => Db.DisposeAsync();
    }

    public sealed class MilkByHerd : IHerdMilkSource
    {
        public Dictionary<(string Pasture, DateOnly Day), Dictionary<string, double>> Days { get; } = [];

        public Task<IReadOnlyDictionary<string, double>> MilkKgByHerdAsync(string pastureId, DateOnly localDate, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlyDictionary<string, double>>(Days.TryGetValue((pastureId, localDate), out var byHerd) ? byHerd : []);
    }

    private static DateTimeOffset At(int hour, int minute = 0, int day = 1) => new(2026, 4, day, hour, minute, 0, TimeSpan.FromHours(8));

    private static object Feed(string id) => new { scheme = "cn.hohhot.feed", id };

    private static object Ingredient(string feed, double recipeKg, double loadedKg, double dm, string? origin = null) =>
        origin is null
            ? new { feedId = Feed(feed), recipeKg, loadedKg, dryMatterPercent = dm }
            : new { feedId = Feed(feed), recipeKg, loadedKg, dryMatterPercent = dm, origin };

    private static object Load(string loadId, string herd, object[] ingredients, string ration = "R1", int version = 1) =>
        new { @event = "load", loadId, herdId = herd, rationId = ration, rationVersion = version, ingredients };

    private static object Delivery(string herd, string pen, string loadId, int headCount, double kg, string ration = "R1") =>
        new { @event = "delivery", herdId = herd, pen, loadId, headCount, consumedRation = new { rationId = ration, entitlement = new { unitCode = "KGM", value = kg } } };

    private static object Refusal(string herd, string pen, double kg) => new { @event = "refusal", herdId = herd, pen, refusedKg = kg };

    private static object Ration(string[] herds, string id, int version) =>
        new
        {
            @event = "ration", herdIds = herds, rationVersion = version,
            ration = new { resourceType = "icarRationResource", id, feeds = new[] { new { feedId = Feed("silage_corn"), percentage = 60.0 }, new { feedId = Feed("concentrate"), percentage = 40.0 } } },
        };

    private static object StockBody(string storage, string feed, double kg, string? origin = "local_farm") =>
        new { storageType = "silage_clamp", origin, storage = new { id = storage, feedId = feed, quantityAvailable = new { unitCode = "KGM", value = kg } } };

    private Task<ApplyOutcome> Send(string pasture, DateTimeOffset at, object body, int? reuseSeq = null) =>
        fixture.Feed.SendAsync(fixture.Tmr, pasture, "cA", at, body, reuseSeq);

    private async Task<IReadOnlyList<AlertRow>> Open(string kind, string pasture) =>
        await fixture.Db.Alerts().QueryAsync(new AlertFilter { OpenOnly = true, Kind = kind, PastureId = pasture }, default);

    [Fact]
    public async Task Daily_rollup_of_a_herd_and_its_pasture_from_known_records()
    {
        // P1-H1: one load (recipe 1700 kg, loaded 1712: silage +20, alfalfa -8; dry matter 336.6 + 172.8 + 440 = 949.4 kg),
        // two pens given 900 + 800 kg, pen A leaves 51 kg (3 %); 40 + 35 cows; 1,800 kg of milk.
        // P1-H2: 100 kg of concentrate, all eaten, 10 cows, no refusal weighed.
        fixture.Milk.Days[("P1", Day)] = new() { ["P1-H1"] = 1800, ["P1-H2"] = 200 };
        await Send("P1", At(5), Load("P1-L1", "P1-H1",
            [Ingredient("silage_corn", 1000, 1020, 33, "local_farm"), Ingredient("alfalfa_hay", 200, 192, 90, "imported"), Ingredient("concentrate", 500, 500, 88)]));
        await Send("P1", At(5, 30), Delivery("P1-H1", "A", "P1-L1", 40, 900));
        await Send("P1", At(5, 40), Delivery("P1-H1", "B", "P1-L1", 35, 800));
        await Send("P1", At(15, 40), Delivery("P1-H1", "A", "P1-L-UNKNOWN", 38, 50));
        await Send("P1", At(22), Refusal("P1-H1", "A", 51));
        await Send("P1", At(6), Load("P1-L2", "P1-H2", [Ingredient("concentrate", 100, 100, 88)]));
        await Send("P1", At(6, 20), Delivery("P1-H2", "MAIN", "P1-L2", 10, 100));

        var (pasture, herds) = await fixture.Rollups.DailyAsync("P1", Day, null, default);
        var h1 = herds.Single(h => h.HerdId == "P1-H1");
        var dmFraction = 949.4 / 1712;
        Assert.Equal((1, 1700.0, 1712.0), (h1.Loads, h1.RecipeKg, h1.LoadedKg));
        Assert.Equal(949.4, h1.LoadedDryMatterKg, 6);
        Assert.Equal(100 - (28 / 1700.0 * 100), h1.LoadingAccuracyPercent!.Value, 6);
        Assert.Equal((3, 1750.0, 1), (h1.Deliveries, h1.DeliveredKg, h1.DeliveriesWithoutLoad)); // the unknown load's 50 kg: fed, no dry matter
        Assert.Equal(1700 * dmFraction, h1.DeliveredDryMatterKg, 6);
        Assert.Equal(51 / 1750.0 * 100, h1.RefusalsPercent!.Value, 6);
        Assert.Equal(51 * dmFraction, h1.RefusedDryMatterKg, 6);                // at the delivered TMR's dry matter
        Assert.Equal(1649 * dmFraction, h1.IntakeDryMatterKg, 6);
        Assert.Equal(40 + 35, h1.CowsInMilk);                                  // pen A's largest head count (40, not 38) plus pen B's
        Assert.Equal(1649 * dmFraction / 75, h1.DryMatterIntakePerCowKg!.Value, 6);
        Assert.Equal(1800 / (1649 * dmFraction), h1.FeedEfficiency!.Value, 6);
        Assert.Equal(1.02 * 500 + 0.5 * 3000, h1.CostCny!.Value, 6);            // alfalfa has no price...
        Assert.Equal(192, h1.UnpricedKg);                                       // ...and is shown apart
        Assert.Equal(["R1 v1"], h1.RationsFed);

        var h2 = herds.Single(h => h.HerdId == "P1-H2");
        Assert.Null(h2.RefusalsPercent);                                       // none weighed: no claim of 0 %
        Assert.Equal(88, h2.IntakeDryMatterKg, 6);
        Assert.Equal(100, h2.LoadingAccuracyPercent!.Value, 6);

        Assert.Equal(("", 2, 1800.0, 1812.0, 1850.0), (pasture.HerdId, pasture.Loads, pasture.RecipeKg, pasture.LoadedKg, pasture.DeliveredKg));
        Assert.Equal(100 - (28 / 1800.0 * 100), pasture.LoadingAccuracyPercent!.Value, 6);
        Assert.Equal(85, pasture.CowsInMilk);
        Assert.Equal(2000 / ((1649 * dmFraction) + 88), pasture.FeedEfficiency!.Value, 6);
        Assert.Equal(1.02 * 500 + 0.6 * 3000, pasture.CostCny!.Value, 6);

        var (_, onlyH2) = await fixture.Rollups.DailyAsync("P1", Day, "P1-H2", default);
        Assert.Equal(["P1-H2"], onlyH2.Select(h => h.HerdId));
        var (nextDay, none) = await fixture.Rollups.DailyAsync("P1", Day.AddDays(1), null, default);
        Assert.Empty(none);
        Assert.Equal(0, nextDay.DeliveredKg);
    }

    [Fact]
    public async Task Redelivered_load_is_a_duplicate_and_counted_once()
    {
        var load = Load("P2-L1", "P2-H1", [Ingredient("concentrate", 300, 301, 88)]);
        Assert.Equal(ApplyOutcome.Applied, await Send("P2", At(5), load));
        var seq = fixture.Feed.LastSeq;
        Assert.Equal(ApplyOutcome.Duplicate, await Send("P2", At(5), load, reuseSeq: seq));
        var (pasture, _) = await fixture.Rollups.DailyAsync("P2", Day, null, default);
        Assert.Equal((1, 301.0), (pasture.Loads, pasture.LoadedKg));
        await using var connection = await fixture.Db.DataSource.OpenConnectionAsync();
        Assert.Equal(1, await connection.ExecuteScalarAsync<long>("select count(*) from feed_load_ingredient where pasture_id = 'P2'"));
    }

    [Fact]
    public async Task A_herd_of_another_pasture_is_refused_as_unknown_herd()
    {
        var refusal = await fixture.Feed.RefusalAsync(fixture.Tmr, "P3", "cA", At(5), Delivery("P4-H1", "A", "L", 10, 100));
        Assert.Equal(("unknown_herd", "herdId 'P4-H1' is not registered on pasture 'P3'"), (refusal?.Reason, refusal?.Detail));
        var ration = await fixture.Feed.RefusalAsync(fixture.Tmr, "P3", "cA", At(4), Ration(["P3-H1", "P3-H9"], "R1", 1));
        Assert.Equal(("unknown_herd", "herdIds[1] 'P3-H9' is not registered on pasture 'P3'"), (ration?.Reason, ration?.Detail));
        Assert.Null(await fixture.Feed.RefusalAsync(fixture.Tmr, "P3", "cA", At(5), Delivery("P3-H2", "A", "L", 10, 100)));
    }

    [Fact]
    public async Task A_load_id_used_by_another_message_is_refused_naming_loadId()
    {
        await Send("P3", At(5), Load("P3-L1", "P3-H1", [Ingredient("concentrate", 300, 300, 88)]));
        var refusal = await fixture.Feed.RefusalAsync(fixture.Tmr, "P3", "cA", At(6), Load("P3-L1", "P3-H1", [Ingredient("concentrate", 200, 200, 88)]));
        Assert.Equal("invalid_field", refusal?.Reason);
        Assert.StartsWith("loadId 'P3-L1' is already the load of P3-TMR1", refusal?.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Loading_deviation_beyond_the_limit_raises_an_alert_and_the_next_load_within_it_clears_it()
    {
        // 5 % allowed: silage 1,049 of 1,000 (+4.9 %) raises nothing; 1,060 (+6 %) raises; concentrate within it stays quiet.
        await Send("P5", At(5), Load("P5-L1", "P5-H1", [Ingredient("silage_corn", 1000, 1049, 33, "local_farm"), Ingredient("concentrate", 500, 500, 88)]));
        Assert.Empty(await Open(AlertKinds.FeedLoadingDeviation, "P5"));
        await Send("P5", At(6), Load("P5-L2", "P5-H1", [Ingredient("silage_corn", 1000, 1060, 33, "local_farm"), Ingredient("concentrate", 500, 490, 88)]));
        var alert = Assert.Single(await Open(AlertKinds.FeedLoadingDeviation, "P5"));
        Assert.Equal("feed_loading_deviation:P5-TMR1:silage_corn", alert.AlertKey);
        Assert.Contains("1060 kg of silage_corn for 1000 kg", alert.Message, StringComparison.Ordinal);
        await Send("P5", At(7), Load("P5-L3", "P5-H1", [Ingredient("silage_corn", 1000, 990, 33, "local_farm")]));
        Assert.Empty(await Open(AlertKinds.FeedLoadingDeviation, "P5"));
    }

    [Fact]
    public async Task Refusals_out_of_band_raise_an_alert_and_a_day_in_band_clears_it()
    {
        // Band 2-8 %: a day with only deliveries is not judged; 100 of 1,000 kg (10 %) raises; the next day's 40 (4 %) clears.
        await Send("P6", At(5), Delivery("P6-H1", "A", "P6-L1", 50, 1000));
        Assert.Empty(await Open(AlertKinds.FeedRefusals, "P6"));
        await Send("P6", At(22), Refusal("P6-H1", "A", 100));
        var alert = Assert.Single(await Open(AlertKinds.FeedRefusals, "P6"));
        Assert.Equal("feed_refusals:P6-H1", alert.AlertKey);
        Assert.Contains("left 10 % of the 1000 kg delivered on 2026-04-01", alert.Message, StringComparison.Ordinal);
        await Send("P6", At(5, day: 2), Delivery("P6-H1", "A", "P6-L2", 50, 1000));
        await Send("P6", At(22, day: 2), Refusal("P6-H1", "A", 40));
        Assert.Empty(await Open(AlertKinds.FeedRefusals, "P6"));
    }

    [Fact]
    public async Task Refusals_within_the_band_raise_no_alert_and_too_few_do()
    {
        await Send("P6", At(5), Delivery("P6-H2", "A", "P6-L9", 50, 1000));
        await Send("P6", At(22), Refusal("P6-H2", "A", 30));
        Assert.DoesNotContain(await Open(AlertKinds.FeedRefusals, "P6"), a => a.AlertKey == "feed_refusals:P6-H2");
        await Send("P6", At(5, day: 2), Delivery("P6-H2", "A", "P6-L10", 50, 1000));
        await Send("P6", At(22, day: 2), Refusal("P6-H2", "A", 5)); // 0.5 %: the cows may be underfed
        Assert.Contains(await Open(AlertKinds.FeedRefusals, "P6"), a => a.AlertKey == "feed_refusals:P6-H2");
    }

    [Fact]
    public async Task A_load_of_another_ration_than_the_herds_current_one_raises_an_alert()
    {
        // P7-H2 has no ration announced: its loads are not judged. P7-H1 is on R2 v3 from 04:00.
        await Send("P7", At(5), Load("P7-L0", "P7-H2", [Ingredient("concentrate", 100, 100, 88)], "ANY", 9));
        await Send("P7", At(4), Ration(["P7-H1"], "R2", 3));
        await Send("P7", At(5), Load("P7-L1", "P7-H1", [Ingredient("concentrate", 100, 100, 88)], "R2", 3));
        Assert.Empty(await Open(AlertKinds.FeedRationMismatch, "P7"));
        await Send("P7", At(6), Load("P7-L2", "P7-H1", [Ingredient("concentrate", 100, 100, 88)], "R2", 2)); // last version
        var alert = Assert.Single(await Open(AlertKinds.FeedRationMismatch, "P7"));
        Assert.Equal(("feed_ration_mismatch:P7-H1", "Herd P7-H1 was fed ration R2 v2 (load P7-L2); its current ration is R2 v3"), (alert.AlertKey, alert.Message));
        await Send("P7", At(7), Load("P7-L3", "P7-H1", [Ingredient("concentrate", 100, 100, 88)], "R2", 3));
        Assert.Empty(await Open(AlertKinds.FeedRationMismatch, "P7"));
    }

    [Fact]
    public async Task Stock_below_the_days_of_use_raises_an_alert_and_a_refill_clears_it()
    {
        // Silage used 1,000 kg a day (two days of loads); 7 days needed: 10,000 kg is enough, 6,000 kg in two clamps is not.
        await Send("P8", At(5), Load("P8-L1", "P8-H1", [Ingredient("silage_corn", 1000, 1000, 33, "local_farm")]));
        await Send("P8", At(5, day: 2), Load("P8-L2", "P8-H1", [Ingredient("silage_corn", 1000, 1000, 33, "local_farm")]));
        await fixture.Feed.SendAsync(fixture.Stock, "P8", "cA", At(18, day: 2), StockBody("CLAMP-1", "silage_corn", 10_000));
        Assert.Empty(await Open(AlertKinds.FeedStockLow, "P8"));
        await fixture.Feed.SendAsync(fixture.Stock, "P8", "cA", At(19, day: 2), StockBody("CLAMP-1", "silage_corn", 4_000));
        await fixture.Feed.SendAsync(fixture.Stock, "P8", "cA", At(19, day: 2), StockBody("CLAMP-2", "silage_corn", 2_000));
        var alert = Assert.Single(await Open(AlertKinds.FeedStockLow, "P8"));
        Assert.Equal("feed_stock_low:P8:silage_corn", alert.AlertKey);
        Assert.Contains("holds 6 t of silage_corn, 6 days", alert.Message, StringComparison.Ordinal);
        await fixture.Feed.SendAsync(fixture.Stock, "P8", "cA", At(20, day: 2), StockBody("CLAMP-1", "silage_corn", 50_000));
        Assert.Empty(await Open(AlertKinds.FeedStockLow, "P8"));

        var stocks = await fixture.Rollups.StocksAsync("P8", new DateOnly(2026, 4, 2), default);
        Assert.Equal(["CLAMP-1", "CLAMP-2"], stocks.Select(s => s.Stock.StorageId));
        Assert.Equal(52, stocks[0].DaysOfUse!.Value, 6);   // (50,000 + 2,000) / 1,000 a day
    }

    [Fact]
    public async Task Stock_of_a_feed_not_in_use_raises_no_alert()
    {
        await fixture.Feed.SendAsync(fixture.Stock, "P9", "cA", At(18), StockBody("BARN-1", "oat_hay", 10, "hohhot"));
        Assert.Empty(await Open(AlertKinds.FeedStockLow, "P9"));
    }
}
