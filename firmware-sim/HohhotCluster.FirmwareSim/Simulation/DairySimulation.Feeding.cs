using HohhotCluster.FirmwareSim.Fleet;

namespace HohhotCluster.FirmwareSim.Simulation;

/// <summary>
/// TMR feeding (kinds <c>tmr</c> and <c>feed_stock</c>): each pasture's mixer announces its herds' ration (04:30), mixes
/// and delivers twice a day (05:00 and 15:00, one load per herd and feeding up to the mixer's 18 t), weighs back the
/// refusals at 23:30; its feed stores report at 18:00. Dry matter intake of a cow in milk is 3.5 % of 650 kg (domain.md:
/// about 3-4 % of body weight, 22-25 kg for a lactating Holstein), of a goat in milk 4 % of 60 kg (3-5 %); refusals are
/// 3-5 % of what is offered, a load's ingredients within about 1.5 % of the recipe, with now and then one ingredient
/// 7-12 % off (a loading error the platform's alert must catch).
/// </summary>
internal sealed partial class DairySimulation
{
    private const double CowDryMatterPerDayKg = 650 * 0.035;
    private const double GoatDryMatterPerDayKg = 60 * 0.04;
    private const double MixerMaxKg = 18_000;
    private const double LoadingErrorChance = 0.03;
    private static readonly int[] s_feedingMinutes = [5 * 60, 15 * 60];

    private void GenerateFeeding(Pasture pasture, DateOnly day, List<SimEvent> events)
    {
        var dayStart = LocalDayStartMs(day);
        var ration = SimRation.For(pasture.Species);
        var perHeadDm = pasture.Species == AnimalSpecies.Cow ? CowDryMatterPerDayKg : GoatDryMatterPerDayKg;
        var rng = new DeterministicRandom(_fleet.Seed, 40, pasture.Index, day.DayNumber);
        var herdIds = pasture.Herds.Select(h => h.Id).ToArray();
        var mixer = pasture.Mixer;
        events.Add(Feeding(dayStart + (((4 * 60) + 30) * MinuteMs), mixer, pasture, new TmrRationRecord(ration, herdIds)));

        var loadNumber = 0;
        var dailyUse = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var herd in pasture.Herds)
        {
            var inMilk = 0;
            for (var a = herd.FirstAnimal; a < herd.FirstAnimal + herd.AnimalCount; a++)
            {
                inMilk += pasture.Animals[a].DaysInMilk > 0 ? 1 : 0;
            }
            if (inMilk == 0)
            {
                continue;
            }

            var refusalShare = rng.Uniform(0.03, 0.05);
            var offeredKg = inMilk * perHeadDm * rng.LogNormal(1.0, 0.02) / ration.DryMatterFraction / (1 - refusalShare);
            double deliveredKg = 0;
            foreach (var minute in s_feedingMinutes)
            {
                var feedingKg = offeredKg / s_feedingMinutes.Length;
                var loads = (int)Math.Ceiling(feedingKg / MixerMaxKg);
                for (var l = 0; l < loads; l++)
                {
                    var at = dayStart + ((minute + (l * 40) + (pasture.Index % 15)) * MinuteMs);
                    var loadId = $"{mixer.Id}-{day:yyyyMMdd}-{++loadNumber:D2}";
                    var load = MixLoad(pasture, herd, ration, loadId, feedingKg / loads, rng);
                    events.Add(Feeding(at, mixer, pasture, load));
                    foreach (var ingredient in load.Ingredients)
                    {
                        dailyUse[ingredient.FeedId] = dailyUse.GetValueOrDefault(ingredient.FeedId) + ingredient.LoadedKg;
                    }

                    // What leaves the mixer: a little stays in the tub.
                    var delivered = Math.Round(load.LoadedKg * rng.Uniform(0.985, 0.995));
                    deliveredKg += delivered;
                    events.Add(Feeding(at + (25 * MinuteMs), mixer, pasture, new TmrDeliveryRecord(herd.Id, "PEN-1", loadId, ration.Id, inMilk, delivered)));
                }
            }

            // Cows sort out stems and leave the drier part: the refusals' dry matter is a few points above the TMR's.
            events.Add(Feeding(dayStart + (((23 * 60) + 30) * MinuteMs), mixer, pasture,
                new TmrRefusalRecord(herd.Id, "PEN-1", day, Math.Round(deliveredKg * refusalShare), Math.Round((ration.DryMatterFraction * 100) + rng.Uniform(2, 5), 1))));
        }

        GenerateFeedStocks(pasture, day, dayStart, dailyUse, events);
    }

    private TmrLoadRecord MixLoad(Pasture pasture, Herd herd, SimRation ration, string loadId, double loadKg, DeterministicRandom rng)
    {
        var wrong = rng.NextDouble() < LoadingErrorChance ? rng.NextInt(0, ration.Feeds.Length) : -1;
        var ingredients = new TmrIngredient[ration.Feeds.Length];
        for (var i = 0; i < ingredients.Length; i++)
        {
            var (feedId, share, dm) = ration.Feeds[i];
            var recipe = Math.Round(loadKg * share);
            var factor = i == wrong ? 1 + ((rng.NextDouble() < 0.5 ? -1 : 1) * rng.Uniform(0.07, 0.12)) : 1 + Math.Clamp(rng.Normal(0, 0.008), -0.025, 0.025);
            ingredients[i] = new TmrIngredient(feedId, recipe, Math.Round(recipe * factor), Math.Round(dm + rng.Normal(0, 0.8), 1), OriginOf(pasture, feedId));
        }
        return new TmrLoadRecord(loadId, herd.Id, ration, ingredients);
    }

    /// <summary>
    /// Where a pasture's forage comes from, fixed per pasture and feed: silage corn is bulky and grown near the pasture
    /// (the plan: basically self-sufficient); of oat hay and alfalfa the profile's <c>localForageShare</c> of pastures
    /// buy local (the plan's 20 % in 2021, 30 % in 2023), the rest from elsewhere in Inner Mongolia or imported.
    /// </summary>
    private string? OriginOf(Pasture pasture, string feedId)
    {
        var rng = new DeterministicRandom(_fleet.Seed, 41, pasture.Index, feedId.Length + (31 * feedId[0]));
        return feedId switch
        {
            "silage_corn" => rng.NextDouble() < 0.85 ? "local_farm" : "hohhot",
            "alfalfa_hay" or "oat_hay" => rng.NextDouble() < _fleet.Profile.LocalForageShare
                ? (rng.NextDouble() < 0.5 ? "local_farm" : "hohhot")
                : (rng.NextDouble() < 0.4 ? "inner_mongolia" : "imported"),
            _ => null,
        };
    }

    /// <summary>
    /// One store per feed, measured at 18:00. Stocks run down with the day's use and are refilled every cycle (silage
    /// 60 days, hay 30, concentrate 14) while 9 days of use are still in store: the stock alert (under 7 days) stays quiet.
    /// </summary>
    private void GenerateFeedStocks(Pasture pasture, DateOnly day, long dayStart, Dictionary<string, double> dailyUse, List<SimEvent> events)
    {
        var ration = SimRation.For(pasture.Species);
        foreach (var (feedId, _, dm) in ration.Feeds)
        {
            var use = dailyUse.GetValueOrDefault(feedId);
            if (use <= 0)
            {
                continue;
            }
            var (storageId, type, cycle) = feedId switch
            {
                "silage_corn" => ("CLAMP-1", "silage_clamp", 60),
                "concentrate" => ("BIN-1", "bin", 14),
                _ => ("BARN-" + feedId.ToUpperInvariant(), "hay_barn", 30),
            };
            var phase = new DeterministicRandom(_fleet.Seed, 42, pasture.Index, feedId.Length).NextInt(0, cycle);
            var daysSinceRefill = (day.DayNumber + phase) % cycle;
            var quantity = Math.Round(use * (9 + cycle - daysSinceRefill));
            var capacity = Math.Ceiling(use * (cycle + 12) / 1000) * 1000;
            events.Add(Feeding(dayStart + ((18 * 60) + (pasture.Index % 20)) * MinuteMs, pasture.FeedStore, pasture,
                new FeedStockSimRecord(storageId, $"{feedId} store", type, feedId, quantity, capacity, dm, OriginOf(pasture, feedId))));
        }
    }

    private SimEvent Feeding(long timeMs, Device device, Pasture pasture, object detail) => new()
    {
        TimeMs = timeMs,
        Order = _order++,
        Type = detail is FeedStockSimRecord ? SimEventType.FeedStock : SimEventType.Tmr,
        DeviceIndex = device.Index,
        PastureIndex = pasture.Index,
        Kg = detail switch
        {
            TmrLoadRecord load => (float)load.LoadedKg,
            TmrDeliveryRecord delivery => (float)delivery.Kg,
            TmrRefusalRecord refusal => (float)refusal.Kg,
            _ => 0,
        },
        Detail = detail,
    };
}
