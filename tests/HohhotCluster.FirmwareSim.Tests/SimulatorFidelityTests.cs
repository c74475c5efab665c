using System.Text.Json;
using HohhotCluster.FirmwareSim.Cli;
using HohhotCluster.FirmwareSim.Fleet;
using HohhotCluster.FirmwareSim.Publishing;
using HohhotCluster.FirmwareSim.Simulation;
using HohhotCluster.FirmwareSim.Verification;

namespace HohhotCluster.FirmwareSim.Tests;

/// <summary>
/// Issue 13's simulator corrections: the city profiles against the plan's figures, the warm-up, the quality
/// background (aflatoxin M1, goat freezing points, watered loads) and a demo day that has a chain a recall can follow.
/// </summary>
public sealed class SimulatorFidelityTests : IDisposable
{
    private static readonly DateOnly s_day = new(2026, 11, 30);
    private static readonly Lazy<FleetModel> s_city2023 = new(() => TestFleets.Generate("city-2023"));
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("hohhot-sim-fidelity-");

    public void Dispose() => _work.Delete(recursive: true);

    private static void Within5Percent(double plan, double actual, string what) =>
        Assert.True(Math.Abs(actual - plan) <= plan * 0.05, $"{what}: {actual:N1} against the plan's {plan:N1} (beyond 5 %)");

    [Fact]
    public void Goat_pastures_make_the_plans_200_t_a_day_from_150000_goats()
    {
        var milk = Commands.MilkFigures.Of(s_city2023.Value, s_day);
        Within5Percent(200, milk.HohhotGoatT, "Hohhot goat milk, t/day");
        // Goats in milk per goat in stock: 200 t / 150,000 = 1.33 kg a goat in stock.
        var goats = s_city2023.Value.Pastures.Where(p => p.Species == AnimalSpecies.Goat).Sum(p => p.Animals.Length);
        Assert.InRange(milk.HohhotGoatT * 1000 / goats, 1.27, 1.40);
    }

    [Fact]
    public void City_2023_reaches_the_plans_figures_within_5_percent()
    {
        var fleet = s_city2023.Value;
        var totals = fleet.Totals();
        var expected = fleet.Profile.Expected;
        Assert.Equal(460_000, expected.Cows);
        Assert.Equal(150_000, expected.Goats);
        Within5Percent(460_000, totals.HohhotCows, "cows in stock on Hohhot's pastures");
        Within5Percent(150_000, totals.HohhotGoats, "goats in stock on Hohhot's pastures");
        Assert.Equal(30, totals.HohhotGoatPastures);

        var milk = Commands.MilkFigures.Of(fleet, s_day);
        Within5Percent(6_900, milk.HohhotCowT, "Hohhot pasture (cow) milk, t/day");
        Within5Percent(200, milk.HohhotGoatT, "Hohhot goat milk, t/day");
        Within5Percent(10_000, milk.TotalT, "milk received by the plants, t/day");
        Within5Percent(600, totals.GoatPlantCapacityT, "goat-milk processing capacity, t/day");
        Assert.True(totals.CowPlantCapacityT + totals.GoatPlantCapacityT >= 10_000, "registered plant capacity covers the plan's 10,000 t/day");
        Assert.True(totals.CowPlantCapacityT >= milk.HohhotCowT + milk.BaseT, "cow-milk plants can take the cow milk");

        // Yili's powder and Mengniu's cheese plants are modelled, with their product categories.
        Assert.Contains(fleet.Plants, p => p.Profile.ProductsFor(AnimalSpecies.Cow).Any(x => x.Category == ProductCategories.Powder));
        Assert.Contains(fleet.Plants, p => p.Profile.ProductsFor(AnimalSpecies.Cow).Any(x => x.Category == ProductCategories.Cheese));

        // Every figure has its source.
        foreach (var key in new[] { "herd.dairy_cows", "herd.dairy_goats", "pastures.fresh_milk_per_day", "goats.milk_per_day", "processing.fresh_milk_per_day", "bases" })
        {
            Assert.False(string.IsNullOrWhiteSpace(fleet.Profile.Sources.GetValueOrDefault(key)), $"sources.{key}");
        }
        Assert.All(fleet.Profile.Plants, p => Assert.False(string.IsNullOrWhiteSpace(p.Source), $"plant {p.Id} has no source"));
        Assert.False(string.IsNullOrWhiteSpace(fleet.Profile.LactationOf(AnimalSpecies.Goat).Source));
    }

    [Fact]
    public void City_2021_runs_only_plants_and_bases_in_production_in_2021()
    {
        var profile = FleetProfile.Load("city-2021");
        Assert.Equal(2021, profile.Year);
        Assert.All(profile.Plants, p => Assert.True(p.InProductionFrom <= 2021, $"{p.Id} from {p.InProductionFrom}"));
        // Yili's Health Valley and Mengniu's park produce from 2022, the Mengyangyang line was being built.
        Assert.DoesNotContain(profile.Plants, p => p.Id is "PL-YILI-01" or "PL-YILI-02" or "PL-MENGNIU-01" or "PL-MENGNIU-02" or "PL-MENGNIU-03" or "PL-MENGYANGYANG-01");
        // The 10 bases only started construction in 2021: no pasture outside Hohhot.
        var fleet = FleetGenerator.Generate(profile, 1);
        Assert.All(fleet.Pastures, p => Assert.True(p.County.IsInHohhot, $"{p.Id} is in {p.County.Profile.City}"));
        var milk = Commands.MilkFigures.Of(fleet, s_day);
        Within5Percent(62.5, milk.HohhotGoatT, "2021 goat milk, t/day");
        Assert.True(milk.TotalT >= 5_300 * 0.95, $"2021 processing {milk.TotalT:N0} t/day against the plan's 5,300");

        // A 2021 profile that lists a 2022 plant is refused, by name.
        var json = File.ReadAllText(FleetProfile.ResolvePath("city-2021"))
            .Replace("\"inProductionFrom\": 2021", "\"inProductionFrom\": 2022", StringComparison.Ordinal);
        var path = Path.Combine(_work.FullName, "late-plant.json");
        File.WriteAllText(path, json);
        var refused = Assert.Throws<InvalidDataException>(() => FleetProfile.Load(path));
        Assert.Contains("PL-SHENGJIAN-01 is in production from 2022", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_recorded_day_is_a_steady_state_day_milked_collected_and_received_agree()
    {
        var messages = TestFleets.Run(TestFleets.Generate("demo", seed: 5), TimeSpan.FromDays(1));
        // Milk that may go to the tank (colostrum and treated animals are milked apart).
        var milked = messages.Where(m => m.Kind == MessageKind.Milking).Select(TestFleets.Parse)
            .Where(p => !p.GetProperty("visit").TryGetProperty("milkingRemarks", out _))
            .Sum(p => p.GetProperty("visit").GetProperty("milkingMilkWeight").GetProperty("value").GetDouble());
        var collected = messages.Where(m => m.Kind == MessageKind.BulkTank && m.IsCollection).Sum(m => m.Kg);
        var received = messages.Where(m => m.Kind == MessageKind.PlantIntake).Sum(m => m.Kg);
        Assert.True(milked > 0);
        Assert.InRange(collected / milked, 0.95, 1.05);
        Assert.InRange(received / collected, 0.95, 1.05);
        // The first published day makes product lots in its first production wave: the silos were filled the day before.
        var firstWave = messages.Where(m => m.Kind == MessageKind.Production).Min(m => m.EventUnixMs);
        Assert.True(DairySimulation.LocalDayOf(firstWave) == DairySimulation.LocalDayOf(TestFleets.Start.ToUnixTimeMilliseconds()));
    }

    [Fact]
    public void Watered_loads_carry_1_to_4_percent_water_as_well_as_larger_amounts()
    {
        var profile = FleetProfile.Load("demo");
        profile.Incidents.Forced.Clear();
        profile.Incidents.WateredPerLoad = 1.0;
        var messages = TestFleets.Run(FleetGenerator.Generate(profile, 11), TimeSpan.FromDays(10));
        var pickedUp = messages.Where(m => m.Kind == MessageKind.TankerPickup).GroupBy(m => m.Lot!).ToDictionary(g => g.Key, g => g.Sum(m => m.Kg));
        var blended = messages.Where(m => m.Kind == MessageKind.SiloTransfer).Select(m => m.Source!).ToHashSet();
        var ratios = messages.Where(m => m.Kind == MessageKind.PlantIntake && pickedUp.ContainsKey(m.Lot!))
            .Select(m => (Load: m.Lot!, Water: (m.Kg / pickedUp[m.Lot!]) - 1)).ToList();
        Assert.NotEmpty(ratios);
        // The hard case: 1-4 % of water passes the acceptance test (freezing point below -0.500) and is blended.
        var hard = ratios.Where(r => r.Water is >= 0.008 and <= 0.04).ToList();
        Assert.NotEmpty(hard);
        Assert.Contains(hard, r => blended.Contains(r.Load));
        // The crude case still exists and is sent back.
        Assert.Contains(ratios, r => r.Water > 0.06 && !blended.Contains(r.Load));
    }

    [Fact]
    public void Background_aflatoxin_M1_is_near_the_national_survey()
    {
        int samples = 0, detected = 0, aboveEu = 0, aboveChina = 0;
        for (var month = 1; month <= 12; month++)
        {
            var rng = new DeterministicRandom(42, month);
            for (var i = 0; i < 6_000; i++)
            {
                var m1 = QualityLab.Draw(ref rng, AnimalSpecies.Cow, -0.525, 3.8, 3.2, 200, month).AflatoxinM1;
                samples++;
                detected += m1 >= 0.005 ? 1 : 0;
                aboveEu += m1 > 0.05 ? 1 : 0;
                aboveChina += m1 > 0.5 ? 1 : 0;
            }
        }
        // Li et al. 2018: 4.6 % detected, 0.7 % above 0.05 µg/kg, none above 0.5 (seasonal shares averaged over months).
        Assert.InRange(detected / (double)samples, 0.035, 0.06);
        Assert.InRange(aboveEu / (double)samples, 0.004, 0.011);
        Assert.Equal(0, aboveChina);
    }

    [Fact]
    public void A_herds_honest_lots_stay_within_the_platforms_suspect_band_of_its_own_baseline()
    {
        // The platform flags a load whose freezing point is more than Traceability:SuspectedWateringRiseC (0.005 °C,
        // about 1 % added water) above its pastures' median: honest milk must not reach it.
        var rng = new DeterministicRandom(11, 3);
        foreach (var species in new[] { AnimalSpecies.Cow, AnimalSpecies.Goat })
        {
            for (var herd = 0; herd < 200; herd++)
            {
                var baseline = QualityLab.HerdFreezingPointC(11, herd, species);
                var lots = Enumerable.Range(0, 30).Select(_ => QualityLab.Draw(ref rng, species, baseline, 3.7, 3.2, 200, 6).FreezingPointC).ToList();
                var median = lots.Order().ElementAt(lots.Count / 2);
                Assert.All(lots, fp => Assert.True(fp - median < 0.005, $"{species} herd {herd}: {fp:F4} vs median {median:F4}"));
            }
        }
    }

    [Fact]
    public void Goat_freezing_points_come_from_a_goat_range_and_pass()
    {
        var rng = new DeterministicRandom(7, 1);
        for (var i = 0; i < 5_000; i++)
        {
            var goatHerd = QualityLab.HerdFreezingPointC(7, i, AnimalSpecies.Goat);
            var goat = QualityLab.Draw(ref rng, AnimalSpecies.Goat, goatHerd, 3.6, 3.1, 500, 6);
            Assert.InRange(goat.FreezingPointC, -0.570, -0.550);
            var cowHerd = QualityLab.HerdFreezingPointC(7, i, AnimalSpecies.Cow);
            var cow = QualityLab.Draw(ref rng, AnimalSpecies.Cow, cowHerd, 3.8, 3.2, 200, 6);
            Assert.InRange(cow.FreezingPointC, -0.545, -0.510);
        }
        // Good goat milk at -0.565 °C is not judged on the Holstein range; cow milk there fails it.
        var item = new QualityItem("freezing_point", -0.565, "°C", null, "F3");
        Assert.False(QualityLab.Fails(item, AnimalSpecies.Goat, s_day));
        Assert.True(QualityLab.Fails(item, AnimalSpecies.Cow, s_day));
    }

    [Fact]
    public void Production_carries_its_product_category_and_the_categorys_yield()
    {
        var profile = FleetProfile.Load("demo");
        profile.Plants[0].Products =
        [
            new ProductProfile { Code = "PWD", Name = "Whole milk powder 25 kg", Category = ProductCategories.Powder, Line = "D1" },
            new ProductProfile { Code = "CHS", Name = "Cheddar 20 kg", Category = ProductCategories.Cheese, Line = "C1" },
        ];
        var messages = TestFleets.Run(FleetGenerator.Generate(profile, 2), TimeSpan.FromDays(2));
        var productions = messages.Where(m => m.Kind == MessageKind.Production).Select(TestFleets.Parse).ToList();
        Assert.NotEmpty(productions);
        foreach (var production in productions)
        {
            var category = production.GetProperty("productCategory").GetString()!;
            var ratio = production.GetProperty("outputKg").GetDouble() / production.GetProperty("silos")[0].GetProperty("kg").GetDouble();
            var nominal = ProductCategories.NominalYield(category);
            if (production.GetProperty("product").GetString()!.Contains("goat", StringComparison.OrdinalIgnoreCase))
            {
                Assert.Equal(ProductCategories.Pasteurised, category); // goat milk at a cow plant goes to its goat line
            }
            Assert.NotNull(nominal);
            Assert.InRange(ratio, nominal!.Value * 0.99, nominal.Value * 1.01);
        }
        Assert.Contains(productions, p => p.GetProperty("productCategory").GetString() == ProductCategories.Powder);
        Assert.Contains(productions, p => p.GetProperty("productCategory").GetString() == ProductCategories.Cheese);
    }

    [Fact]
    public void The_demo_day_makes_product_lots_from_accepted_milk_with_one_incident_a_recall_can_follow()
    {
        var messages = TestFleets.Run(TestFleets.Generate("demo", seed: 1), TimeSpan.FromDays(1));
        var quality = messages.Where(m => m.Kind == MessageKind.Quality).ToList();
        var failing = Assert.Single(quality, m => m.Verdict == "fail");
        var sample = TestFleets.Parse(failing);
        Assert.Equal("supervisory", sample.GetProperty("sampleKind").GetString());
        Assert.Contains(sample.GetProperty("items").EnumerateArray(), i => i.GetProperty("item").GetString() == "lead" && i.GetProperty("value").GetDouble() > 0.05);

        // No load is sent back: every intake is blended, and product lots are made.
        var intakes = messages.Where(m => m.Kind == MessageKind.PlantIntake).Select(m => m.Lot!).ToHashSet();
        var transfers = messages.Where(m => m.Kind == MessageKind.SiloTransfer).ToList();
        Assert.Equal(intakes.Count, transfers.Count);
        var productions = messages.Where(m => m.Kind == MessageKind.Production).ToList();
        Assert.True(productions.Count >= 2, "product lots from accepted milk");

        // The failing lot's milk reached product lots: bulk-tank lot -> tanker load -> silo batch -> product lot.
        var lot = failing.Lot!;
        var load = messages.Single(m => m.Kind == MessageKind.TankerPickup && m.Source == lot).Lot!;
        var batch = transfers.Single(t => t.Source == load).Lot!;
        var product = Assert.Single(productions, p => p.Source == batch).Lot!;

        // hohhot-sim chain prints these ids for deploy/demo.sh: the sample to recall, the product lot to trace back.
        var lines = Commands.ChainLines(messages).ToList();
        Assert.Equal($"failing-sample {sample.GetProperty("sampleId").GetString()} bulk_tank_lot {lot} supervisory lead={sample.GetProperty("items").EnumerateArray().Single(i => i.GetProperty("item").GetString() == "lead").GetProperty("value").GetRawText()}", lines[0]);
        Assert.Equal($"product-lot {product} via {load} {batch}", Assert.Single(lines, l => l.StartsWith("product-lot ", StringComparison.Ordinal)));
    }

    [Fact]
    public void Verify_fails_when_a_kind_the_profile_promises_is_absent()
    {
        var messages = TestFleets.Run(TestFleets.Generate("demo", seed: 1), TimeSpan.FromDays(1));
        var promised = Commands.PromisedKinds(FleetProfile.Load("demo"));
        Assert.Contains("production", promised);

        (int Code, string Output) Verify(string name, Func<OutboundMessage, bool> keep)
        {
            var path = Path.Combine(_work.FullName, name);
            using (var ledger = new PublishLedger(path))
            {
                foreach (var message in messages.Where(keep))
                {
                    ledger.Record(message, 0);
                }
            }
            var output = new StringWriter();
            var code = new LedgerVerifier(new VerifyOptions { LedgerPath = path, PromisedKinds = promised }, output).RunAsync(CancellationToken.None).GetAwaiter().GetResult();
            return (code, output.ToString());
        }

        var whole = Verify("whole.jsonl", _ => true);
        Assert.True(whole.Code == 0, whole.Output);
        var withoutLots = Verify("no-product-lots.jsonl", m => m.Kind != MessageKind.Production);
        Assert.Equal(1, withoutLots.Code);
        Assert.Contains("promised kind production: the profile promises it, the ledger has none acknowledged", withoutLots.Output, StringComparison.Ordinal);
    }
}
