using System.Collections.Frozen;
using HohhotCluster.Telemetry.Identity;

namespace HohhotCluster.Telemetry.Tests.Identity;

public sealed class CallerTests
{
    private static Caller Of(OrganisationKind kind, bool cityWide = false, string[]? pastures = null, string[]? plants = null, string[]? counties = null) => new()
    {
        AccountId = "a",
        OrganisationId = "o",
        Kind = kind,
        Role = AccountRole.Viewer,
        CityWide = cityWide,
        PastureIds = (pastures ?? []).ToFrozenSet(),
        PlantIds = (plants ?? []).ToFrozenSet(),
        CountyIds = (counties ?? []).ToFrozenSet(),
    };

    [Fact]
    public void APastureOperatorSeesItsOwnPasturesOnlyNotTheirCountyNorTheCity()
    {
        var farm = Of(OrganisationKind.PastureOperator, pastures: ["P1"]);
        Assert.True(farm.SeesPasture("P1", "150121"));
        Assert.False(farm.SeesPasture("P2", "150121"));
        Assert.False(farm.SeesCounty("150121"));
        Assert.False(farm.SeesCity);
        Assert.False(farm.SeesPlant("PL1", "150121"));
    }

    [Fact]
    public void ACountyRegulatorSeesWhatLiesInItsCountiesAndACityWideOneEverything()
    {
        var county = Of(OrganisationKind.Regulator, counties: ["150121"]);
        Assert.True(county.SeesPasture("P9", "150121"));
        Assert.True(county.SeesPlant("PL9", "150121"));
        Assert.False(county.SeesPlant("PL8", "150123"));
        Assert.False(county.SeesCity);
        Assert.True(Of(OrganisationKind.Regulator, cityWide: true).SeesPlant("PL8", "150123"));
        Assert.False(county.OwnsPlant("PL9"));
    }

    [Fact]
    public void HoldingsGiveOwnershipOnlyToTheirKindAndTheOperatorOwnsNothingByHolding()
    {
        var dairy = Of(OrganisationKind.Processor, plants: ["PL1"]);
        Assert.True(dairy.OwnsPlant("PL1"));
        Assert.False(dairy.OwnsPlant("PL2"));
        Assert.True(Of(OrganisationKind.PlatformOperator).OwnsPasture("anything"));
    }
}
