using System.Globalization;
using System.Security.Cryptography.X509Certificates;
using HohhotCluster.Telemetry.Dashboard;
using HohhotCluster.Telemetry.Dashboard.Components;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Localization;

var builder = WebApplication.CreateBuilder(args);
builder.Services.AddOptions<DashboardOptions>().Bind(builder.Configuration.GetSection(DashboardOptions.Section));
var options = builder.Configuration.GetSection(DashboardOptions.Section).Get<DashboardOptions>() ?? new DashboardOptions();

// The build's static web assets (wwwroot, the vendored ECharts, blazor.web.js) are served from the build output in
// every environment, not only Development: the demo and the tests run the built dashboard as it is.
builder.WebHost.UseStaticWebAssets();

var listen = new Uri(options.Url);
builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.AddServerHeader = false;
    kestrel.Listen(System.Net.IPAddress.Parse(listen.Host), listen.Port, endpoint =>
    {
        if (listen.Scheme == Uri.UriSchemeHttps)
        {
            if (string.IsNullOrEmpty(options.TlsCertificateFile) || string.IsNullOrEmpty(options.TlsKeyFile))
            {
                throw new InvalidOperationException("Dashboard:Url is https:// but Dashboard:TlsCertificateFile and Dashboard:TlsKeyFile are not set (deploy/certs.sh makes them).");
            }

            endpoint.UseHttps(X509Certificate2.CreateFromPemFile(options.TlsCertificateFile, options.TlsKeyFile));
        }
        else if (!System.Net.IPAddress.IsLoopback(System.Net.IPAddress.Parse(listen.Host)))
        {
            throw new InvalidOperationException("Dashboard:Url may be plaintext http:// only on a loopback address.");
        }
    });
});

var dataProtection = builder.Services.AddDataProtection().SetApplicationName("hohhot-dashboard");
if (!string.IsNullOrEmpty(options.DataProtectionKeysDir))
{
    dataProtection.PersistKeysToFileSystem(new DirectoryInfo(options.DataProtectionKeysDir));
}

builder.Services.AddAuthentication(CookieAuthenticationDefaults.AuthenticationScheme)
    .AddCookie(cookie =>
    {
        cookie.Cookie.Name = "hohhot.dashboard";
        cookie.Cookie.HttpOnly = true;
        cookie.Cookie.SameSite = SameSiteMode.Strict;
        cookie.Cookie.SecurePolicy = listen.Scheme == Uri.UriSchemeHttps ? CookieSecurePolicy.Always : CookieSecurePolicy.SameAsRequest;
        cookie.LoginPath = AccountEndpoints.LoginPath;
        cookie.AccessDeniedPath = AccountEndpoints.LoginPath;
        cookie.SlidingExpiration = false;
    });
builder.Services.AddAuthorization();
builder.Services.AddCascadingAuthenticationState();
builder.Services.AddLocalization(o => o.ResourcesPath = "Resources");
builder.Services.AddScoped<ApiSession>();
builder.Services.AddRazorComponents().AddInteractiveServerComponents();

var app = builder.Build();

// Chinese first: zh-CN unless the language switch's cookie says English.
var cultures = new[] { new CultureInfo("zh-CN"), new CultureInfo("en") };
var localization = new RequestLocalizationOptions
{
    DefaultRequestCulture = new RequestCulture("zh-CN"),
    SupportedCultures = cultures,
    SupportedUICultures = cultures,
};
localization.RequestCultureProviders = [new CookieRequestCultureProvider()];
app.UseRequestLocalization(localization);

if (listen.Scheme == Uri.UriSchemeHttps)
{
    app.UseHsts();
}

app.UseAuthentication();
app.UseAuthorization();
app.UseAntiforgery();
app.MapStaticAssets();
app.MapAccountEndpoints();
app.MapDownloadEndpoints();
app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
app.Run();
