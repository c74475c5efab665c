using System.Security.Claims;

namespace HohhotCluster.Telemetry.Dashboard;

/// <summary>
/// What the sign-in keeps in the (encrypted, HttpOnly) cookie's ticket: the platform's access token and who the
/// platform said the account is. The dashboard decides nothing from these but which links to show; the API decides
/// what each call may see.
/// </summary>
public static class DashboardClaims
{
    public const string AccessToken = "hohhot:access_token";
    public const string Organisation = "hohhot:organisation";
    public const string OrganisationKind = "hohhot:organisation_kind";
    public const string Role = "hohhot:role";
    public const string PastureHolding = "hohhot:pasture";
    public const string PlantHolding = "hohhot:plant";

    public static string? Token(this ClaimsPrincipal user) => user.FindFirst(AccessToken)?.Value;

    public static string OrganisationKindOf(this ClaimsPrincipal user) => user.FindFirst(OrganisationKind)?.Value ?? "";

    public static bool IsKind(this ClaimsPrincipal user, params string[] kinds) => kinds.Contains(user.OrganisationKindOf(), StringComparer.Ordinal);

    public const string Pasture = "pasture_operator";
    public const string Processor = "processor";
    public const string Regulator = "regulator";
    public const string Operator = "platform_operator";
}
