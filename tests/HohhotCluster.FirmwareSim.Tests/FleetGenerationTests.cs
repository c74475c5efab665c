using HohhotCluster.FirmwareSim.Fleet;

namespace HohhotCluster.FirmwareSim.Tests;

public class FleetGenerationTests
{
    [Theory]
    [InlineData("demo")]
    [InlineData("city-2021")]
    [InlineData("city-2023")]
    public void Generated_fleet_matches_its_profile_totals(string profileName)
    {
        var fleet = TestFleets.Generate(profileName);
        var totals = fleet.Totals();

        Assert.Equal(fleet.Profile.Expected.Cows, totals.HohhotCows);
        Assert.Equal(fleet.Profile.Expected.Goats, totals.HohhotGoats);
        var groupHead = 0;
        foreach (var group in fleet.Profile.PastureGroups)
        {
            groupHead += group.Head;
        }
        var explicitHead = 0;
        foreach (var pasture in fleet.Profile.Pastures)
        {
            explicitHead += pasture.Head;
        }
        Assert.Equal(groupHead + explicitHead, totals.HohhotCows + totals.HohhotGoats + totals.BaseCows + totals.BaseGoats);
    }

    [Theory]
    [InlineData("city-2021")]
    [InlineData("city-2023")]
    public void City_pastures_are_of_realistic_size_and_bases_lie_in_neighbouring_cities(string profileName)
    {
        var fleet = TestFleets.Generate(profileName);

        foreach (var pasture in fleet.Pastures)
        {
            Assert.InRange(pasture.Animals.Length, 1000, 10000);
        }
        // The bases started construction in 2021 and give milk from 2022 (SimulatorFidelityTests checks 2021 has none).
        string[] baseCities = profileName == "city-2023" ? ["Baotou", "Ordos", "Ulanqab"] : [];
        foreach (var city in baseCities)
        {
            Assert.Contains(fleet.Pastures, p => p.County.Profile.City == city);
        }
        Assert.Contains(fleet.Plants, p => p.Id.Contains("YILI", StringComparison.Ordinal) && (profileName == "city-2021" || p.Profile.DailyCapacityT == 6500));
        Assert.Contains(fleet.Plants, p => p.Id.Contains("MENGNIU", StringComparison.Ordinal));
        Assert.Contains(fleet.Plants, p => p.Profile.Species == AnimalSpecies.Goat);
    }

    [Fact]
    public void Ear_tags_are_unique_15_digit_codes_of_species_county_and_serial()
    {
        var fleet = TestFleets.Generate("city-2021");
        var seen = new HashSet<string>(StringComparer.Ordinal);

        foreach (var pasture in fleet.Pastures)
        {
            for (var i = 0; i < pasture.Animals.Length; i++)
            {
                var tag = pasture.EarTag(i);
                Assert.Equal(15, tag.Length);
                Assert.True(tag.All(char.IsAsciiDigit), tag);
                Assert.Equal(pasture.Species == AnimalSpecies.Cow ? '2' : '3', tag[0]);
                Assert.Equal(pasture.County.Id, tag[1..7]);
                Assert.True(seen.Add(tag), $"duplicate ear tag {tag}");
            }
        }
    }

    [Fact]
    public void Gateway_passwords_are_deterministic_per_seed_and_owner()
    {
        Assert.Equal(GatewayCredentials.Password(7, "P150121001"), GatewayCredentials.Password(7, "P150121001"));
        Assert.NotEqual(GatewayCredentials.Password(7, "P150121001"), GatewayCredentials.Password(8, "P150121001"));
        Assert.NotEqual(GatewayCredentials.Password(7, "P150121001"), GatewayCredentials.Password(7, "P150121002"));
    }

    [Fact]
    public void Registry_document_lists_every_device_with_its_owner_and_herd()
    {
        var fleet = TestFleets.Generate("demo");
        var document = RegistryDocumentBuilder.Build(fleet);

        Assert.Equal(fleet.Devices.Count, document.Devices.Count);
        Assert.Equal(3, document.Pastures.Count);
        Assert.All(document.Devices, d => Assert.StartsWith(d.OwnerId, d.Id, StringComparison.Ordinal));
        Assert.All(document.Devices.Where(d => d.Kind == DeviceKinds.MilkMeter), d => Assert.Contains(document.Herds, h => h.Id == d.HerdId));
    }
}
