using System.Buffers.Binary;
using System.Security.Cryptography;
using Grpc.Core;
using HohhotCluster.Telemetry.Client;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;
using HohhotCluster.Telemetry.Storage;
using Npgsql;

namespace HohhotCluster.Telemetry.IntegrationTests.Identity;

/// <summary>
/// Gateway credentials (the MQTT logins of pasture and plant gateways) managed through RegistryService by real
/// callers of every role, checked against what <see cref="GatewayCredentialStore"/> holds in PostgreSQL.
/// </summary>
public sealed class GatewayCredentialTests(IdentityPlatform fixture) : IClassFixture<IdentityPlatform>, IDisposable
{
    private readonly NpgsqlDataSource _database = NpgsqlDataSource.Create(fixture.Platform.PostgresConnection);

    private GatewayCredentialStore Store => new(_database, TimeProvider.System);

    private RegistryService.RegistryServiceClient Registry(string kind, string role) => new(fixture.Callers[(kind, role)].Channel);

    private RegistryService.RegistryServiceClient Operator => Registry("platform_operator", "admin");

    private string GatewayId(string name) => $"{fixture.Fleet.Prefix}-gw-{name}";

    [Fact]
    public async Task The_operator_issues_a_credential_for_a_pasture_and_the_secret_shown_once_verifies_against_the_stored_hash()
    {
        var f = fixture.Fleet;
        var gatewayId = GatewayId("issued");
        var issued = await Operator.IssueGatewayCredentialAsync(new IssueGatewayCredentialRequest
        {
            GatewayId = gatewayId,
            OwnerKind = OwnerKind.Pasture,
            OwnerId = f.PastureA,
        });

        Assert.Equal(43, issued.Secret.Length); // 256 bits, base64url without padding
        Assert.True(issued.Changed);
        Assert.Equal((gatewayId, OwnerKind.Pasture, f.PastureA, "operator", ""),
            (issued.Credential.GatewayId, issued.Credential.OwnerKind, issued.Credential.OwnerId, issued.Credential.CreatedBy, issued.Credential.DisabledAt));

        var stored = await Store.FindAsync(gatewayId, CancellationToken.None);
        Assert.NotNull(stored);
        Assert.Equal(("pasture", f.PastureA, "operator"), (stored.OwnerKind, stored.OwnerId, stored.CreatedBy));
        Assert.DoesNotContain(issued.Secret, stored.SecretHash, StringComparison.Ordinal);
        Assert.True(VerifiesAsStoredHash(stored.SecretHash, issued.Secret));
        Assert.False(VerifiesAsStoredHash(stored.SecretHash, issued.Secret + "x"));
        Assert.Null(stored.DisabledAt);

        // The platform's own hasher agrees: the secret is current, so a keep-if-current rotation changes nothing.
        var kept = await Operator.RotateGatewayCredentialAsync(new RotateGatewayCredentialRequest { GatewayId = gatewayId, Password = issued.Secret, KeepIfCurrent = true });
        Assert.False(kept.Changed);
        Assert.Equal("", kept.Secret);
        Assert.Equal(stored.SecretChangedAt, (await Store.FindAsync(gatewayId, CancellationToken.None))!.SecretChangedAt);

        // Issued once: a second issue, by anyone, is refused; the secret changes only by rotation.
        var again = await Assert.ThrowsAsync<RpcException>(async () => await Registry("pasture_operator", "admin").IssueGatewayCredentialAsync(
            new IssueGatewayCredentialRequest { GatewayId = gatewayId, OwnerKind = OwnerKind.Pasture, OwnerId = f.PastureA }));
        Assert.Equal(StatusCode.AlreadyExists, again.StatusCode);
        Assert.True(VerifiesAsStoredHash((await Store.FindAsync(gatewayId, CancellationToken.None))!.SecretHash, issued.Secret));
    }

    [Fact]
    public async Task A_chosen_secret_is_held_to_the_rule_and_never_reaches_the_access_log()
    {
        var f = fixture.Fleet;
        var tooShort = await Assert.ThrowsAsync<RpcException>(async () => await Operator.IssueGatewayCredentialAsync(new IssueGatewayCredentialRequest
        {
            GatewayId = GatewayId("chosen"),
            OwnerKind = OwnerKind.Plant,
            OwnerId = f.Plant,
            Password = "short",
        }));
        Assert.Equal(StatusCode.InvalidArgument, tooShort.StatusCode);
        Assert.Contains("24-256 printable ASCII", tooShort.Status.Detail, StringComparison.Ordinal);
        Assert.Null(await Store.FindAsync(GatewayId("chosen"), CancellationToken.None));

        const string secret = "a-chosen-gateway-secret-0123456789";
        var issued = await Registry("processor", "admin").IssueGatewayCredentialAsync(new IssueGatewayCredentialRequest
        {
            GatewayId = GatewayId("chosen"),
            OwnerKind = OwnerKind.Plant,
            OwnerId = f.Plant,
            Password = secret,
        });
        Assert.Equal("", issued.Secret);
        Assert.True(VerifiesAsStoredHash((await Store.FindAsync(GatewayId("chosen"), CancellationToken.None))!.SecretHash, secret));

        // A change of a credential is logged before it is answered: its row is there at once, with the secret redacted.
        var log = await new IdentityService.IdentityServiceClient(fixture.Platform.Channel).ListAccessLogAsync(new ListAccessLogRequest
        {
            AccountId = fixture.Accounts[("processor", "admin")].Id,
            Method = "/hohhot.telemetry.v1.RegistryService/IssueGatewayCredential",
        });
        var entry = Assert.Single(log.Entries, e => e.Status == "OK" && e.Request.Contains(GatewayId("chosen"), StringComparison.Ordinal));
        Assert.DoesNotContain(secret, entry.Request, StringComparison.Ordinal);
        Assert.Contains("[redacted]", entry.Request, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_pastures_own_admin_rotates_its_gateway_and_the_old_secret_stops_verifying()
    {
        var gatewayId = GatewayId("rotated");
        var issued = await Operator.IssueGatewayCredentialAsync(new IssueGatewayCredentialRequest
        {
            GatewayId = gatewayId,
            OwnerKind = OwnerKind.Pasture,
            OwnerId = fixture.Fleet.PastureA,
        });
        var before = (await Store.FindAsync(gatewayId, CancellationToken.None))!;

        var rotated = await Registry("pasture_operator", "admin").RotateGatewayCredentialAsync(new RotateGatewayCredentialRequest { GatewayId = gatewayId });

        Assert.True(rotated.Changed);
        Assert.NotEqual(issued.Secret, rotated.Secret);
        var after = (await Store.FindAsync(gatewayId, CancellationToken.None))!;
        Assert.True(after.SecretChangedAt > before.SecretChangedAt, $"{after.SecretChangedAt:O} should be after {before.SecretChangedAt:O}");
        Assert.Equal(before.CreatedAt, after.CreatedAt);
        Assert.True(VerifiesAsStoredHash(after.SecretHash, rotated.Secret));
        Assert.False(VerifiesAsStoredHash(after.SecretHash, issued.Secret));
        Assert.Equal(rotated.Credential.SecretChangedAt, after.SecretChangedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public async Task Another_pasture_organisations_admin_finds_no_gateway_of_this_pasture_worded_as_one_that_does_not_exist()
    {
        var f = fixture.Fleet;
        var gatewayId = GatewayId("foreign");
        await Operator.IssueGatewayCredentialAsync(new IssueGatewayCredentialRequest { GatewayId = gatewayId, OwnerKind = OwnerKind.Pasture, OwnerId = f.PastureA });
        var before = (await Store.FindAsync(gatewayId, CancellationToken.None))!;
        var neighbour = new RegistryService.RegistryServiceClient((await NeighbourAdminAsync()).Channel);

        var rotate = await Assert.ThrowsAsync<RpcException>(async () => await neighbour.RotateGatewayCredentialAsync(new RotateGatewayCredentialRequest { GatewayId = gatewayId }));
        var missing = await Assert.ThrowsAsync<RpcException>(async () => await neighbour.RotateGatewayCredentialAsync(new RotateGatewayCredentialRequest { GatewayId = gatewayId + "x" }));
        Assert.Equal((StatusCode.NotFound, StatusCode.NotFound), (rotate.StatusCode, missing.StatusCode));
        Assert.Equal(missing.Status.Detail.Replace(gatewayId + "x", gatewayId, StringComparison.Ordinal), rotate.Status.Detail);

        foreach (var call in new Func<Task>[]
                 {
                     async () => await neighbour.DisableGatewayCredentialAsync(new DisableGatewayCredentialRequest { GatewayId = gatewayId, Reason = "not mine" }),
                     async () => await neighbour.EnableGatewayCredentialAsync(new EnableGatewayCredentialRequest { GatewayId = gatewayId }),
                     async () => await neighbour.ListGatewayCredentialsAsync(new RegistryPageRequest { Id = gatewayId }),
                 })
        {
            Assert.Equal(StatusCode.NotFound, (await Assert.ThrowsAsync<RpcException>(call)).StatusCode);
        }

        // Issuing for a pasture it does not hold is answered as for a pasture that is not registered.
        var foreignPasture = await Assert.ThrowsAsync<RpcException>(async () => await neighbour.IssueGatewayCredentialAsync(
            new IssueGatewayCredentialRequest { GatewayId = GatewayId("intruder"), OwnerKind = OwnerKind.Pasture, OwnerId = f.PastureA }));
        var noPasture = await Assert.ThrowsAsync<RpcException>(async () => await neighbour.IssueGatewayCredentialAsync(
            new IssueGatewayCredentialRequest { GatewayId = GatewayId("intruder"), OwnerKind = OwnerKind.Pasture, OwnerId = f.PastureA + "x" }));
        Assert.Equal((StatusCode.NotFound, StatusCode.NotFound), (foreignPasture.StatusCode, noPasture.StatusCode));
        Assert.Equal(noPasture.Status.Detail.Replace(f.PastureA + "x", f.PastureA, StringComparison.Ordinal), foreignPasture.Status.Detail);

        Assert.DoesNotContain((await neighbour.ListGatewayCredentialsAsync(new RegistryPageRequest { PageSize = 1000 })).Credentials, c => c.OwnerId != f.PastureB);
        Assert.Null(await Store.FindAsync(GatewayId("intruder"), CancellationToken.None));
        var after = (await Store.FindAsync(gatewayId, CancellationToken.None))!;
        Assert.Equal((before.SecretHash, before.SecretChangedAt, before.DisabledAt), (after.SecretHash, after.SecretChangedAt, after.DisabledAt));
    }

    [Fact]
    public async Task Viewers_and_editors_of_the_owning_organisation_list_its_gateways_but_the_access_policy_refuses_them_every_change()
    {
        var gatewayId = GatewayId("watched");
        await Operator.IssueGatewayCredentialAsync(new IssueGatewayCredentialRequest { GatewayId = gatewayId, OwnerKind = OwnerKind.Pasture, OwnerId = fixture.Fleet.PastureA });
        var before = (await Store.FindAsync(gatewayId, CancellationToken.None))!;

        foreach (var role in new[] { "viewer", "editor" })
        {
            var registry = Registry("pasture_operator", role);
            var refused = await Assert.ThrowsAsync<RpcException>(async () => await registry.RotateGatewayCredentialAsync(new RotateGatewayCredentialRequest { GatewayId = gatewayId }));
            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
            Assert.Equal("access-policy", refused.Trailers.GetValue("hohhot-refused-by"));
            Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(async () =>
                await registry.DisableGatewayCredentialAsync(new DisableGatewayCredentialRequest { GatewayId = gatewayId, Reason = "viewer" }))).StatusCode);

            var listed = await registry.ListGatewayCredentialsAsync(new RegistryPageRequest { ParentId = fixture.Fleet.PastureA, PageSize = 1000 });
            Assert.Contains(listed.Credentials, c => c.GatewayId == gatewayId);
        }

        // A regulator sees the pasture's milk, not its gateways' logins.
        Assert.Equal(StatusCode.PermissionDenied, (await Assert.ThrowsAsync<RpcException>(async () =>
            await Registry("regulator", "admin").ListGatewayCredentialsAsync(new RegistryPageRequest()))).StatusCode);
        var after = (await Store.FindAsync(gatewayId, CancellationToken.None))!;
        Assert.Equal((before.SecretHash, before.DisabledAt), (after.SecretHash, after.DisabledAt));
    }

    [Fact]
    public async Task Disabling_sets_disabled_at_and_its_reason_a_rotation_keeps_it_disabled_and_enabling_clears_it()
    {
        var gatewayId = GatewayId("disabled");
        var admin = Registry("pasture_operator", "admin");
        await admin.IssueGatewayCredentialAsync(new IssueGatewayCredentialRequest { GatewayId = gatewayId, OwnerKind = OwnerKind.Pasture, OwnerId = fixture.Fleet.PastureA });
        Assert.Equal(StatusCode.InvalidArgument, (await Assert.ThrowsAsync<RpcException>(async () =>
            await admin.DisableGatewayCredentialAsync(new DisableGatewayCredentialRequest { GatewayId = gatewayId }))).StatusCode);

        var disabled = await admin.DisableGatewayCredentialAsync(new DisableGatewayCredentialRequest { GatewayId = gatewayId, Reason = "gateway stolen" });

        Assert.NotEqual("", disabled.DisabledAt);
        Assert.Equal("gateway stolen", disabled.DisabledReason);
        var stored = (await Store.FindAsync(gatewayId, CancellationToken.None))!;
        Assert.NotNull(stored.DisabledAt);
        Assert.Equal("gateway stolen", stored.DisabledReason);

        var rotated = await admin.RotateGatewayCredentialAsync(new RotateGatewayCredentialRequest { GatewayId = gatewayId });
        Assert.Equal((disabled.DisabledAt, "gateway stolen"), (rotated.Credential.DisabledAt, rotated.Credential.DisabledReason));
        Assert.Equal(stored.DisabledAt, (await Store.FindAsync(gatewayId, CancellationToken.None))!.DisabledAt);

        var enabled = await admin.EnableGatewayCredentialAsync(new EnableGatewayCredentialRequest { GatewayId = gatewayId });
        Assert.Equal(("", ""), (enabled.DisabledAt, enabled.DisabledReason));
        var after = (await Store.FindAsync(gatewayId, CancellationToken.None))!;
        Assert.Null(after.DisabledAt);
        Assert.True(VerifiesAsStoredHash(after.SecretHash, rotated.Secret));
    }

    [Fact]
    public async Task The_command_line_imports_a_fleet_issuing_new_gateways_rotating_changed_secrets_and_leaving_current_ones_alone()
    {
        var f = fixture.Fleet;
        var token = await fixture.Callers[("pasture_operator", "admin")].TokenAsync(CancellationToken.None);
        var file = Path.Combine(Path.GetTempPath(), $"{f.Prefix}-gateways.txt");
        string[] secrets = ["fleet-secret-one-0123456789abcdef", "fleet-secret-two-0123456789abcdef", "fleet-secret-three-0123456789abcd"];
        try
        {
            await File.WriteAllLinesAsync(file, [
                "# simulated fleet",
                $"{GatewayId("fleet1")} pasture {f.PastureA} {secrets[0]}",
                "",
                $"{GatewayId("fleet2")}\tpasture\t{f.PastureA}\t{secrets[1]}",
            ]);
            var (firstExit, first) = await HohhotAsync(token, "gateway", "import", file);
            Assert.True(firstExit == 0, first);
            Assert.Contains("2 issued, 0 rotated, 0 unchanged, 0 failed", first, StringComparison.Ordinal);
            var fleet2Before = (await Store.FindAsync(GatewayId("fleet2"), CancellationToken.None))!;

            await File.WriteAllLinesAsync(file, [
                $"{GatewayId("fleet1")} pasture {f.PastureA} {secrets[0]}",
                $"{GatewayId("fleet2")} pasture {f.PastureA} {secrets[2]}",
                $"{GatewayId("fleet3")} pasture {f.PastureA} {secrets[2]}",
                $"{GatewayId("fleet4")} pasture {f.PastureB} {secrets[2]}",
            ]);
            var (secondExit, second) = await HohhotAsync(token, "gateway", "import", file);
            Assert.True(secondExit == 1, second); // the line for another organisation's pasture fails, the rest go on
            Assert.Contains("1 issued, 1 rotated, 1 unchanged, 1 failed", second, StringComparison.Ordinal);
            Assert.Contains("line 4", second, StringComparison.Ordinal);

            Assert.True(VerifiesAsStoredHash((await Store.FindAsync(GatewayId("fleet1"), CancellationToken.None))!.SecretHash, secrets[0]));
            var fleet2After = (await Store.FindAsync(GatewayId("fleet2"), CancellationToken.None))!;
            Assert.True(VerifiesAsStoredHash(fleet2After.SecretHash, secrets[2]));
            Assert.True(fleet2After.SecretChangedAt > fleet2Before.SecretChangedAt);
            Assert.True(VerifiesAsStoredHash((await Store.FindAsync(GatewayId("fleet3"), CancellationToken.None))!.SecretHash, secrets[2]));
            Assert.Null(await Store.FindAsync(GatewayId("fleet4"), CancellationToken.None));

            // A malformed line is refused before anything changes, naming the line but never a secret.
            await File.WriteAllLinesAsync(file, [$"{GatewayId("fleet5")} pasture {f.PastureA} {secrets[0]}", $"{GatewayId("fleet6")} barn {f.PastureA} {secrets[1]}"]);
            var (badExit, bad) = await HohhotAsync(token, "gateway", "import", file);
            Assert.True(badExit == 2, bad);
            Assert.Contains("line 2", bad, StringComparison.Ordinal);
            Assert.DoesNotContain(secrets[1], bad, StringComparison.Ordinal);
            Assert.Null(await Store.FindAsync(GatewayId("fleet5"), CancellationToken.None));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task The_command_line_writes_a_generated_secret_to_a_file_only_its_owner_may_read()
    {
        var token = await fixture.Callers[("pasture_operator", "admin")].TokenAsync(CancellationToken.None);
        var secretFile = Path.Combine(Path.GetTempPath(), $"{fixture.Fleet.Prefix}-gateway.secret");
        try
        {
            var (exit, output) = await HohhotAsync(token, "gateway", "issue", GatewayId("cli"), "--pasture", fixture.Fleet.PastureA, "--out", secretFile);
            Assert.True(exit == 0, output);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(secretFile));
            }

            var secret = (await File.ReadAllTextAsync(secretFile)).Trim();
            Assert.DoesNotContain(secret, output, StringComparison.Ordinal);
            Assert.True(VerifiesAsStoredHash((await Store.FindAsync(GatewayId("cli"), CancellationToken.None))!.SecretHash, secret));

            var (listExit, list) = await HohhotAsync(token, "gateway", "list");
            Assert.True(listExit == 0, list);
            Assert.Contains(GatewayId("cli"), list, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(secretFile);
        }
    }

    private Task<(int ExitCode, string Output)> HohhotAsync(string token, params string[] args) =>
        CommandLine.RunAsync("src/HohhotCluster.Telemetry.Cli", "hohhot", [.. args, "--api", fixture.Platform.ApiUrl, "--token", token]);

    /// <summary>An admin of a second pasture operator, holding pasture B.</summary>
    private async Task<PlatformConnection> NeighbourAdminAsync()
    {
        var f = fixture.Fleet;
        var identity = new IdentityService.IdentityServiceClient(fixture.Platform.Channel);
        var organisation = new CreateOrganisationRequest { Id = f.Prefix + "-farm2", Kind = OrganisationKind.PastureOperator, Name = "Neighbouring farm" };
        organisation.PastureIds.Add(f.PastureB);
        await identity.CreateOrganisationAsync(organisation);
        var admin = await identity.CreateAccountAsync(new CreateAccountRequest
        {
            OrganisationId = organisation.Id,
            Id = f.Prefix + "-farm2-admin",
            Kind = AccountKind.User,
            Role = AccountRole.Admin,
        });
        return fixture.Platform.ConnectAs(new PlatformCredential.Password(admin.Account.Id, admin.Secret));
    }

    /// <summary>
    /// Checks a secret against a stored hash as docs/access.md describes it, independently of the platform's code:
    /// ASP.NET Core Identity's version 3 format (0x01, PRF, iterations, salt length, salt, subkey), PBKDF2 with
    /// HMAC-SHA512 and 100,000 iterations.
    /// </summary>
    private static bool VerifiesAsStoredHash(string storedHash, string secret)
    {
        var bytes = Convert.FromBase64String(storedHash);
        Assert.Equal(0x01, bytes[0]);
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(1))); // HMACSHA512
        var iterations = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(5));
        Assert.Equal(100_000, iterations);
        var saltLength = (int)BinaryPrimitives.ReadUInt32BigEndian(bytes.AsSpan(9));
        var salt = bytes.AsSpan(13, saltLength).ToArray();
        var subkey = bytes.AsSpan(13 + saltLength);
        var derived = Rfc2898DeriveBytes.Pbkdf2(secret, salt, iterations, HashAlgorithmName.SHA512, subkey.Length);
        return CryptographicOperations.FixedTimeEquals(derived, subkey);
    }

    public void Dispose() => _database.Dispose();
}
