using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Grpc.Core;
using HohhotCluster.Telemetry.Client;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.IntegrationTests.Api;

/// <summary>
/// A platform serving TLS with deploy/certs.sh's certificate (REST is HTTP/1.1, which only the TLS endpoint offers,
/// by ALPN), a registered fleet with an intake of today, and accounts of a pasture operator (pasture A) and a processor
/// (the plant), viewer and editor each.
/// </summary>
public sealed class RestPlatform : IAsyncLifetime
{
    public PlatformProcess Platform { get; private set; } = null!;
    public TestFleet Fleet { get; } = new();
    public Dictionary<string, PlatformConnection> Callers { get; } = [];
    public DateOnly Today { get; } = ThroughputProbe.ChinaDay(0);
    public DateTimeOffset IntakeAt { get; private set; }
    public HttpClient Http { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        var tls = Path.Combine(Path.GetTempPath(), "hohhot-tls-rest-" + Fleet.Prefix);
        using (var certs = Process.Start(new ProcessStartInfo("bash", [Path.Combine(TestServers.RepoRoot, "deploy", "certs.sh"), tls]) { RedirectStandardOutput = true })!)
        {
            await certs.WaitForExitAsync();
            Assert.Equal(0, certs.ExitCode);
        }

        Platform = await PlatformProcess.StartAsync(tlsDirectory: tls);
        await Fleet.RegisterAsync(Platform);
        var identity = new IdentityService.IdentityServiceClient(Platform.Channel);
        foreach (var (org, kind, holds) in new[] { ("farm", OrganisationKind.PastureOperator, Fleet.PastureA), ("dairy", OrganisationKind.Processor, Fleet.Plant) })
        {
            var request = new CreateOrganisationRequest { Id = Fleet.Prefix + "-" + org, Kind = kind, Name = "REST " + org };
            (kind == OrganisationKind.Processor ? request.PlantIds : request.PastureIds).Add(holds);
            await identity.CreateOrganisationAsync(request);
            foreach (var role in new[] { AccountRole.Viewer, AccountRole.Editor })
            {
                var id = $"{Fleet.Prefix}-{org}-{role.ToString().ToLowerInvariant()}";
                var created = await identity.CreateAccountAsync(new CreateAccountRequest { OrganisationId = request.Id, Id = id, Kind = AccountKind.User, Role = role });
                Callers[$"{org}-{role.ToString().ToLowerInvariant()}"] = Platform.ConnectAs(new PlatformCredential.Password(id, created.Secret));
            }
        }

        Callers["operator"] = Platform.Operator;
        IntakeAt = DateTimeOffset.UtcNow.AddMinutes(-30);
        await using (var plant = await Gateway.ConnectAsync(Platform, Fleet.Plant, Fleet.PasswordOf(Fleet.Plant)))
        {
            Assert.True(await plant.PublishAsync(Payloads.Topic("plant", Fleet.Plant, Fleet.Weighbridge, "plant_intake"),
                Payloads.Intake(Fleet.Weighbridge, 1, IntakeAt, "TL-rest-1", 12_345.5)));
        }

        Http = TrustingClient(Platform.ApiUrl, Path.Combine(tls, "ca.pem"));
    }

    /// <summary>An HTTP/1.1 client that trusts the platform's private CA and nothing else beyond the system's roots.</summary>
    public static HttpClient TrustingClient(string api, string caFile)
    {
        var ca = X509CertificateLoader.LoadCertificateFromFile(caFile);
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
        {
            if (errors == System.Net.Security.SslPolicyErrors.None)
            {
                return true;
            }

            if (certificate is null)
            {
                return false;
            }

            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.Add(ca);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            return chain.Build(X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
        };
        return new HttpClient(handler) { BaseAddress = new Uri(api), DefaultRequestVersion = HttpVersion.Version11, DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact };
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await Platform.DisposeAsync();
    }
}

/// <summary>
/// REST (gRPC JSON transcoding) on the platform's TLS endpoint over HTTP/1.1: the same call guard decides a REST call
/// as a gRPC one (no token 401, out of scope 403 or 404, in scope 200 with the gRPC answer's numbers), request hygiene
/// and the exception interceptor see REST calls, and the OpenAPI document and Swagger UI are served anonymously.
/// </summary>
public sealed class RestTranscodingTests(RestPlatform fixture) : IClassFixture<RestPlatform>
{
    private async Task<(HttpStatusCode Status, JsonElement Body)> SendAsync(HttpMethod method, string path, string? caller, string? json = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (caller is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await fixture.Callers[caller].TokenAsync(CancellationToken.None));
        }

        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        using var response = await fixture.Http.SendAsync(request);
        Assert.Equal(new Version(1, 1), response.Version);
        var text = await response.Content.ReadAsStringAsync();
        using var document = JsonDocument.Parse(text.Length == 0 ? "{}" : text);
        return (response.StatusCode, document.RootElement.Clone());
    }

    private static string Message(JsonElement body) => body.TryGetProperty("message", out var m) ? m.GetString() ?? "" : body.ToString();

    private string Day => fixture.Today.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    [Fact]
    public async Task A_rest_call_without_a_token_is_401_and_the_openapi_document_and_swagger_ui_are_anonymous()
    {
        var (status, body) = await SendAsync(HttpMethod.Get, "/v1/throughput", caller: null);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("A bearer token is required", Message(body), StringComparison.Ordinal);

        var (forged, _) = await SendAsync(HttpMethod.Get, "/v1/series?metric=SERIES_METRIC_PLANT_INTAKE_KG", caller: null);
        Assert.Equal(HttpStatusCode.Unauthorized, forged);

        using var document = await fixture.Http.GetAsync("/swagger/v1/swagger.json");
        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
        using var openApi = JsonDocument.Parse(await document.Content.ReadAsStringAsync());
        var paths = openApi.RootElement.GetProperty("paths");
        foreach (var path in new[] { "/v1/throughput", "/v1/kpis", "/v1/series", "/v1/alerts", "/v1/alerts/{alertId}/acknowledge", "/v1/audits/pass-rates",
                     "/v1/traceability/lots/{productLotId}/trace-back", "/v1/registry/pastures", "/v1/feeding/daily" })
        {
            Assert.True(paths.TryGetProperty(path, out _), $"the OpenAPI document lacks {path}; it has " + string.Join(", ", paths.EnumerateObject().Select(p => p.Name)));
        }

        Assert.True(paths.GetProperty("/v1/alerts/{alertId}/resolve").TryGetProperty("post", out _));
        using var ui = await fixture.Http.GetAsync("/swagger/index.html");
        Assert.Equal(HttpStatusCode.OK, ui.StatusCode);
        Assert.Contains("swagger-ui", await ui.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rest_call_in_scope_answers_200_with_the_same_numbers_as_grpc()
    {
        var plant = fixture.Fleet.Plant;
        var grpc = await ThroughputProbe.WaitForCountsAsync(fixture.Platform, fixture.Today, ScopeKind.Plant, plant, 0, 0, 1);
        var (status, body) = await SendAsync(HttpMethod.Get, $"/v1/throughput?localDate={Day}&scope.kind=SCOPE_KIND_PLANT&scope.id={plant}", "dairy-viewer");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(grpc.ProcessedT, body.GetProperty("processedT").GetDouble());
        Assert.Equal(12.3455, body.GetProperty("processedT").GetDouble(), 6);
        Assert.Equal(grpc.IntakeCount, body.GetProperty("intakeCount").GetInt64());

        // The series of the same intake, by REST and by gRPC.
        var from = Uri.EscapeDataString(fixture.IntakeAt.AddHours(-1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
        var (seriesStatus, series) = await SendAsync(HttpMethod.Get,
            $"/v1/series?metric=SERIES_METRIC_PLANT_INTAKE_KG&plantId={plant}&from={from}&intervalSeconds=3600", "dairy-viewer");
        Assert.Equal(HttpStatusCode.OK, seriesStatus);
        var grpcSeries = await new SeriesService.SeriesServiceClient(fixture.Callers["dairy-viewer"].Channel).GetSeriesAsync(new GetSeriesRequest
        {
            Metric = SeriesMetric.PlantIntakeKg, PlantId = plant, From = fixture.IntakeAt.AddHours(-1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture), IntervalSeconds = 3600,
        });
        Assert.Equal("raw", series.GetProperty("policy").GetString());
        Assert.Equal(grpcSeries.Points.Select(p => p.Value), series.GetProperty("points").EnumerateArray().Select(p => p.GetProperty("value").GetDouble()));
        Assert.Equal(12_345.5, series.GetProperty("points").EnumerateArray().Sum(p => p.GetProperty("value").GetDouble()), 6);
    }

    [Fact]
    public async Task A_rest_call_out_of_scope_is_403_or_404_as_grpc_refuses_it()
    {
        var f = fixture;
        // PERMISSION_DENIED of the access policy (a pasture operator may not read KPIs) and of the service (the city).
        var (policy, policyBody) = await SendAsync(HttpMethod.Get, "/v1/kpis", "farm-viewer");
        Assert.Equal(HttpStatusCode.Forbidden, policy);
        Assert.Contains("organisation may not call this method", Message(policyBody), StringComparison.Ordinal);
        var (city, _) = await SendAsync(HttpMethod.Get, "/v1/throughput", "farm-viewer");
        Assert.Equal(HttpStatusCode.Forbidden, city);

        // NOT_FOUND: a scope the caller does not hold, as an unregistered one.
        var grpc = await Assert.ThrowsAsync<RpcException>(() => new ThroughputService.ThroughputServiceClient(f.Callers["farm-viewer"].Channel)
            .GetDailyThroughputAsync(new GetDailyThroughputRequest { LocalDate = Day, Scope = new Scope { Kind = ScopeKind.Plant, Id = f.Fleet.Plant } }).ResponseAsync);
        var (other, otherBody) = await SendAsync(HttpMethod.Get, $"/v1/throughput?localDate={Day}&scope.kind=SCOPE_KIND_PLANT&scope.id={f.Fleet.Plant}", "farm-viewer");
        Assert.Equal(StatusCode.NotFound, grpc.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, other);
        Assert.Equal(grpc.Status.Detail, Message(otherBody));
        var (feed, _) = await SendAsync(HttpMethod.Get, $"/v1/pastures/{f.Fleet.PastureB}/feed-stocks", "farm-viewer");
        Assert.Equal(HttpStatusCode.NotFound, feed);

        // A workflow step through REST (POST with the id in the path): a viewer is refused by the policy, an editor of
        // another organisation finds no such alert.
        var (viewer, _) = await SendAsync(HttpMethod.Post, "/v1/alerts/987654321/acknowledge", "farm-viewer", "{}");
        Assert.Equal(HttpStatusCode.Forbidden, viewer);
        var (editor, editorBody) = await SendAsync(HttpMethod.Post, "/v1/alerts/987654321/resolve", "farm-editor", "{\"note\":\"checked the tank\"}");
        Assert.Equal(HttpStatusCode.NotFound, editor);
        Assert.Contains("987654321", Message(editorBody), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Request_hygiene_refuses_a_rest_call_as_it_refuses_grpc()
    {
        // U+0000 in a query parameter: INVALID_ARGUMENT before any lookup, 400 with the field named.
        var (status, body) = await SendAsync(HttpMethod.Get, "/v1/alerts?subject=tank%00P1", "operator");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Contains("subject", Message(body), StringComparison.Ordinal);
        var grpc = await Assert.ThrowsAsync<RpcException>(() => new AlertService.AlertServiceClient(fixture.Platform.Channel)
            .ListAlertsAsync(new ListAlertsRequest { Subject = "tank\0P1" }).ResponseAsync);
        Assert.Equal(grpc.Status.Detail, Message(body));

        // A series request with a field of the wrong metric: the service's INVALID_ARGUMENT, 400, the field named.
        var (wrong, wrongBody) = await SendAsync(HttpMethod.Get,
            $"/v1/series?metric=SERIES_METRIC_MILK_YIELD_KG&pastureId={fixture.Fleet.PastureA}&plantId={fixture.Fleet.Plant}&from=2026-12-01T00:00:00Z&intervalSeconds=3600", "operator");
        Assert.Equal(HttpStatusCode.BadRequest, wrong);
        Assert.Contains("plant_id does not apply", Message(wrongBody), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_failure_inside_a_service_reached_by_rest_is_500_without_the_server_text()
    {
        // A platform whose InfluxDB database is gone: InfluxDB answers the series read with an error; the exception
        // interceptor turns it into INTERNAL with its neutral words, which REST answers as 500.
        var tls = fixture.Platform.TlsDirectory!;
        await using var platform = await PlatformProcess.StartAsync(tlsDirectory: tls);
        await Eventually.WaitAsync(async () => (await platform.Influx.ExecuteAsync($"SHOW RETENTION POLICIES ON \"{platform.InfluxDatabase}\"")).ToString(),
            text => text.Contains("\"raw\"", StringComparison.Ordinal));
        await platform.Influx.ExecuteAsync($"DROP DATABASE \"{platform.InfluxDatabase}\"");
        using var http = RestPlatform.TrustingClient(platform.ApiUrl, Path.Combine(tls, "ca.pem"));
        await new RegistryService.RegistryServiceClient(platform.Channel).UpsertRegistryAsync(fixture.Fleet.ToDocument());
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/v1/series?metric=SERIES_METRIC_PLANT_INTAKE_KG&plantId={fixture.Fleet.Plant}&from=2026-12-01T00:00:00Z&to=2026-12-01T06:00:00Z&intervalSeconds=3600");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", await platform.OperatorTokenAsync());
        using var response = await http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Contains("The request failed inside the platform; it has been logged.", text, StringComparison.Ordinal);
        Assert.DoesNotContain("database not found", text, StringComparison.Ordinal);
    }
}
