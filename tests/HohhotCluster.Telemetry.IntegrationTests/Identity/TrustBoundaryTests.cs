using System.Diagnostics;
using Grpc.Core;
using HohhotCluster.Telemetry.Client;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.IntegrationTests.Identity;

/// <summary>
/// What the outside probe found, each tried again through real gRPC: writes across owners, secrets that outlive a
/// rotation, over-long and U+0000 input, a caller who floods, and what a processor can learn of lots that are not
/// its own.
/// </summary>
public sealed class TrustBoundaryTests(IdentityPlatform fixture) : IClassFixture<IdentityPlatform>
{
    private RegistryService.RegistryServiceClient Registry(string kind, string role) => new(fixture.Callers[(kind, role)].Channel);

    [Fact]
    public async Task APastureOperatorRegistersDevicesOnlyUnderItsOwnPasturesAndNoUpsertMovesADevice()
    {
        var f = fixture.Fleet;
        var farm = Registry("pasture_operator", "admin");

        var own = new RegistryDocument();
        own.Devices.Add(new Device { Id = f.PastureA + "-MM9", OwnerKind = OwnerKind.Pasture, OwnerId = f.PastureA, Kind = "milk_meter", HerdId = f.HerdA1 });
        await farm.UpsertRegistryAsync(own);

        var foreign = new RegistryDocument();
        foreign.Devices.Add(new Device { Id = f.PastureA + "-MM8", OwnerKind = OwnerKind.Pasture, OwnerId = f.PastureB, Kind = "milk_meter" });
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(async () => await farm.UpsertRegistryAsync(foreign))).StatusCode);

        // Moving a device by upsert is refused for everybody, the operator included; MoveDevice is the explicit act.
        var move = new RegistryDocument();
        move.Devices.Add(new Device { Id = f.MeterB, OwnerKind = OwnerKind.Pasture, OwnerId = f.PastureA, Kind = "milk_meter" });
        Assert.Equal(StatusCode.FailedPrecondition, (await Assert.ThrowsAsync<RpcException>(async () => await farm.UpsertRegistryAsync(move))).StatusCode);
        var byOperator = await Assert.ThrowsAsync<RpcException>(async () => await new RegistryService.RegistryServiceClient(fixture.Platform.Channel).UpsertRegistryAsync(move));
        Assert.Equal(StatusCode.FailedPrecondition, byOperator.StatusCode);
        Assert.Contains("MoveDevice", byOperator.Status.Detail, StringComparison.Ordinal);

        var devices = await new RegistryService.RegistryServiceClient(fixture.Platform.Channel).ListDevicesAsync(new RegistryPageRequest { Id = f.MeterB });
        Assert.Equal(f.PastureB, devices.Devices.Single().OwnerId);
        Assert.DoesNotContain((await farm.ListDevicesAsync(new RegistryPageRequest { PageSize = 1000 })).Devices, d => d.OwnerId != f.PastureA);
        Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(async () =>
            await farm.DeactivateDeviceAsync(new DeactivateDeviceRequest { DeviceId = f.MeterB, Reason = "not mine" }))).StatusCode);
    }

    [Fact]
    public async Task AScopeTheCallerMayNotSeeIsAnsweredExactlyAsOneThatDoesNotExist()
    {
        var f = fixture.Fleet;
        var farm = new ThroughputService.ThroughputServiceClient(fixture.Callers[("pasture_operator", "viewer")].Channel);
        var foreign = await Assert.ThrowsAsync<RpcException>(async () => await farm.GetDailyThroughputAsync(new GetDailyThroughputRequest
        {
            Scope = new Scope { Kind = ScopeKind.Pasture, Id = f.PastureB },
        }));
        var missing = await Assert.ThrowsAsync<RpcException>(async () => await farm.GetDailyThroughputAsync(new GetDailyThroughputRequest
        {
            Scope = new Scope { Kind = ScopeKind.Pasture, Id = f.PastureB + "x" },
        }));
        Assert.Equal((StatusCode.NotFound, StatusCode.NotFound), (foreign.StatusCode, missing.StatusCode));
        Assert.Equal(missing.Status.Detail.Replace(f.PastureB + "x", f.PastureB, StringComparison.Ordinal), foreign.Status.Detail);

        var trace = new TraceabilityService.TraceabilityServiceClient(fixture.Callers[("processor", "viewer")].Channel);
        var missingPlant = await Assert.ThrowsAsync<RpcException>(async () => await trace.MassBalanceAsync(new MassBalanceRequest { PlantId = f.Plant + "-other", LocalDate = "2026-11-30" }));
        Assert.Equal(StatusCode.NotFound, missingPlant.StatusCode);
        await trace.MassBalanceAsync(new MassBalanceRequest { PlantId = f.Plant, LocalDate = "2026-11-30" });
    }

    [Fact]
    public async Task AChangedPasswordEndsTheOldTokenAndTheOldPasswordAndARotatedServiceSecretEndsTheOldSecret()
    {
        var p = fixture.Fleet.Prefix;
        var admin = new IdentityService.IdentityServiceClient(fixture.Callers[("processor", "admin")].Channel);
        var user = await admin.CreateAccountAsync(new CreateAccountRequest { Id = p + "-rotating", Kind = AccountKind.User, Role = AccountRole.Viewer });
        using var before = fixture.Platform.ConnectAs(new PlatformCredential.Password(user.Account.Id, user.Secret));
        var token = await before.TokenAsync(CancellationToken.None);
        await Task.Delay(TimeSpan.FromSeconds(1.1)); // tokens carry whole seconds: the change must be after the token's second

        var self = new IdentityService.IdentityServiceClient(before.Channel);
        await self.RotateSecretAsync(new RotateSecretRequest { CurrentPassword = user.Secret, NewPassword = "a new password of mine" });

        using var oldToken = fixture.Platform.ConnectAs(new PlatformCredential.Token(token));
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await new IdentityService.IdentityServiceClient(oldToken.Channel).WhoAmIAsync(new WhoAmIRequest()));
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        using var oldPassword = fixture.Platform.ConnectAs(new PlatformCredential.Password(user.Account.Id, user.Secret));
        await Assert.ThrowsAsync<LoginFailedException>(() => oldPassword.TokenAsync(CancellationToken.None));
        using var newPassword = fixture.Platform.ConnectAs(new PlatformCredential.Password(user.Account.Id, "a new password of mine"));
        Assert.Equal(user.Account.Id, (await new IdentityService.IdentityServiceClient(newPassword.Channel).WhoAmIAsync(new WhoAmIRequest())).Account.Id);

        var service = await admin.CreateAccountAsync(new CreateAccountRequest { Id = p + "-importer", Kind = AccountKind.Service, Role = AccountRole.Editor });
        using var serviceBefore = fixture.Platform.ConnectAs(new PlatformCredential.ClientSecret(service.Account.Id, service.Secret));
        await serviceBefore.TokenAsync(CancellationToken.None);
        var rotated = await admin.RotateSecretAsync(new RotateSecretRequest { AccountId = service.Account.Id });
        Assert.NotEqual(service.Secret, rotated.Secret);
        using var oldSecret = fixture.Platform.ConnectAs(new PlatformCredential.ClientSecret(service.Account.Id, service.Secret));
        await Assert.ThrowsAsync<LoginFailedException>(() => oldSecret.TokenAsync(CancellationToken.None));
        using var newSecret = fixture.Platform.ConnectAs(new PlatformCredential.ClientSecret(service.Account.Id, rotated.Secret));
        await newSecret.TokenAsync(CancellationToken.None);

        // A disabled account's token stops at once.
        await admin.UpdateAccountAsync(new UpdateAccountRequest { Id = user.Account.Id, Disabled = true });
        Assert.Equal(StatusCode.Unauthenticated, (await Assert.ThrowsAsync<RpcException>(async () =>
            await new IdentityService.IdentityServiceClient(newPassword.Channel).WhoAmIAsync(new WhoAmIRequest()))).StatusCode);
    }

    [Fact]
    public async Task OverLongOrNulInputIsInvalidArgumentBeforeAnyLookupWithoutEchoAndTheConnectionStaysUsable()
    {
        var client = new ThroughputService.ThroughputServiceClient(fixture.Platform.Channel);
        var longId = new string('x', 60_000);
        var tooLong = await Assert.ThrowsAsync<RpcException>(async () => await client.GetDailyThroughputAsync(new GetDailyThroughputRequest
        {
            Scope = new Scope { Kind = ScopeKind.Pasture, Id = longId },
        }));
        Assert.Equal(StatusCode.InvalidArgument, tooLong.StatusCode);
        Assert.Contains("scope.id", tooLong.Status.Detail, StringComparison.Ordinal);
        Assert.DoesNotContain("xxxxxxxxxx", tooLong.Status.Detail, StringComparison.Ordinal);

        var nul = await Assert.ThrowsAsync<RpcException>(async () => await client.GetDailyThroughputAsync(new GetDailyThroughputRequest
        {
            Scope = new Scope { Kind = ScopeKind.Pasture, Id = "P\0" },
        }));
        Assert.Equal(StatusCode.InvalidArgument, nul.StatusCode);

        // The same HTTP/2 connection answers the next call (an over-large error header once hung it for everybody).
        var city = await client.GetDailyThroughputAsync(new GetDailyThroughputRequest());
        Assert.Equal(ScopeKind.City, city.Scope.Kind);

        var epcis = new TraceabilityService.TraceabilityServiceClient(fixture.Callers[("processor", "editor")].Channel);
        var oversized = await Assert.ThrowsAsync<RpcException>(async () => await epcis.ImportEpcisAsync(new ImportEpcisRequest { DocumentJson = new string(' ', 1024 * 1024 + 1) }));
        Assert.Equal(StatusCode.InvalidArgument, oversized.StatusCode);
    }

    [Fact]
    public async Task AnEpcisDocumentWithHundredsOfProblemsIsRefusedWithAFewTrailersNotResourceExhausted()
    {
        var events = string.Join(",", Enumerable.Range(0, 400).Select(i =>
            $$"""{"type":"ObjectEvent","eventTime":"2026-11-30T06:00:00+08:00","eventTimeZoneOffset":"+08:00","action":"OBSERVE","bizStep":"loading","quantityList":[{"epcClass":"urn:epc:idpat:sgtin:0614141.{{i}}.*","quantity":5,"uom":"KGM"}]}"""));
        var document = """{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2026-11-30T06:00:00+08:00","epcisBody":{"eventList":["""
            + events + "]}}";
        var epcis = new TraceabilityService.TraceabilityServiceClient(fixture.Callers[("processor", "editor")].Channel);
        var refused = await Assert.ThrowsAsync<RpcException>(async () => await epcis.ImportEpcisAsync(new ImportEpcisRequest { DocumentJson = document }));
        Assert.Equal(StatusCode.InvalidArgument, refused.StatusCode);
        Assert.InRange(refused.Trailers.GetAll("epcis-problem").Count(), 1, 21);
        Assert.True(refused.Status.Detail.Length <= 300);
    }

    [Fact]
    public async Task AnExportIsAnsweredOnlyOnceItsAccessLogRowIsCommittedSoAKillRightAfterLosesNoRow()
    {
        await using var platform = await PlatformProcess.StartAsync();
        var audits = new AuditService.AuditServiceClient(platform.Channel);
        for (var i = 0; i < 5; i++)
        {
            await audits.ExportCsvAsync(new AuditQuery { FromDate = "2026-01-01", ToDate = "2026-01-" + (10 + i).ToString(System.Globalization.CultureInfo.InvariantCulture) });
        }

        // SIGKILL at once: what was only queued for the batched log writer would be lost.
        await platform.KillAsync();
        await platform.StartAgainAsync();
        var log = await new IdentityService.IdentityServiceClient(platform.Channel).ListAccessLogAsync(new ListAccessLogRequest
        {
            Method = "/hohhot.telemetry.v1.AuditService/ExportCsv",
        });
        Assert.Equal(5, log.Entries.Count(e => e.AccountId == "operator" && e.Status == "OK"));
    }

    [Fact]
    public async Task ACallerBeyondItsRateGetsResourceExhaustedNotUnavailableAndItsCallsWithinTheRateAreAnswered()
    {
        await using var platform = await PlatformProcess.StartAsync(settings: new Dictionary<string, string> { ["Identity__CallsPerSecond"] = "5" });
        var client = new IdentityService.IdentityServiceClient(platform.Channel);
        var statuses = await Task.WhenAll(Enumerable.Range(0, 40).Select(async _ =>
        {
            try
            {
                await client.WhoAmIAsync(new WhoAmIRequest());
                return StatusCode.OK;
            }
            catch (RpcException e)
            {
                return e.StatusCode;
            }
        }));
        Assert.Contains(StatusCode.ResourceExhausted, statuses);
        Assert.Contains(StatusCode.OK, statuses);
        Assert.DoesNotContain(StatusCode.Unavailable, statuses);
    }

    [Fact]
    public async Task TheApiAndTheMqttEndpointServeTlsWithTheDeployedCertificateAndRefuseToStartInPlaintextOffLoopback()
    {
        var tls = Path.Combine(Path.GetTempPath(), "hohhot-tls-" + fixture.Fleet.Prefix);
        var certs = Process.Start(new ProcessStartInfo("bash", [Path.Combine(TestServers.RepoRoot, "deploy", "certs.sh"), tls]) { RedirectStandardOutput = true })!;
        await certs.WaitForExitAsync();
        Assert.Equal(0, certs.ExitCode);

        await using var platform = await PlatformProcess.StartAsync(tlsDirectory: tls);
        Assert.StartsWith("https://", platform.ApiUrl, StringComparison.Ordinal);
        Assert.Equal("operator", (await new IdentityService.IdentityServiceClient(platform.Channel).WhoAmIAsync(new WhoAmIRequest())).Account.Id);

        // Plaintext to the TLS port gets no answer; a client that does not trust the private CA refuses the server.
        using var plaintext = new PlatformConnection(platform.ApiUrl.Replace("https://", "http://", StringComparison.Ordinal), new PlatformCredential.Token("x"));
        await Assert.ThrowsAsync<RpcException>(async () => await new IdentityService.IdentityServiceClient(plaintext.Channel).WhoAmIAsync(new WhoAmIRequest(), deadline: DateTime.UtcNow.AddSeconds(10)));
        using var untrusting = new PlatformConnection(platform.ApiUrl, new PlatformCredential.Password("operator", platform.OperatorPassword));
        await Assert.ThrowsAnyAsync<Exception>(() => untrusting.TokenAsync(CancellationToken.None));

        // The MQTT endpoint: a gateway trusting the CA publishes over mqtts; a plaintext MQTT client gets no CONNACK.
        var fleet = new TestFleet();
        await fleet.RegisterAsync(platform);
        await using (var gateway = await Gateway.ConnectAsync(platform, fleet.Plant, fleet.PasswordOf(fleet.Plant)))
        {
            var day = ThroughputProbe.ChinaDay(1);
            Assert.True(await gateway.PublishAsync(Payloads.Topic("plant", fleet.Plant, fleet.Weighbridge, "plant_intake"),
                Payloads.Intake(fleet.Weighbridge, 1, ThroughputProbe.At(day, 9, 0), "TL-tls", 1_000)));
        }

        using var plaintextMqtt = new MQTTnet.MqttClientFactory().CreateMqttClient();
        await Assert.ThrowsAnyAsync<Exception>(() => plaintextMqtt.ConnectAsync(new MQTTnet.MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", platform.MqttPort).WithCredentials(fleet.Plant, fleet.PasswordOf(fleet.Plant))
            .WithTimeout(TimeSpan.FromSeconds(10)).Build()));

        var offLoopback = await PlatformProcess.StartupRefusalAsync(new Dictionary<string, string>
        {
            ["Platform__ApiUrl"] = "http://0.0.0.0:" + PlatformProcess.FreePort(),
            ["Platform__AllowPlaintextOnLoopback"] = "true",
        });
        Assert.Contains("only on a loopback address", offLoopback, StringComparison.Ordinal);
        var mqttOffLoopback = await PlatformProcess.StartupRefusalAsync(new Dictionary<string, string>
        {
            ["MqttEndpoint__Url"] = "mqtt://0.0.0.0:" + PlatformProcess.FreePort(),
            ["Platform__AllowPlaintextOnLoopback"] = "true",
        });
        Assert.Contains("Plaintext MQTT (mqtt://) is served only on a loopback address", mqttOffLoopback, StringComparison.Ordinal);
    }
}
