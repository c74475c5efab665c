using HohhotCluster.Telemetry.Api;
using HohhotCluster.Telemetry.Identity;
using HohhotCluster.Telemetry.Protos.V1;
using AccountRole = HohhotCluster.Telemetry.Identity.AccountRole;
using OrganisationKind = HohhotCluster.Telemetry.Identity.OrganisationKind;

namespace HohhotCluster.Telemetry.Tests.Api;

public sealed class RequestHygieneTests
{
    [Fact]
    public void AnIdOverItsLimitAnywhereInTheRequestIsNamedByItsPathWithoutItsValue()
    {
        var request = new RegistryDocument();
        request.Devices.Add(new Device { Id = "ok" });
        request.Devices.Add(new Device { Id = "dev", OwnerId = new string('y', RequestHygiene.MaxIdLength + 1) });

        var problem = RequestHygiene.Check(request);

        Assert.Equal($"devices[1].owner_id is longer than {RequestHygiene.MaxIdLength} characters.", problem);
    }

    [Fact]
    public void NulInAnyStringIsRefusedAndTextFieldsHaveTheirOwnLongerLimit()
    {
        Assert.NotNull(RequestHygiene.Check(new GetDailyThroughputRequest { Scope = new Scope { Id = "a\0b" } }));
        Assert.Null(RequestHygiene.Check(new RejudgeSamplesRequest { Reason = new string('r', RequestHygiene.MaxIdLength * 2) }));
        Assert.NotNull(RequestHygiene.Check(new RejudgeSamplesRequest { Reason = new string('r', RequestHygiene.MaxTextLength + 1) }));
        Assert.Null(RequestHygiene.Check(new ImportEpcisRequest { DocumentJson = new string(' ', RequestHygiene.MaxDocumentLength) }));
        Assert.NotNull(RequestHygiene.Check(new ImportEpcisRequest { DocumentJson = new string(' ', RequestHygiene.MaxDocumentLength + 1) }));
    }

    [Fact]
    public void EveryMethodOfThePolicyBelongsToAServiceTheProtosDefine()
    {
        var methods = typeof(ThroughputService).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(ThroughputService).Namespace && t.Name.EndsWith("Reflection", StringComparison.Ordinal))
            .Select(t => (Google.Protobuf.Reflection.FileDescriptor)t.GetProperty("Descriptor")!.GetValue(null)!)
            .SelectMany(f => f.Services).SelectMany(s => s.Methods).Select(m => $"/{m.Service.FullName}/{m.Name}").ToHashSet();
        Assert.Equal(methods.Order(StringComparer.Ordinal), AccessPolicy.Rules.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void ARoleAdmitsWhatTheRolesBelowItMayDoAndAKindWithoutACellIsRefused()
    {
        var upsert = AccessPolicy.Rules["/hohhot.telemetry.v1.RegistryService/UpsertRegistry"];
        Caller Of(OrganisationKind kind, AccountRole role) => new() { AccountId = "a", OrganisationId = "o", Kind = kind, Role = role };

        Assert.False(upsert.Allows(Of(OrganisationKind.PastureOperator, AccountRole.Editor)));
        Assert.True(upsert.Allows(Of(OrganisationKind.PastureOperator, AccountRole.Admin)));
        Assert.True(upsert.Allows(Of(OrganisationKind.PlatformOperator, AccountRole.Editor)));
        Assert.False(upsert.Allows(Of(OrganisationKind.Regulator, AccountRole.Admin)));
    }
}
