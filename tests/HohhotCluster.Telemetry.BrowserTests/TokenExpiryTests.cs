using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using Microsoft.Playwright;

namespace HohhotCluster.Telemetry.BrowserTests;

/// <summary>
/// The session ends with the platform's token: a platform of its own issuing one-minute tokens (the shortest
/// Identity:AccessTokenLifetime allows) and a dashboard in front of it. The API alone would still accept the
/// token for its clock skew; the dashboard's cookie ticket expires exactly with it.
/// </summary>
public sealed class TokenExpiryTests : IAsyncLifetime
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "hohhot-browser-expiry-" + Guid.NewGuid().ToString("N")[..8]);
    private PlatformProcess _platform = null!;
    private DashboardProcess _dashboard = null!;
    private IPlaywright _playwright = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(DashboardFixture.ChromiumPath))
        {
            throw new InvalidOperationException($"Chromium was not found at {DashboardFixture.ChromiumPath}: deploy/test.sh installs Debian's chromium package.");
        }

        Directory.CreateDirectory(_work);
        _platform = await PlatformProcess.StartAsync(settings: new Dictionary<string, string> { ["Identity__AccessTokenLifetime"] = "00:01:00" });
        var tls = Path.Combine(_work, "tls");
        await ChildProcess.RequireDeployScriptAsync("certs.sh", [tls]);
        _dashboard = await DashboardProcess.StartAsync(_platform.ApiUrl, tls, _work);
        _playwright = await Playwright.CreateAsync();
    }

    public async Task DisposeAsync()
    {
        _playwright?.Dispose();
        if (_dashboard is not null)
        {
            await _dashboard.DisposeAsync();
        }

        if (_platform is not null)
        {
            await _platform.DisposeAsync();
        }

        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task An_expired_token_sends_the_user_to_the_login_page()
    {
        var profile = Directory.CreateDirectory(Path.Combine(_work, "chromium")).FullName;
        await using var browser = await _playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = DashboardFixture.ChromiumPath, Headless = true, Args = DashboardFixture.ChromiumArgs, IgnoreHTTPSErrors = true,
        });
        var page = browser.Pages.Count > 0 ? browser.Pages[0] : await browser.NewPageAsync();
        await page.GotoAsync(_dashboard.Url + "/login?returnUrl=%2Foperator");
        await page.FillAsync("#user", "operator");
        await page.FillAsync("#password", _platform.OperatorPassword);
        var loggedInAt = DateTime.UtcNow;
        await page.ClickAsync("form[action='account/login'] button[type=submit]");
        await page.WaitForSelectorAsync("[data-testid=organisations]", new PageWaitForSelectorOptions { Timeout = 30_000 });

        // Past the token's minute: the next page is the login, not the data.
        var wait = loggedInAt.AddSeconds(65) - DateTime.UtcNow;
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }

        await page.GotoAsync(_dashboard.Url + "/operator");
        Assert.Contains("/login", page.Url, StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("[data-testid=organisations]").CountAsync());
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(DashboardFixture.ScreenshotDirectory, "login-after-expiry.png") });
    }
}
