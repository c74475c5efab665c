using HohhotCluster.FirmwareSim.Fleet;
using HohhotCluster.FirmwareSim.Simulation;

namespace HohhotCluster.FirmwareSim.Tests;

public class LactationTests
{
    [Fact]
    public void Wood_curves_give_the_published_totals()
    {
        Assert.InRange(WoodLactation.CowHerdBlend.TotalYieldKg(305), 10_300, 10_700);
        Assert.InRange(WoodLactation.SaanenGoat.TotalYieldKg(240), 530, 560);
    }

    [Fact]
    public void Simulated_305_day_cow_yields_fall_in_the_domain_range()
    {
        var (mean, _) = MeanLactationYield(AnimalSpecies.Cow, days: 305);

        // domain.md: about 10.5 t in 305 days; large pastures 32-40 kg/day per cow in milk.
        Assert.InRange(mean, 9_800, 11_500);
        Assert.InRange(mean / 305, 32, 40);
    }

    [Fact]
    public void Simulated_240_day_goat_yields_fall_in_the_domain_range()
    {
        var (mean, _) = MeanLactationYield(AnimalSpecies.Goat, days: 240);

        // domain.md: Saanen about 544 kg in 240 days.
        Assert.InRange(mean, 500, 590);
    }

    [Fact]
    public void Animals_differ_from_each_other()
    {
        var (mean, standardDeviation) = MeanLactationYield(AnimalSpecies.Cow, days: 305);

        Assert.InRange(standardDeviation / mean, 0.08, 0.25);
    }

    /// <summary>Every adult of a city pasture milked from calving through day N, with the simulator's own noise.</summary>
    private static (double Mean, double StandardDeviation) MeanLactationYield(AnimalSpecies species, int days)
    {
        var fleet = TestFleets.Generate("city-2023", seed: 3);
        var pasture = fleet.Pastures.First(p => p.Species == species);
        var day0 = new DateOnly(2026, 3, 1);
        var totals = new List<double>();
        for (var i = 0; i < pasture.Animals.Length; i++)
        {
            ref var animal = ref pasture.Animals[i];
            if (animal.Parity == 0)
            {
                continue;
            }
            animal.LactationLength = Math.Max(animal.LactationLength, days);
            var total = 0.0;
            for (var dim = 1; dim <= days; dim++)
            {
                animal.DaysSinceCalving = dim;
                total += DairySimulation.DailyYieldKg(fleet.Seed, pasture, i, day0.AddDays(dim));
            }
            totals.Add(total);
        }
        var mean = totals.Average();
        var variance = totals.Sum(t => (t - mean) * (t - mean)) / totals.Count;
        return (mean, Math.Sqrt(variance));
    }
}
