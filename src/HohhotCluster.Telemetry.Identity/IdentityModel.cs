using System.Collections.Frozen;

namespace HohhotCluster.Telemetry.Identity;

/// <summary>The four kinds of organisation that use the platform.</summary>
public enum OrganisationKind
{
    /// <summary>Runs one or more pastures.</summary>
    PastureOperator,
    /// <summary>A dairy processor: runs one or more plants.</summary>
    Processor,
    /// <summary>Market supervision or the agriculture bureau: the whole city, or named counties.</summary>
    Regulator,
    /// <summary>Runs the platform: organisations, accounts, the registry, rule versions.</summary>
    PlatformOperator,
}

/// <summary>An account's role in its organisation; each role can do what the one before it can.</summary>
public enum AccountRole
{
    Viewer = 1,
    Editor = 2,
    Admin = 3,
}

public enum AccountKind
{
    /// <summary>A person, who logs in with a password.</summary>
    User,
    /// <summary>A program, which logs in with a client id and secret (the OAuth client credentials grant).</summary>
    Service,
}

/// <summary>The stored words of the identity enums (one owner: the migration's check constraints name the same).</summary>
public static class IdentityNames
{
    public static string Of(OrganisationKind kind) => kind switch
    {
        OrganisationKind.PastureOperator => "pasture_operator",
        OrganisationKind.Processor => "processor",
        OrganisationKind.Regulator => "regulator",
        OrganisationKind.PlatformOperator => "platform_operator",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    public static OrganisationKind OrganisationKindOf(string name) => name switch
    {
        "pasture_operator" => OrganisationKind.PastureOperator,
        "processor" => OrganisationKind.Processor,
        "regulator" => OrganisationKind.Regulator,
        "platform_operator" => OrganisationKind.PlatformOperator,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not an organisation kind"),
    };

    public static string Of(AccountRole role) => role switch
    {
        AccountRole.Viewer => "viewer",
        AccountRole.Editor => "editor",
        AccountRole.Admin => "admin",
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, null),
    };

    public static AccountRole RoleOf(string name) => name switch
    {
        "viewer" => AccountRole.Viewer,
        "editor" => AccountRole.Editor,
        "admin" => AccountRole.Admin,
        _ => throw new ArgumentOutOfRangeException(nameof(name), name, "not a role"),
    };

    public static string Of(AccountKind kind) => kind == AccountKind.User ? "user" : "service";

    public static AccountKind AccountKindOf(string name) => name == "user" ? AccountKind.User : AccountKind.Service;
}

public sealed record Organisation
{
    public required string Id { get; init; }
    public required OrganisationKind Kind { get; init; }
    public required string Name { get; init; }
    public bool CityWide { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? DeactivatedAt { get; init; }
    public IReadOnlyList<string> PastureIds { get; init; } = [];
    public IReadOnlyList<string> PlantIds { get; init; } = [];
    public IReadOnlyList<string> CountyIds { get; init; } = [];
}

public sealed record Account
{
    public required string Id { get; init; }
    public required string OrganisationId { get; init; }
    public required AccountKind Kind { get; init; }
    public required AccountRole Role { get; init; }
    public string DisplayName { get; init; } = "";
    public DateTimeOffset SecretChangedAt { get; init; }
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset? DisabledAt { get; init; }
}

/// <summary>
/// Who is asking, as the platform knows them: the account behind a verified token, its organisation and what that
/// organisation holds. Every answer's scope comes from here, never from the request.
/// </summary>
public sealed record Caller
{
    public required string AccountId { get; init; }
    public required string OrganisationId { get; init; }
    public required OrganisationKind Kind { get; init; }
    public required AccountRole Role { get; init; }
    /// <summary>A regulator of the whole city (a regulator otherwise sees only <see cref="CountyIds"/>).</summary>
    public bool CityWide { get; init; }
    public FrozenSet<string> PastureIds { get; init; } = FrozenSet<string>.Empty;
    public FrozenSet<string> PlantIds { get; init; } = FrozenSet<string>.Empty;
    public FrozenSet<string> CountyIds { get; init; } = FrozenSet<string>.Empty;

    /// <summary>Sees every scope of the city: the platform operator and a city-wide regulator.</summary>
    public bool SeesCity => Kind == OrganisationKind.PlatformOperator || (Kind == OrganisationKind.Regulator && CityWide);

    public bool Has(AccountRole role) => Role >= role;

    public bool SeesCounty(string countyId) =>
        SeesCity || (Kind == OrganisationKind.Regulator && CountyIds.Contains(countyId));

    /// <summary>A pasture in <paramref name="countyId"/> (its registered county).</summary>
    public bool SeesPasture(string pastureId, string countyId) =>
        SeesCounty(countyId) || (Kind == OrganisationKind.PastureOperator && PastureIds.Contains(pastureId));

    /// <summary>A plant in <paramref name="countyId"/> (its registered county).</summary>
    public bool SeesPlant(string plantId, string countyId) =>
        SeesCounty(countyId) || (Kind == OrganisationKind.Processor && PlantIds.Contains(plantId));

    /// <summary>Whether the caller's organisation owns the pasture or plant (writes need this, not only sight).</summary>
    public bool OwnsPasture(string pastureId) => Kind == OrganisationKind.PlatformOperator || PastureIds.Contains(pastureId);

    public bool OwnsPlant(string plantId) => Kind == OrganisationKind.PlatformOperator || PlantIds.Contains(plantId);

    public string Describe() => $"{AccountId}@{OrganisationId} ({IdentityNames.Of(Kind)} {IdentityNames.Of(Role)})";
}
