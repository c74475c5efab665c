using System.Security.Cryptography;
using HohhotCluster.Telemetry.Client;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace HohhotCluster.Telemetry.IntegrationTests.Identity;

/// <summary>
/// One platform with a registered test fleet and an organisation of every kind, each with a viewer, an editor and an
/// admin account (the platform operator's admin is the first operator): the callers of the access tests.
/// </summary>
public sealed class IdentityPlatform : IAsyncLifetime
{
    public static readonly string[] Kinds = ["pasture_operator", "processor", "regulator", "platform_operator"];
    public static readonly string[] Roles = ["viewer", "editor", "admin"];

    public PlatformProcess Platform { get; private set; } = null!;
    public TestFleet Fleet { get; } = new();

    /// <summary>Organisation id per kind.</summary>
    public Dictionary<string, string> Organisations { get; } = [];

    /// <summary>(kind, role) → the account's connection.</summary>
    public Dictionary<(string Kind, string Role), PlatformConnection> Callers { get; } = [];

    /// <summary>(kind, role) → the account's id and password.</summary>
    public Dictionary<(string Kind, string Role), (string Id, string Password)> Accounts { get; } = [];

    public async Task InitializeAsync()
    {
        Platform = await PlatformProcess.StartAsync();
        var p = Fleet.Prefix;
        await new RegistryService.RegistryServiceClient(Platform.Channel).UpsertRegistryAsync(Fleet.ToDocument());
        var identity = new IdentityService.IdentityServiceClient(Platform.Channel);
        Organisations["pasture_operator"] = p + "-farm";
        Organisations["processor"] = p + "-dairy";
        Organisations["regulator"] = p + "-amr";
        Organisations["platform_operator"] = "platform";
        var farm = new CreateOrganisationRequest { Id = p + "-farm", Kind = OrganisationKind.PastureOperator, Name = "Test farm" };
        farm.PastureIds.Add(Fleet.PastureA);
        await identity.CreateOrganisationAsync(farm);
        var dairy = new CreateOrganisationRequest { Id = p + "-dairy", Kind = OrganisationKind.Processor, Name = "Test dairy" };
        dairy.PlantIds.Add(Fleet.Plant);
        await identity.CreateOrganisationAsync(dairy);
        await identity.CreateOrganisationAsync(new CreateOrganisationRequest { Id = p + "-amr", Kind = OrganisationKind.Regulator, Name = "Test market supervision", CityWide = true });

        foreach (var kind in Kinds)
        {
            foreach (var role in Roles)
            {
                if (kind == "platform_operator" && role == "admin")
                {
                    Accounts[(kind, role)] = ("operator", Platform.OperatorPassword);
                    Callers[(kind, role)] = Platform.Operator;
                    continue;
                }

                var id = $"{p}-{kind.Replace('_', '-')}-{role}";
                var created = await identity.CreateAccountAsync(new CreateAccountRequest
                {
                    OrganisationId = Organisations[kind],
                    Id = id,
                    Kind = AccountKind.User,
                    Role = role switch { "viewer" => AccountRole.Viewer, "editor" => AccountRole.Editor, _ => AccountRole.Admin },
                });
                Accounts[(kind, role)] = (id, created.Secret);
                Callers[(kind, role)] = Platform.ConnectAs(new PlatformCredential.Password(id, created.Secret));
            }
        }
    }

    /// <summary>
    /// A token the platform itself would have signed for the operator (its key, issuer, audience and claims), but
    /// expired an hour ago: the expiry check, not the signature, must refuse it.
    /// </summary>
    public string ExpiredOperatorToken()
    {
        using var rsa = RSA.Create();
        rsa.ImportFromPem(File.ReadAllText(Platform.SigningKeyFile));
        var now = DateTime.UtcNow;
        return new JsonWebTokenHandler().CreateToken(new SecurityTokenDescriptor
        {
            Issuer = "https://hohhot-telemetry.local/",
            Audience = "hohhot-api",
            IssuedAt = now.AddHours(-2),
            NotBefore = now.AddHours(-2),
            Expires = now.AddHours(-1),
            Claims = new Dictionary<string, object> { ["sub"] = "operator", ["org"] = "platform", ["role"] = "admin" },
            SigningCredentials = new SigningCredentials(new RsaSecurityKey(rsa.ExportParameters(true)), SecurityAlgorithms.RsaSha256),
        });
    }

    public async Task DisposeAsync() => await Platform.DisposeAsync();
}
