using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using HohhotCluster.Telemetry.Client;
using HohhotCluster.Telemetry.Protos.V1;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Localization;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Dashboard;

/// <summary>
/// Sign-in (the password grant at the platform's <c>/connect/token</c>, the token kept in the cookie's ticket, which
/// expires with the token), sign-out, the language switch. The forms post with an antiforgery token (checked by
/// <c>UseAntiforgery</c> for every form-bound endpoint).
/// </summary>
public static class AccountEndpoints
{
    public const string LoginPath = "/login";

    public static void MapAccountEndpoints(this WebApplication app)
    {
        app.MapPost("/account/login", LoginAsync);
        app.MapPost("/account/logout", async (HttpContext http) =>
        {
            await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.LocalRedirect(LoginPath);
        });
        // Where a page goes when the API refused the token (expired or revoked): the cookie is dropped, the login asks again.
        app.MapGet("/account/expired", async (HttpContext http, [FromQuery] string? returnUrl) =>
        {
            await http.SignOutAsync(CookieAuthenticationDefaults.AuthenticationScheme);
            return Results.LocalRedirect($"{LoginPath}?expired=1&returnUrl={Uri.EscapeDataString(LocalOnly(returnUrl))}");
        });
        app.MapGet("/culture", (HttpContext http, [FromQuery] string? c, [FromQuery] string? returnUrl) =>
        {
            var culture = c == "en" ? "en" : "zh-CN";
            http.Response.Cookies.Append(
                CookieRequestCultureProvider.DefaultCookieName,
                CookieRequestCultureProvider.MakeCookieValue(new RequestCulture(culture)),
                new CookieOptions { Expires = DateTimeOffset.UtcNow.AddYears(1), HttpOnly = true, SameSite = SameSiteMode.Lax, Secure = http.Request.IsHttps, IsEssential = true });
            return Results.LocalRedirect(LocalOnly(returnUrl));
        });
    }

    private static async Task<IResult> LoginAsync(
        HttpContext http,
        [FromForm] string? user,
        [FromForm] string? password,
        [FromForm] string? returnUrl,
        IOptions<DashboardOptions> options,
        ILoggerFactory loggers)
    {
        var back = LocalOnly(returnUrl);
        if (string.IsNullOrWhiteSpace(user) || string.IsNullOrEmpty(password))
        {
            return Results.LocalRedirect($"{LoginPath}?error=missing&returnUrl={Uri.EscapeDataString(back)}");
        }

        try
        {
            using var connection = new PlatformConnection(options.Value.ApiUrl, new PlatformCredential.Password(user.Trim(), password), options.Value.ApiCaFile);
            var token = await connection.TokenAsync(http.RequestAborted);
            var me = await new IdentityService.IdentityServiceClient(connection.Channel).WhoAmIAsync(new WhoAmIRequest(), cancellationToken: http.RequestAborted);
            var claims = new List<Claim>
            {
                new(ClaimTypes.NameIdentifier, me.Account.Id),
                new(ClaimTypes.Name, me.Account.DisplayName.Length > 0 ? me.Account.DisplayName : me.Account.Id),
                new(DashboardClaims.AccessToken, token),
                new(DashboardClaims.Organisation, me.Organisation.Id),
                new(DashboardClaims.OrganisationKind, KindName(me.Organisation.Kind)),
                new(DashboardClaims.Role, me.Account.Role.ToString().ToLowerInvariant()),
            };
            claims.AddRange(me.Organisation.PastureIds.Take(20).Select(id => new Claim(DashboardClaims.PastureHolding, id)));
            claims.AddRange(me.Organisation.PlantIds.Take(20).Select(id => new Claim(DashboardClaims.PlantHolding, id)));
            var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, CookieAuthenticationDefaults.AuthenticationScheme));
            await http.SignInAsync(CookieAuthenticationDefaults.AuthenticationScheme, principal, new AuthenticationProperties
            {
                // The ticket lives exactly as long as the token: after it, the cookie is refused and the login asks again.
                ExpiresUtc = TokenExpiry(token) ?? DateTimeOffset.UtcNow.AddMinutes(5),
                IsPersistent = false,
                AllowRefresh = false,
            });
            return Results.LocalRedirect(back);
        }
        catch (LoginFailedException failed)
        {
            loggers.CreateLogger("HohhotCluster.Telemetry.Dashboard.Login").LogInformation("Login of {User} refused: {Reason}", user, failed.Message);
            return Results.LocalRedirect($"{LoginPath}?error=refused&returnUrl={Uri.EscapeDataString(back)}");
        }
        catch (Exception unreachable) when (unreachable is HttpRequestException or RpcException)
        {
            loggers.CreateLogger("HohhotCluster.Telemetry.Dashboard.Login").LogWarning(unreachable, "The platform's API at {Api} did not answer the login", options.Value.ApiUrl);
            return Results.LocalRedirect($"{LoginPath}?error=unavailable&returnUrl={Uri.EscapeDataString(back)}");
        }
    }

    public static string KindName(OrganisationKind kind) => kind switch
    {
        OrganisationKind.PastureOperator => DashboardClaims.Pasture,
        OrganisationKind.Processor => DashboardClaims.Processor,
        OrganisationKind.Regulator => DashboardClaims.Regulator,
        OrganisationKind.PlatformOperator => DashboardClaims.Operator,
        _ => "",
    };

    /// <summary>A return address only within the dashboard (never an open redirect).</summary>
    public static string LocalOnly(string? url) =>
        !string.IsNullOrEmpty(url) && url.StartsWith('/') && !url.StartsWith("//", StringComparison.Ordinal) && !url.StartsWith("/\\", StringComparison.Ordinal) ? url : "/";

    /// <summary>The <c>exp</c> of a JWT (read, not verified: the API verifies every call; this only ends the cookie with it).</summary>
    public static DateTimeOffset? TokenExpiry(string jwt)
    {
        var parts = jwt.Split('.');
        if (parts.Length < 2)
        {
            return null;
        }

        try
        {
            var payload = parts[1].Replace('-', '+').Replace('_', '/');
            payload = payload.PadRight(payload.Length + ((4 - (payload.Length % 4)) % 4), '=');
            using var json = JsonDocument.Parse(Encoding.UTF8.GetString(Convert.FromBase64String(payload)));
            return json.RootElement.TryGetProperty("exp", out var exp) && exp.TryGetInt64(out var seconds) ? DateTimeOffset.FromUnixTimeSeconds(seconds) : null;
        }
        catch (Exception notJwt) when (notJwt is FormatException or JsonException)
        {
            return null;
        }
    }
}
