using System.Globalization;
using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Audit.Feeding;

/// <summary>
/// The bodies of the <c>tmr</c> and <c>feed_stock</c> kinds (docs/mqtt-contract.md, "Feeding kinds"), pure: no I/O.
/// Every refusal names the member that broke the rule by its path (<c>ingredients[2].loadedKg</c>).
/// </summary>
public static class FeedingPayloads
{
    public const int MaxIdLength = 64;
    public const int MaxIngredients = 30;
    public const int MaxRationHerds = 100;

    /// <summary>A mixer wagon's load: the largest hold about 45 m³, some 20 t of TMR; 60 t leaves room for any scale.</summary>
    public const double MaxLoadKg = 60_000;

    public const int MaxPenHead = 20_000;

    /// <summary>A store's quantity: a large clamp holds tens of thousands of tonnes.</summary>
    public const double MaxStockKg = 1_000_000_000;

    public static readonly string[] StorageTypes = ["silage_clamp", "hay_barn", "bin", "bag"];

    public static TmrRecord ParseTmr(JsonElement body, DateTimeOffset eventTime, FeedingOptions options)
    {
        var day = ChinaTime.LocalDate(eventTime);
        var kind = (TmrEvent)Array.IndexOf(TmrEvents.Names, PayloadFields.RequiredChoice(body, "event", TmrEvents.Names));
        return kind switch
        {
            TmrEvent.Ration => ParseRation(body, day, options),
            TmrEvent.Load => ParseLoad(body, day, options),
            TmrEvent.Delivery => ParseDelivery(body, day),
            _ => ParseRefusal(body, day),
        };
    }

    public static FeedStockRecord ParseFeedStock(JsonElement body, DateTimeOffset eventTime, FeedingOptions options)
    {
        var storage = RequiredObject(body, "storage");
        var storageId = Nested("storage.", () => PayloadFields.RequiredString(storage, "id", MaxIdLength));
        var name = Nested("storage.", () => PayloadFields.OptionalString(storage, "name", 128));
        var feedId = Nested("storage.", () => PayloadFields.RequiredString(storage, "feedId", 32));
        var feed = options.Find(feedId) ?? throw UnknownFeed("storage.feedId", feedId);
        var quantity = Quantity(storage, "storage.", "quantityAvailable", MaxStockKg) ?? throw PayloadFields.Missing("storage.quantityAvailable");
        var capacity = Quantity(storage, "storage.", "capacity", MaxStockKg);
        if (capacity is { } c && quantity > c)
        {
            throw PayloadFields.Invalid("storage.quantityAvailable", "must not exceed storage.capacity");
        }

        return new FeedStockRecord
        {
            LocalDate = ChinaTime.LocalDate(eventTime),
            StorageId = storageId,
            StorageName = name,
            StorageType = PayloadFields.RequiredChoice(body, "storageType", StorageTypes),
            FeedId = feed.Id,
            QuantityKg = quantity,
            CapacityKg = capacity,
            DryMatterPercent = OptionalPercent(body, "", "dryMatterPercent"),
            Origin = Origin(body, "", feed),
        };
    }

    private static TmrRecord ParseRation(JsonElement body, DateOnly day, FeedingOptions options)
    {
        var herds = RequiredArray(body, "herdIds", 1, MaxRationHerds);
        var herdIds = new List<string>(herds.GetArrayLength());
        var index = 0;
        foreach (var herd in herds.EnumerateArray())
        {
            if (herd.ValueKind != JsonValueKind.String || herd.GetString() is not { Length: > 0 and <= MaxIdLength } id)
            {
                throw PayloadFields.Invalid($"herdIds[{index}]", $"must be a herd id of 1-{MaxIdLength} characters");
            }

            if (herdIds.Contains(id))
            {
                throw PayloadFields.Invalid($"herdIds[{index}]", $"names herd '{id}' twice");
            }

            herdIds.Add(id);
            index++;
        }

        var version = PayloadFields.RequiredInt(body, "rationVersion", 1, 1_000_000);
        var ration = RequiredObject(body, "ration");
        if (Nested("ration.", () => PayloadFields.RequiredString(ration, "resourceType", 64)) != "icarRationResource")
        {
            throw PayloadFields.Invalid("ration.resourceType", "must be icarRationResource");
        }

        var rationId = Nested("ration.", () => PayloadFields.RequiredString(ration, "id", MaxIdLength));
        var name = Nested("ration.", () => PayloadFields.OptionalString(ration, "name", 128));
        if (ration.TryGetProperty("active", out var active) && active.ValueKind != JsonValueKind.Null)
        {
            if (active.ValueKind is not (JsonValueKind.True or JsonValueKind.False))
            {
                throw PayloadFields.Invalid("ration.active", "must be a boolean");
            }

            if (active.ValueKind == JsonValueKind.False)
            {
                throw PayloadFields.Invalid("ration.active", "must be true: a ration message puts its herds on the ration");
            }
        }

        var feedsArray = RequiredArray(ration, "feeds", 1, MaxIngredients, "ration.");
        var feeds = new List<RationFeed>(feedsArray.GetArrayLength());
        var total = 0.0;
        index = 0;
        foreach (var item in feedsArray.EnumerateArray())
        {
            var path = $"ration.feeds[{index}].";
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw PayloadFields.Invalid($"ration.feeds[{index}]", "must be an object");
            }

            var feed = FeedId(item, path, options);
            if (feeds.Exists(f => f.FeedId == feed.Id))
            {
                throw PayloadFields.Invalid(path + "feedId", $"names feed '{feed.Id}' twice");
            }

            var percentage = Nested(path, () => PayloadFields.RequiredDouble(item, "percentage", 0, 100));
            if (percentage <= 0)
            {
                throw PayloadFields.Invalid(path + "percentage", "must be above 0");
            }

            total += percentage;
            feeds.Add(new RationFeed(feed.Id, percentage));
            index++;
        }

        if (Math.Abs(total - 100) > 1)
        {
            throw PayloadFields.Invalid("ration.feeds", $"percentages must add up to 100 (+-1), not {total.ToString("0.##", CultureInfo.InvariantCulture)}");
        }

        return new TmrRecord
        {
            Event = TmrEvent.Ration, LocalDate = day, RationId = rationId, RationVersion = version, RationName = name,
            HerdIds = herdIds, Feeds = feeds,
        };
    }

    private static TmrRecord ParseLoad(JsonElement body, DateOnly day, FeedingOptions options)
    {
        var loadId = PayloadFields.RequiredString(body, "loadId", MaxIdLength);
        var herdId = PayloadFields.RequiredString(body, "herdId", MaxIdLength);
        var rationId = PayloadFields.RequiredString(body, "rationId", MaxIdLength);
        var version = PayloadFields.RequiredInt(body, "rationVersion", 1, 1_000_000);
        var array = RequiredArray(body, "ingredients", 1, MaxIngredients);
        var ingredients = new List<LoadIngredient>(array.GetArrayLength());
        double loadedTotal = 0;
        var index = 0;
        foreach (var item in array.EnumerateArray())
        {
            var path = $"ingredients[{index}].";
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw PayloadFields.Invalid($"ingredients[{index}]", "must be an object");
            }

            var feed = FeedId(item, path, options);
            if (ingredients.Exists(i => i.FeedId == feed.Id))
            {
                throw PayloadFields.Invalid(path + "feedId", $"names feed '{feed.Id}' twice in one load");
            }

            var recipe = Nested(path, () => PayloadFields.RequiredDouble(item, "recipeKg", 0, MaxLoadKg));
            if (recipe <= 0)
            {
                throw PayloadFields.Invalid(path + "recipeKg", "must be above 0 (an ingredient the recipe leaves out is not loaded)");
            }

            var loaded = Nested(path, () => PayloadFields.RequiredDouble(item, "loadedKg", 0, MaxLoadKg));
            var dryMatter = OptionalPercent(item, path, "dryMatterPercent") ?? throw PayloadFields.Missing(path + "dryMatterPercent");
            loadedTotal += loaded;
            ingredients.Add(new LoadIngredient(feed.Id, recipe, loaded, dryMatter, Origin(item, path, feed)));
            index++;
        }

        if (loadedTotal <= 0 || loadedTotal > MaxLoadKg)
        {
            throw PayloadFields.Invalid("ingredients", $"loadedKg must add up to more than 0 and at most {MaxLoadKg.ToString(CultureInfo.InvariantCulture)} kg");
        }

        return new TmrRecord
        {
            Event = TmrEvent.Load, LocalDate = day, LoadId = loadId, HerdId = herdId, RationId = rationId, RationVersion = version,
            Ingredients = ingredients,
        };
    }

    private static TmrRecord ParseDelivery(JsonElement body, DateOnly day)
    {
        var herdId = PayloadFields.RequiredString(body, "herdId", MaxIdLength);
        var pen = PayloadFields.OptionalString(body, "pen", 32) ?? "";
        var loadId = PayloadFields.RequiredString(body, "loadId", MaxIdLength);
        var headCount = PayloadFields.RequiredInt(body, "headCount", 1, MaxPenHead);
        var consumed = RequiredObject(body, "consumedRation");
        var rationId = Nested("consumedRation.", () => PayloadFields.RequiredString(consumed, "rationId", MaxIdLength));
        var kg = Quantity(consumed, "consumedRation.", "entitlement", MaxLoadKg) ?? throw PayloadFields.Missing("consumedRation.entitlement");
        if (kg <= 0)
        {
            throw PayloadFields.Invalid("consumedRation.entitlement.value", "must be above 0");
        }

        if (consumed.TryGetProperty("feedConsumption", out _))
        {
            throw PayloadFields.Invalid("consumedRation.feedConsumption", "is not sent: what the pen ate is the delivery less its refusal");
        }

        return new TmrRecord
        {
            Event = TmrEvent.Delivery, LocalDate = day, HerdId = herdId, Pen = pen, LoadId = loadId, RationId = rationId,
            Kg = kg, HeadCount = headCount,
        };
    }

    private static TmrRecord ParseRefusal(JsonElement body, DateOnly day)
    {
        var herdId = PayloadFields.RequiredString(body, "herdId", MaxIdLength);
        var pen = PayloadFields.OptionalString(body, "pen", 32) ?? "";
        var kg = PayloadFields.RequiredDouble(body, "refusedKg", 0, MaxLoadKg);

        // Refusals are weighed back before the next morning's feeding: they may belong to the day before the event's.
        var feedingDay = PayloadFields.OptionalDate(body, "localDate") ?? day;
        if (feedingDay > day || feedingDay < day.AddDays(-1))
        {
            throw PayloadFields.Invalid("localDate", "must be the event's local day or the day before it");
        }

        var rationId = PayloadFields.OptionalString(body, "rationId", MaxIdLength) ?? "";
        return new TmrRecord
        {
            Event = TmrEvent.Refusal, LocalDate = feedingDay, HerdId = herdId, Pen = pen, RationId = rationId, Kg = kg,
            DryMatterPercent = OptionalPercent(body, "", "dryMatterPercent"),
        };
    }

    /// <summary>An ICAR feed identifier (<c>{"scheme": "cn.hohhot.feed", "id": ...}</c>) naming a configured feed.</summary>
    private static FeedDefinition FeedId(JsonElement item, string path, FeedingOptions options)
    {
        var feedId = RequiredObject(item, "feedId", path);
        var scheme = Nested(path + "feedId.", () => PayloadFields.RequiredString(feedId, "scheme", 64));
        if (scheme != FeedingOptions.FeedScheme)
        {
            throw PayloadFields.Invalid(path + "feedId.scheme", "must be " + FeedingOptions.FeedScheme);
        }

        var id = Nested(path + "feedId.", () => PayloadFields.RequiredString(feedId, "id", 32));
        return options.Find(id) ?? throw UnknownFeed(path + "feedId.id", id);
    }

    private static PayloadRejectedException UnknownFeed(string path, string id) =>
        PayloadFields.Invalid(path, $"'{id}' is not a known feed (Audit:Feeding:Feeds)");

    /// <summary>The plan's forages must say where they were grown (the forage KPI); other feeds may.</summary>
    private static FeedOrigin? Origin(JsonElement item, string path, FeedDefinition feed)
    {
        var text = Nested(path, () => PayloadFields.OptionalString(item, "origin", 32));
        if (text is null)
        {
            return FeedCategories.IsForage(feed.Category)
                ? throw new PayloadRejectedException(new Rejection(QuarantineReasons.MissingField, $"{path}origin is required for the forage '{feed.Id}'"))
                : null;
        }

        return FeedOrigins.Parse(text) ?? throw PayloadFields.Invalid(path + "origin", "must be one of " + string.Join(", ", FeedOrigins.Names));
    }

    private static double? OptionalPercent(JsonElement item, string path, string name)
    {
        var value = Nested(path, () => PayloadFields.OptionalDecimal(item, name, 1, 100));
        return value is { } v ? (double)v : null;
    }

    /// <summary>An ICAR <c>icarFeedQuantityType</c> (<c>{"unitCode": "KGM", "value": 1200}</c>), in kg; KGM or TNE.</summary>
    private static double? Quantity(JsonElement parent, string path, string name, double maxKg)
    {
        if (!parent.TryGetProperty(name, out var quantity) || quantity.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        if (quantity.ValueKind != JsonValueKind.Object)
        {
            throw PayloadFields.Invalid(path + name, "must be an ICAR feed quantity {unitCode, value}");
        }

        var unit = Nested(path + name + ".", () => PayloadFields.RequiredChoice(quantity, "unitCode", "KGM", "TNE"));
        var factor = unit == "TNE" ? 1000.0 : 1.0;
        return Nested(path + name + ".", () => PayloadFields.RequiredDouble(quantity, "value", 0, maxKg / factor)) * factor;
    }

    private static JsonElement RequiredObject(JsonElement parent, string name, string path = "")
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            throw PayloadFields.Missing(path + name);
        }

        return value.ValueKind == JsonValueKind.Object ? value : throw PayloadFields.Invalid(path + name, "must be an object");
    }

    private static JsonElement RequiredArray(JsonElement parent, string name, int min, int max, string path = "")
    {
        if (!parent.TryGetProperty(name, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            throw PayloadFields.Missing(path + name);
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw PayloadFields.Invalid(path + name, "must be an array");
        }

        var length = value.GetArrayLength();
        return length >= min && length <= max ? value : throw PayloadFields.Invalid(path + name, $"must hold {min}-{max} entries");
    }

    /// <summary>Runs a <see cref="PayloadFields"/> read on a nested object and puts the object's path in front of the field it names.</summary>
    private static T Nested<T>(string path, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (PayloadRejectedException rejected)
        {
            throw new PayloadRejectedException(rejected.Rejection with { Detail = path + rejected.Rejection.Detail });
        }
    }
}
