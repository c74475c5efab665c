using System.Globalization;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.Localization;

namespace HohhotCluster.Telemetry.Dashboard.Components;

/// <summary>
/// A page (or live panel) that reads the API as the signed-in user. A refused token sends the browser to the login
/// (the cookie is dropped first); any other refusal is shown as the API's status and message, never as numbers.
/// </summary>
public abstract class ApiPage : ComponentBase
{
    [Inject] protected ApiSession Api { get; set; } = null!;

    [Inject] protected NavigationManager Nav { get; set; } = null!;

    [Inject] protected IStringLocalizer<Text> L { get; set; } = null!;

    [CascadingParameter] protected Task<AuthenticationState>? Authentication { get; set; }

    /// <summary>The last refusal, as "STATUS: the API's message".</summary>
    protected string? Error { get; set; }

    protected async Task<T?> CallAsync<T>(Func<GrpcChannel, Task<T>> call) where T : class
    {
        try
        {
            return await call(await Api.ChannelAsync());
        }
        catch (SessionExpiredException)
        {
            Expired();
        }
        catch (RpcException refused) when (refused.StatusCode == StatusCode.Unauthenticated)
        {
            Expired();
        }
        catch (RpcException refused)
        {
            Error = $"{refused.StatusCode}: {refused.Status.Detail}";
        }

        return null;
    }

    protected async Task<System.Security.Claims.ClaimsPrincipal> UserAsync() =>
        Authentication is null ? new System.Security.Claims.ClaimsPrincipal() : (await Authentication).User;

    private void Expired() =>
        Nav.NavigateTo("account/expired?returnUrl=" + Uri.EscapeDataString("/" + Nav.ToBaseRelativePath(Nav.Uri)), forceLoad: true);

    protected static string Tonnes(double t) => t.ToString("N1", CultureInfo.CurrentCulture);

    protected static string Kg(double kg) => kg.ToString("N0", CultureInfo.CurrentCulture);

    protected static string Percent(double p) => p.ToString("N1", CultureInfo.CurrentCulture) + " %";

    /// <summary>Today and yesterday in China Standard Time (UTC+8, no daylight saving), the platform's business day.</summary>
    protected static DateOnly ChinaToday => DateOnly.FromDateTime(DateTime.UtcNow.AddHours(8));
}
