using System.Text.Json;
using System.Text.Json.Nodes;
using HohhotCluster.Telemetry.Audit;
using HohhotCluster.Telemetry.Audit.Feeding;
using HohhotCluster.Telemetry.Tests.Ingestion;

namespace HohhotCluster.Telemetry.Tests.Audit;

/// <summary>The <c>tmr</c> and <c>feed_stock</c> bodies as docs/mqtt-contract.md writes them, and each rule's refusal naming its member.</summary>
public sealed class FeedingPayloadTests
{
    private static readonly FeedingOptions Options = new();
    private static readonly DateTimeOffset At = new(2026, 11, 29, 5, 10, 0, TimeSpan.FromHours(8));

    public static string Example(string marker) => ContractExamples.All.Single(e => e.Contains(marker, StringComparison.Ordinal));

    public static string Ration => Example("\"event\": \"ration\"");
    public static string Load => Example("\"event\": \"load\"");
    public static string Delivery => Example("\"event\": \"delivery\"");
    public static string Refusal => Example("\"event\": \"refusal\"");
    public static string Stock => Example("\"storageType\"");

    [Fact]
    public void Contract_ration_reads_its_herds_version_and_feeds()
    {
        var r = ParseTmr(Ration);
        Assert.Equal(TmrEvent.Ration, r.Event);
        Assert.Equal(["P150121001-H1"], r.HerdIds);
        Assert.Equal(("LACT-HIGH", 3), (r.RationId, r.RationVersion));
        Assert.Equal(4, r.Feeds.Count);
        Assert.Equal(new RationFeed("silage_corn", 52.0), r.Feeds[0]);
    }

    [Fact]
    public void Contract_load_reads_recipe_loaded_dry_matter_and_origin_per_ingredient()
    {
        var r = ParseTmr(Load);
        Assert.Equal(("TMR1-20261129-01", "P150121001-H1"), (r.LoadId, r.HerdId));
        Assert.Equal(new LoadIngredient("silage_corn", 5200, 5262, 33.0, FeedOrigin.LocalFarm), r.Ingredients[0]);
        Assert.Equal(FeedOrigin.Imported, r.Ingredients[1].Origin);
        Assert.Null(r.Ingredients[3].Origin); // concentrate: not a forage, no origin needed
        Assert.Equal(new DateOnly(2026, 11, 29), r.LocalDate);
    }

    [Fact]
    public void Contract_delivery_reads_the_pen_its_cows_and_the_kg_as_fed()
    {
        var r = ParseTmr(Delivery);
        Assert.Equal((TmrEvent.Delivery, "PEN-3", 220, 4950.0, "LACT-HIGH"), (r.Event, r.Pen, r.HeadCount, r.Kg, r.RationId));
    }

    [Fact]
    public void Contract_refusal_weighed_next_morning_belongs_to_the_feeding_day()
    {
        var r = ParseTmr(Refusal, new DateTimeOffset(2026, 11, 30, 4, 50, 0, TimeSpan.FromHours(8)));
        Assert.Equal((TmrEvent.Refusal, 610.0, 41.0), (r.Event, r.Kg, r.DryMatterPercent!.Value));
        Assert.Equal(new DateOnly(2026, 11, 29), r.LocalDate);
    }

    [Fact]
    public void Contract_feed_stock_converts_tonnes_to_kg()
    {
        var s = FeedingPayloads.ParseFeedStock(Parse(Stock), At, Options);
        Assert.Equal(("CLAMP-2", "silage_corn", "silage_clamp"), (s.StorageId, s.FeedId, s.StorageType));
        Assert.Equal(3_150_000, s.QuantityKg);
        Assert.Equal(9_000_000, s.CapacityKg);
        Assert.Equal(FeedOrigin.LocalFarm, s.Origin);
    }

    [Theory]
    [InlineData("ingredients/1/feedId/id", "\"molasses_x\"", "invalid_field", "ingredients[1].feedId.id 'molasses_x' is not a known feed")]
    [InlineData("ingredients/0/feedId/scheme", "\"fao.org\"", "invalid_field", "ingredients[0].feedId.scheme must be cn.hohhot.feed")]
    [InlineData("ingredients/2/dryMatterPercent", "120", "invalid_field", "ingredients[2].dryMatterPercent must be between 1 and 100")]
    [InlineData("ingredients/0/recipeKg", "0", "invalid_field", "ingredients[0].recipeKg must be above 0")]
    [InlineData("ingredients/0/loadedKg", "-3", "invalid_field", "ingredients[0].loadedKg must be between 0 and 60000")]
    [InlineData("ingredients/1/origin", "\"mars\"", "invalid_field", "ingredients[1].origin must be one of local_farm, hohhot, inner_mongolia, imported")]
    [InlineData("ingredients/1/feedId/id", "\"silage_corn\"", "invalid_field", "ingredients[1].feedId names feed 'silage_corn' twice")]
    [InlineData("rationVersion", "0", "invalid_field", "rationVersion must be between 1 and 1000000")]
    [InlineData("herdId", "\"\"", "invalid_field", "herdId must be 1-64 characters")]
    [InlineData("event", "\"mix\"", "invalid_field", "event must be one of ration, load, delivery, refusal")]
    public void Load_breaking_a_rule_is_refused_naming_the_member(string path, string value, string reason, string detail) =>
        AssertRefused(ParseTmrRejection(With(Load, path, value)), reason, detail);

    [Fact]
    public void Load_of_a_forage_without_origin_is_refused_as_missing()
    {
        AssertRefused(ParseTmrRejection(Without(Load, "ingredients/2/origin")), "missing_field", "ingredients[2].origin is required for the forage 'oat_hay'");
    }

    [Fact]
    public void Load_without_dry_matter_is_refused_as_missing() =>
        AssertRefused(ParseTmrRejection(Without(Load, "ingredients/3/dryMatterPercent")), "missing_field", "ingredients[3].dryMatterPercent is required");

    [Theory]
    [InlineData("ration/feeds/0/percentage", "60", "invalid_field", "ration.feeds percentages must add up to 100 (+-1), not 108")]
    [InlineData("ration/resourceType", "\"icarFeedResource\"", "invalid_field", "ration.resourceType must be icarRationResource")]
    [InlineData("ration/active", "false", "invalid_field", "ration.active must be true")]
    [InlineData("ration/feeds/1/feedId/id", "\"grass\"", "invalid_field", "ration.feeds[1].feedId.id 'grass' is not a known feed")]
    [InlineData("herdIds", "[]", "invalid_field", "herdIds must hold 1-100 entries")]
    [InlineData("herdIds", "[\"H\", \"H\"]", "invalid_field", "herdIds[1] names herd 'H' twice")]
    public void Ration_breaking_a_rule_is_refused_naming_the_member(string path, string value, string reason, string detail) =>
        AssertRefused(ParseTmrRejection(With(Ration, path, value)), reason, detail);

    [Theory]
    [InlineData("consumedRation/entitlement/value", "0", "invalid_field", "consumedRation.entitlement.value must be above 0")]
    [InlineData("consumedRation/entitlement/unitCode", "\"LBR\"", "invalid_field", "consumedRation.entitlement.unitCode must be one of KGM, TNE")]
    [InlineData("consumedRation/feedConsumption", "{\"unitCode\": \"KGM\", \"value\": 1}", "invalid_field", "consumedRation.feedConsumption is not sent")]
    [InlineData("headCount", "0", "invalid_field", "headCount must be between 1 and 20000")]
    [InlineData("headCount", "12.5", "invalid_field", "headCount must be an integer")]
    public void Delivery_breaking_a_rule_is_refused_naming_the_member(string path, string value, string reason, string detail) =>
        AssertRefused(ParseTmrRejection(With(Delivery, path, value)), reason, detail);

    [Fact]
    public void Delivery_without_its_load_id_is_refused_as_missing() =>
        AssertRefused(ParseTmrRejection(Without(Delivery, "loadId")), "missing_field", "loadId is required");

    [Fact]
    public void Refusal_two_days_after_its_feeding_day_is_refused_naming_localDate()
    {
        var rejection = ParseTmrRejection(With(Refusal, "localDate", "\"2026-11-28\""), new DateTimeOffset(2026, 11, 30, 4, 50, 0, TimeSpan.FromHours(8)));
        AssertRefused(rejection, "invalid_field", "localDate must be the event's local day or the day before it");
    }

    [Theory]
    [InlineData("storage/quantityAvailable/value", "9500", "invalid_field", "storage.quantityAvailable must not exceed storage.capacity")]
    [InlineData("storage/feedId", "\"hay\"", "invalid_field", "storage.feedId 'hay' is not a known feed")]
    [InlineData("storageType", "\"pile\"", "invalid_field", "storageType must be one of silage_clamp, hay_barn, bin, bag")]
    [InlineData("storage/quantityAvailable", "12", "invalid_field", "storage.quantityAvailable must be an ICAR feed quantity")]
    public void Feed_stock_breaking_a_rule_is_refused_naming_the_member(string path, string value, string reason, string detail)
    {
        var body = With(Stock, path, value);
        if (path == "storage/quantityAvailable/value")
        {
            body = With(body, "storage/quantityAvailable/unitCode", "\"TNE\"");
        }

        var error = Assert.Throws<PayloadRejectedException>(() => FeedingPayloads.ParseFeedStock(Parse(body), At, Options));
        AssertRefused(error.Rejection, reason, detail);
    }

    [Fact]
    public void Feed_stock_of_a_forage_without_origin_is_refused_as_missing()
    {
        var error = Assert.Throws<PayloadRejectedException>(() => FeedingPayloads.ParseFeedStock(Parse(Without(Stock, "origin")), At, Options));
        AssertRefused(error.Rejection, "missing_field", "origin is required for the forage 'silage_corn'");
    }

    [Fact]
    public void A_configured_catalogue_replaces_the_default_feeds()
    {
        var options = new FeedingOptions { Feeds = [new FeedDefinition { Id = "corn_silage_local", Category = FeedCategory.SilageCorn }] };
        var error = Assert.Throws<PayloadRejectedException>(() => FeedingPayloads.ParseTmr(Parse(Load), At, options));
        AssertRefused(error.Rejection, "invalid_field", "ingredients[0].feedId.id 'silage_corn' is not a known feed");
    }

    private static void AssertRefused(HohhotCluster.Telemetry.Kinds.Rejection rejection, string reason, string detailStart)
    {
        Assert.Equal(reason, rejection.Reason);
        Assert.StartsWith(detailStart, rejection.Detail, StringComparison.Ordinal);
    }

    private static TmrRecord ParseTmr(string json, DateTimeOffset? at = null) => FeedingPayloads.ParseTmr(Parse(json), at ?? At, Options);

    private static HohhotCluster.Telemetry.Kinds.Rejection ParseTmrRejection(string json, DateTimeOffset? at = null) =>
        Assert.Throws<PayloadRejectedException>(() => FeedingPayloads.ParseTmr(Parse(json), at ?? At, Options)).Rejection;

    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement.Clone();

    /// <summary>The example with the member at a slash path set to a JSON value.</summary>
    public static string With(string json, string path, string value)
    {
        var root = JsonNode.Parse(json)!;
        var (parent, last) = Walk(root, path);
        var node = JsonNode.Parse(value);
        if (parent is JsonArray array)
        {
            array[int.Parse(last, System.Globalization.CultureInfo.InvariantCulture)] = node;
        }
        else
        {
            parent.AsObject()[last] = node;
        }

        return root.ToJsonString();
    }

    public static string Without(string json, string path)
    {
        var root = JsonNode.Parse(json)!;
        var (parent, last) = Walk(root, path);
        parent.AsObject().Remove(last);
        return root.ToJsonString();
    }

    private static (JsonNode Parent, string Last) Walk(JsonNode root, string path)
    {
        var parts = path.Split('/');
        var node = root;
        foreach (var part in parts[..^1])
        {
            node = node is JsonArray a ? a[int.Parse(part, System.Globalization.CultureInfo.InvariantCulture)]! : node[part]!;
        }

        return (node, parts[^1]);
    }
}
