using System.Globalization;
using System.Text.Json;
using Deque.AxeCore.Playwright;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace HohhotCluster.Telemetry.BrowserTests;

/// <summary>The dashboard in Debian's Chromium against the real platform with the demo day published.</summary>
public sealed class DashboardTests(DashboardFixture fixture, ITestOutputHelper output) : IClassFixture<DashboardFixture>
{
    private string Url(string path) => fixture.Dashboard.Url + path;

    private static string R(double value) => value.ToString("R", CultureInfo.InvariantCulture);

    private async Task ScreenshotAsync(IPage page, string name)
    {
        var path = Path.Combine(DashboardFixture.ScreenshotDirectory, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        output.WriteLine("screenshot: " + path);
    }

    [Fact]
    public async Task The_regulator_sees_yesterdays_city_with_the_APIs_numbers_against_the_plan()
    {
        await using var browser = await fixture.BrowserAsync();
        var page = await fixture.LoginAsync(browser, fixture.Regulator, $"/city?date={fixture.Yesterday}");
        await page.WaitForSelectorAsync("[data-testid=processed-t]");
        using var api = fixture.ApiAs(fixture.Regulator);
        var throughput = new ThroughputService.ThroughputServiceClient(api.Channel);
        var city = await throughput.GetDailyThroughputAsync(new GetDailyThroughputRequest { LocalDate = fixture.Yesterday, Scope = new Scope { Kind = ScopeKind.City } });
        Assert.True(city.ProcessedT > 0 && city.ProducedT > 0, "the demo day left no milk in the city's totals");

        Assert.Equal(R(city.ProcessedT), await page.GetAttributeAsync("[data-testid=processed-t]", "data-value"));
        Assert.Equal(R(city.ProducedT), await page.GetAttributeAsync("[data-testid=produced-t]", "data-value"));
        Assert.Equal(R(city.MilkedT), await page.GetAttributeAsync("[data-testid=milked-t]", "data-value"));
        foreach (var goal in city.Goals)
        {
            Assert.Equal(R(goal.ActualT), await page.GetAttributeAsync($"tr[data-goal='{goal.Key}'] td[data-value]", "data-value"));
        }

        Assert.Equal(city.Goals.Count, await page.Locator("[data-testid=goals] tbody tr").CountAsync());
        // Each county's row is the API's answer for that county.
        var counties = await new RegistryService.RegistryServiceClient(api.Channel).ListCountiesAsync(new RegistryPageRequest { PageSize = 1000 });
        foreach (var county in counties.Counties)
        {
            var day = await throughput.GetDailyThroughputAsync(new GetDailyThroughputRequest { LocalDate = fixture.Yesterday, Scope = new Scope { Kind = ScopeKind.County, Id = county.Id } });
            Assert.Equal(R(day.ProcessedT), await page.GetAttributeAsync($"tr[data-id='{county.Id}'] td:nth-child(2)", "data-value"));
        }

        // The 30-day chart was drawn by the vendored ECharts, and its last day is the API's history for the day.
        await page.WaitForSelectorAsync("[data-testid=chart-30d][data-chart-ready=true]");
        var option = JsonDocument.Parse((await page.GetAttributeAsync("[data-testid=chart-30d]", "data-chart"))!);
        var processed = option.RootElement.GetProperty("series")[0].GetProperty("data");
        Assert.Equal(Math.Round(city.ProcessedT, 1), processed[processed.GetArrayLength() - 1].GetDouble());
        await ScreenshotAsync(page, "city-yesterday");
    }

    [Fact]
    public async Task Todays_city_panel_is_live_and_refreshes_without_a_reload()
    {
        await using var browser = await fixture.BrowserAsync();
        var page = await fixture.LoginAsync(browser, fixture.Regulator, "/city");
        await page.WaitForSelectorAsync("[data-testid=live-badge]");
        await page.EvaluateAsync("() => { window.__sameDocument = true; }");
        var first = await page.TextContentAsync("[data-testid=refreshed-at]");
        await page.WaitForFunctionAsync("first => document.querySelector('[data-testid=refreshed-at]').textContent !== first", first, new PageWaitForFunctionOptions { Timeout = 30_000 });
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"), "the page was reloaded");
        await ScreenshotAsync(page, "city-today-live");
    }

    [Fact]
    public async Task A_processor_sees_its_plants_and_not_the_city()
    {
        await using var browser = await fixture.BrowserAsync();
        var page = await fixture.LoginAsync(browser, fixture.Processor, $"/city?date={fixture.Yesterday}");
        await page.WaitForSelectorAsync("[data-testid=processed-t]");
        Assert.Equal($"plant {fixture.Plants[0]}", (await page.TextContentAsync("[data-testid=scope]"))!.Trim());
        Assert.Equal(0, await page.Locator("nav a[href=kpis]").CountAsync());

        await page.GotoAsync(Url($"/city?date={fixture.Yesterday}&kind=city"));
        Assert.Equal(0, await page.Locator("[data-testid=processed-t]").CountAsync());
        Assert.Contains("PermissionDenied", await page.TextContentAsync("[data-testid=throughput-panel] .error"));
        await ScreenshotAsync(page, "processor-city-refused");
    }

    [Fact]
    public async Task A_pasture_user_sees_its_pasture_and_not_another()
    {
        await using var browser = await fixture.BrowserAsync();
        var page = await fixture.LoginAsync(browser, fixture.PastureUser, $"/city?date={fixture.Yesterday}");
        await page.WaitForSelectorAsync("[data-testid=processed-t]");
        Assert.Equal($"pasture {fixture.OnePasture}", (await page.TextContentAsync("[data-testid=scope]"))!.Trim());
        using var api = fixture.ApiAs(fixture.PastureUser);
        var own = await new ThroughputService.ThroughputServiceClient(api.Channel).GetDailyThroughputAsync(
            new GetDailyThroughputRequest { LocalDate = fixture.Yesterday, Scope = new Scope { Kind = ScopeKind.Pasture, Id = fixture.OnePasture } });
        Assert.Equal(R(own.ProducedT), await page.GetAttributeAsync("[data-testid=produced-t]", "data-value"));

        var other = fixture.Pastures.First(p => p != fixture.OnePasture);
        await page.GotoAsync(Url($"/city?date={fixture.Yesterday}&kind=pasture&id={other}"));
        Assert.Equal(0, await page.Locator("[data-testid=processed-t]").CountAsync());
        Assert.NotNull(await page.TextContentAsync("[data-testid=throughput-panel] .error"));

        await page.GotoAsync(Url("/pasture"));
        await page.WaitForSelectorAsync("[data-testid=devices]");
        var devices = await page.Locator("[data-testid=devices] tbody tr").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.device)");
        Assert.NotEmpty(devices);
        Assert.All(devices, d => Assert.StartsWith(fixture.OnePasture, d, StringComparison.Ordinal));
        await ScreenshotAsync(page, "pasture");
    }

    [Fact]
    public async Task The_trace_page_shows_the_days_product_lot_back_to_its_pastures()
    {
        await using var browser = await fixture.BrowserAsync();
        var page = await fixture.LoginAsync(browser, fixture.Regulator, $"/trace?what=product&id={Uri.EscapeDataString(fixture.ProductLot)}");
        await page.WaitForSelectorAsync("[data-testid=trace-back]");
        using var api = fixture.ApiAs(fixture.Regulator);
        var back = await new TraceabilityService.TraceabilityServiceClient(api.Channel).TraceBackAsync(new TraceBackRequest { ProductLotId = fixture.ProductLot });
        var expected = back.Lots.Where(l => l.Ref.Kind == LotKind.BulkTank).Select(l => l.PastureId).Distinct().Order().ToArray();
        Assert.NotEmpty(expected);
        var shown = await page.Locator("[data-testid=lots] tr[data-lot-kind=BulkTank]").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.pasture)");
        Assert.Equal(expected, shown.Distinct().Order().ToArray());
        await page.WaitForSelectorAsync("[data-testid=chain-graph][data-chart-ready=true]");
        var graph = JsonDocument.Parse((await page.GetAttributeAsync("[data-testid=chain-graph]", "data-chart"))!);
        Assert.Equal(back.Edges.Count, graph.RootElement.GetProperty("series")[0].GetProperty("links").GetArrayLength());
        await ScreenshotAsync(page, "trace-back");

        // The failing sample's recall impact: the lots to hold are the API's.
        await page.GotoAsync(Url($"/trace?what=sample&id={Uri.EscapeDataString(fixture.FailingSample)}"));
        await page.WaitForSelectorAsync("[data-testid=recall]");
        var recall = await new TraceabilityService.TraceabilityServiceClient(api.Channel).RecallImpactAsync(new RecallImpactRequest { SampleId = fixture.FailingSample });
        var held = await page.Locator("[data-testid=recall] tr[data-product-lot]").EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.productLot)");
        Assert.Equal(recall.Products.Select(p => p.ProductLotId).Order().ToArray(), held.Order().ToArray());
        await ScreenshotAsync(page, "trace-recall");
    }

    [Fact]
    public async Task A_live_alert_appears_without_a_reload_after_a_failing_sample_is_published()
    {
        await using var browser = await fixture.BrowserAsync();
        var page = await fixture.LoginAsync(browser, fixture.Regulator, "/alerts");
        await page.WaitForSelectorAsync("[data-testid=alert-stream].live", new PageWaitForSelectorOptions { Timeout = 30_000 });
        await page.EvaluateAsync("() => { window.__sameDocument = true; }");

        // A regulator's lab in the pasture's county publishes a supervisory sample whose protein is under the limit.
        var registry = new RegistryService.RegistryServiceClient(fixture.Platform.Channel);
        var pasture = (await registry.ListPasturesAsync(new RegistryPageRequest { Id = fixture.OnePasture })).Pastures.Single();
        var lab = "it-lab-" + Guid.NewGuid().ToString("N")[..6];
        var device = lab + "-ANALYSER";
        var document = new RegistryDocument();
        document.Labs.Add(new Lab { Id = lab, CountyId = pasture.CountyId, Name = "market-supervision lab" });
        document.Devices.Add(new Device { Id = device, OwnerKind = OwnerKind.Lab, OwnerId = lab, Kind = "lab_analyser" });
        await registry.UpsertRegistryAsync(document);
        var secret = "gateway-secret-of-" + lab + "-0123456789";
        await TestFleet.IssueGatewayAsync(fixture.Platform, lab, OwnerKind.Lab, lab, secret);
        await using var gateway = await Gateway.ConnectAsync(fixture.Platform, lab, secret);
        var lot = "BTL-BROWSER-" + Guid.NewGuid().ToString("N")[..6];
        var now = DateTimeOffset.UtcNow.AddMinutes(-5);
        var body = new Dictionary<string, object?>
        {
            ["deviceId"] = device, ["bootEpoch"] = Payloads.Epoch, ["seq"] = 1, ["eventTime"] = Payloads.Rfc3339(now),
            ["sampleId"] = lab + "-S1", ["sampleKind"] = "supervisory", ["sampledAt"] = Payloads.Rfc3339(now.AddMinutes(-30)), ["pastureId"] = fixture.OnePasture,
            ["lot"] = new { kind = "bulk_tank_lot", id = lot },
            ["items"] = new object[] { new { item = "protein", value = 2.70m, unit = "g/100g" }, new { item = "antibiotic_residue", result = "negative" } },
        };
        Assert.True(await gateway.PublishAsync(Payloads.Topic("lab", lab, device, "quality"), JsonSerializer.Serialize(body)), "the sample was not acknowledged");

        var row = page.Locator("[data-testid=alerts] tr[data-alert-kind=quality_failure]", new PageLocatorOptions { HasTextString = lot });
        await row.WaitForAsync(new LocatorWaitForOptions { Timeout = 60_000 });
        Assert.True(await page.EvaluateAsync<bool>("() => window.__sameDocument === true"), "the page was reloaded");
        await ScreenshotAsync(page, "alerts-live");

        // Acknowledge it from the page; the history shows who.
        await row.Locator("button").ClickAsync();
        await page.WaitForSelectorAsync("[data-testid=alert-detail]");
        await page.ClickAsync("[data-testid=alert-detail] button:has-text('确认')");
        await page.Locator("[data-testid=alert-history] tbody tr", new PageLocatorOptions { HasTextString = fixture.Regulator.User }).WaitForAsync(new LocatorWaitForOptions { Timeout = 30_000 });
        await ScreenshotAsync(page, "alert-history");
    }

    [Fact]
    public async Task The_audits_XLSX_download_opens_and_holds_the_days_failing_sample()
    {
        await using var browser = await fixture.BrowserAsync();
        var week = $"from={ThroughputProbe.ChinaDay(7):yyyy-MM-dd}&to={fixture.Yesterday}";
        var page = await fixture.LoginAsync(browser, fixture.Regulator, "/audits?" + week);
        await page.WaitForSelectorAsync("[data-testid=failing]");
        Assert.Equal(1, await page.Locator($"[data-testid=failing] tr[data-sample='{fixture.FailingSample}']").CountAsync());
        await ScreenshotAsync(page, "audits");

        var download = await page.RunAndWaitForDownloadAsync(() => page.ClickAsync("[data-testid=xlsx-download]"));
        var path = Path.Combine(DashboardFixture.ScreenshotDirectory, "audits.xlsx");
        await download.SaveAsAsync(path);
        output.WriteLine("downloaded: " + path);
        Assert.EndsWith(".xlsx", download.SuggestedFilename, StringComparison.Ordinal);
        Assert.Contains("failing_samples", MiniExcelLibs.MiniExcel.GetSheetNames(path));
        var rows = MiniExcelLibs.MiniExcel.Query(path, useHeaderRow: true, sheetName: "failing_samples").Cast<IDictionary<string, object?>>().ToList();
        Assert.Contains(rows, r => Equals(r["sample_id"]?.ToString(), fixture.FailingSample));
        var rates = MiniExcelLibs.MiniExcel.Query(path, useHeaderRow: true, sheetName: "pass_rates").Cast<IDictionary<string, object?>>().ToList();
        Assert.NotEmpty(rates);
    }

    [Fact]
    public async Task Every_page_has_no_serious_or_critical_accessibility_violation()
    {
        var pages = new (DashboardFixture.Account? Account, string Path, string Name)[]
        {
            (null, "/login", "login"),
            (fixture.Regulator, $"/city?date={fixture.Yesterday}", "axe-city"),
            (fixture.Regulator, $"/trace?what=product&id={Uri.EscapeDataString(fixture.ProductLot)}", "axe-trace"),
            (fixture.Regulator, "/alerts", "axe-alerts"),
            (fixture.Regulator, "/kpis", "axe-kpis"),
            (fixture.Regulator, $"/audits?from={ThroughputProbe.ChinaDay(7):yyyy-MM-dd}", "axe-audits"),
            (fixture.PastureUser, "/pasture", "axe-pasture"),
            (fixture.Operator, "/operator", "axe-operator"),
        };
        var problems = new List<string>();
        foreach (var group in pages.GroupBy(p => p.Account))
        {
            await using var browser = await fixture.BrowserAsync();
            var page = group.Key is { } account ? await fixture.LoginAsync(browser, account) : await browser.NewPageAsync();
            foreach (var (_, path, name) in group)
            {
                await page.GotoAsync(Url(path));
                await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
                if (group.Key is not null)
                {
                    Assert.DoesNotContain("/login", page.Url, StringComparison.Ordinal);
                }

                var result = await page.RunAxe();
                problems.AddRange(result.Violations.Where(v => v.Impact is "serious" or "critical")
                    .Select(v => $"{path}: {v.Impact} {v.Id}: {v.Help} ({string.Join(", ", v.Nodes.Take(3).Select(n => n.Target?.ToString()))})"));
                await ScreenshotAsync(page, name);
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task The_city_page_fits_a_390_px_phone_screen()
    {
        await using var browser = await fixture.BrowserAsync(390, 844);
        var page = await fixture.LoginAsync(browser, fixture.Regulator, $"/city?date={fixture.Yesterday}");
        await page.WaitForSelectorAsync("[data-testid=processed-t]");
        var width = await page.EvaluateAsync<int>("() => document.documentElement.scrollWidth");
        Assert.True(width <= 390, $"the page is {width} px wide on a 390 px screen");
        await ScreenshotAsync(page, "city-phone");
    }

    [Fact]
    public async Task Chinese_is_the_default_and_the_switch_turns_the_page_to_English()
    {
        await using var browser = await fixture.BrowserAsync();
        var page = await fixture.LoginAsync(browser, fixture.Regulator, $"/city?date={fixture.Yesterday}");
        Assert.Equal("全市鲜奶：对照规划", (await page.TextContentAsync("h1"))!.Trim());
        await page.ClickAsync("a[lang=en]");
        await page.WaitForSelectorAsync("h1:has-text('against the plan')");
        Assert.Equal("en", await page.GetAttributeAsync("html", "lang"));
    }

    [Fact]
    public async Task Logging_out_drops_the_session_and_the_pages_ask_for_a_login()
    {
        await using var browser = await fixture.BrowserAsync();
        var page = await fixture.LoginAsync(browser, fixture.Regulator, "/kpis");
        await page.WaitForSelectorAsync("[data-testid=kpis]");
        await page.ClickAsync("form[action='account/logout'] button");
        await page.WaitForURLAsync(url => url.Contains("/login", StringComparison.Ordinal));
        await page.GotoAsync(Url("/kpis"));
        Assert.Contains("/login", page.Url, StringComparison.Ordinal);
        Assert.Equal(0, await page.Locator("[data-testid=kpis]").CountAsync());
    }

    [Fact]
    public async Task A_wrong_password_is_refused_with_a_message()
    {
        await using var browser = await fixture.BrowserAsync();
        var page = await browser.NewPageAsync();
        await page.GotoAsync(Url("/login"));
        await page.FillAsync("#user", fixture.Regulator.User);
        await page.FillAsync("#password", "not-the-password");
        await page.ClickAsync("form[action='account/login'] button[type=submit]");
        await page.WaitForSelectorAsync("[data-testid=login-error]");
        Assert.Contains("/login", page.Url, StringComparison.Ordinal);
    }
}
