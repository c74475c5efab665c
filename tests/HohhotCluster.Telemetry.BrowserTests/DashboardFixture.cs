using System.Globalization;
using HohhotCluster.Telemetry.Client;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;
using Microsoft.Playwright;

namespace HohhotCluster.Telemetry.BrowserTests;

/// <summary>
/// One platform process on the real servers with the simulator's demo day (yesterday, China Standard Time) published
/// to its MQTT endpoint and verified, an account per kind of organisation, the dashboard process in front of it, and
/// Debian's Chromium under Playwright. Missing Chromium fails every test with what to install; nothing is skipped.
/// </summary>
public sealed class DashboardFixture : IAsyncLifetime
{
    /// <summary>Debian's package, driven by its path; <c>HOHHOT_CHROMIUM</c> names another.</summary>
    public static string ChromiumPath => Environment.GetEnvironmentVariable("HOHHOT_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    public static readonly string[] ChromiumArgs =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync",
    ];

    private readonly string _work = Path.Combine(Path.GetTempPath(), "hohhot-browser-" + Guid.NewGuid().ToString("N")[..8]);

    public PlatformProcess Platform { get; private set; } = null!;
    public DashboardProcess Dashboard { get; private set; } = null!;
    public IPlaywright Playwright { get; private set; } = null!;
    public string Yesterday { get; } = ThroughputProbe.ChinaDay(1).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    /// <summary>A product lot of the demo day and its failing supervisory sample, as <c>hohhot-sim chain</c> printed them.</summary>
    public string ProductLot { get; private set; } = "";
    public string FailingSample { get; private set; } = "";

    public string OnePasture { get; private set; } = "";
    public IReadOnlyList<string> Pastures { get; private set; } = [];
    public IReadOnlyList<string> Plants { get; private set; } = [];

    public Account Regulator { get; private set; } = null!;
    public Account Processor { get; private set; } = null!;
    public Account PastureUser { get; private set; } = null!;
    public Account Operator { get; private set; } = null!;

    public sealed record Account(string User, string Password);

    public static string ScreenshotDirectory { get; } = Directory.CreateDirectory(Path.Combine(TestServers.RepoRoot, "tests", "HohhotCluster.Telemetry.BrowserTests", "TestResults", "screenshots")).FullName;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            throw new InvalidOperationException(
                $"Chromium was not found at {ChromiumPath}. The browser tests drive Debian's chromium package by its path: " +
                "deploy/test.sh installs it (apt-get install chromium), or set HOHHOT_CHROMIUM. They fail rather than skip.");
        }

        Directory.CreateDirectory(_work);
        Platform = await PlatformProcess.StartAsync();
        await Simulator.RegisterFleetAsync("demo", "1", Platform, _work);
        var ledger = Path.Combine(_work, "ledger.jsonl");
        var record = Path.Combine(_work, "run.bin");
        await Simulator.RequireAsync(
            "run", "--profile", "demo", "--seed", "1", "--start", Yesterday + "T00:00:00+08:00", "--duration", "1d",
            "--boot-epoch", "now", "--mqtt", $"mqtt://127.0.0.1:{Platform.MqttPort}",
            "--ledger", ledger, "--spool", Path.Combine(_work, "spool"), "--record", record);
        var (verified, verifyOutput) = await Simulator.VerifyAsync(ledger, Platform, "demo");
        Assert.True(verified == 0, "hohhot-sim verify found differences after the demo day:\n" + verifyOutput);
        var (chainExit, chain) = await Simulator.RunAsync("chain", "--file", record);
        Assert.True(chainExit == 0, "hohhot-sim chain failed:\n" + chain);
        string First(string tag) => chain.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 2 && f[0] == tag).Select(f => f[1]).FirstOrDefault() ?? throw new InvalidOperationException($"hohhot-sim chain printed no {tag}:\n{chain}");
        ProductLot = First("product-lot");
        FailingSample = First("failing-sample");

        var registry = new RegistryService.RegistryServiceClient(Platform.Channel);
        Pastures = (await registry.ListPasturesAsync(new RegistryPageRequest { PageSize = 1000 })).Pastures.Select(p => p.Id).ToList();
        Plants = (await registry.ListPlantsAsync(new RegistryPageRequest { PageSize = 1000 })).Plants.Select(p => p.Id).ToList();
        OnePasture = Pastures[0];
        var identity = new IdentityService.IdentityServiceClient(Platform.Channel);
        Regulator = await AccountAsync(identity, new CreateOrganisationRequest { Id = "it-amr", Kind = OrganisationKind.Regulator, Name = "市场监督管理局", CityWide = true }, "it-regulator");
        var dairy = new CreateOrganisationRequest { Id = "it-dairy", Kind = OrganisationKind.Processor, Name = "乳品企业" };
        dairy.PlantIds.AddRange(Plants);
        Processor = await AccountAsync(identity, dairy, "it-dairy-editor");
        var farm = new CreateOrganisationRequest { Id = "it-farm", Kind = OrganisationKind.PastureOperator, Name = "牧场" };
        farm.PastureIds.Add(OnePasture);
        PastureUser = await AccountAsync(identity, farm, "it-farm-admin");
        Operator = new Account("operator", Platform.OperatorPassword);

        var tls = Path.Combine(_work, "tls");
        await ChildProcess.RequireDeployScriptAsync("certs.sh", [tls]);
        Dashboard = await DashboardProcess.StartAsync(Platform.ApiUrl, tls, _work);
        Playwright = await Microsoft.Playwright.Playwright.CreateAsync();
    }

    private static async Task<Account> AccountAsync(IdentityService.IdentityServiceClient identity, CreateOrganisationRequest organisation, string user)
    {
        await identity.CreateOrganisationAsync(organisation);
        var password = "pw-" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12));
        await identity.CreateAccountAsync(new CreateAccountRequest
        {
            OrganisationId = organisation.Id, Id = user, Kind = AccountKind.User, Role = AccountRole.Editor, Password = password,
        });
        return new Account(user, password);
    }

    /// <summary>The API as an account, to compare the page's numbers with.</summary>
    public PlatformConnection ApiAs(Account account) => Platform.ConnectAs(new PlatformCredential.Password(account.User, account.Password));

    /// <summary>A browser of its own (a fresh user-data directory) at the given window size.</summary>
    public async Task<IBrowserContext> BrowserAsync(int width = 1366, int height = 900)
    {
        var profile = Directory.CreateDirectory(Path.Combine(_work, "chromium-" + Guid.NewGuid().ToString("N")[..8])).FullName;
        return await Playwright.Chromium.LaunchPersistentContextAsync(profile, new BrowserTypeLaunchPersistentContextOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ChromiumArgs,
            // The dashboard's certificate is deploy/certs.sh's private CA's, which this fresh profile does not trust.
            IgnoreHTTPSErrors = true,
            ViewportSize = new ViewportSize { Width = width, Height = height },
            Locale = "zh-CN",
            AcceptDownloads = true,
        });
    }

    /// <summary>Logs in through the login form; returns the page it landed on.</summary>
    public async Task<IPage> LoginAsync(IBrowserContext browser, Account account, string returnUrl = "/")
    {
        var page = browser.Pages.Count > 0 ? browser.Pages[0] : await browser.NewPageAsync();
        await page.GotoAsync($"{Dashboard.Url}/login?returnUrl={Uri.EscapeDataString(returnUrl)}");
        await page.FillAsync("#user", account.User);
        await page.FillAsync("#password", account.Password);
        await page.ClickAsync("form[action='account/login'] button[type=submit]");
        await page.WaitForURLAsync(url => !url.Contains("/login", StringComparison.Ordinal), new PageWaitForURLOptions { Timeout = 30_000 });
        return page;
    }

    public string Logs() => $"dashboard log:\n{Dashboard.LogTail()}\nplatform log:\n{Platform.LogTail(30)}";

    public async Task DisposeAsync()
    {
        Playwright?.Dispose();
        if (Dashboard is not null)
        {
            await Dashboard.DisposeAsync();
        }

        if (Platform is not null)
        {
            await Platform.DisposeAsync();
        }

        try
        {
            Directory.Delete(_work, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
