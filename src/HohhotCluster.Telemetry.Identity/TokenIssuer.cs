using System.Security.Claims;
using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Abstractions;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace HohhotCluster.Telemetry.Identity;

/// <summary>
/// The token endpoint's checks (OpenIddict runs in degraded mode: accounts live in the platform's own tables, not in
/// OpenIddict's stores). The password grant takes a user's name and password, the client credentials grant a service
/// account's client id and secret; both are refused with one message whatever was wrong, so nobody learns which
/// accounts exist.
/// </summary>
public sealed class TokenRequestValidator(IdentityStore store, SecretHasher hasher) : IOpenIddictServerHandler<OpenIddictServerEvents.ValidateTokenRequestContext>
{
    public const string AccountProperty = "hohhot.account";

    public async ValueTask HandleAsync(OpenIddictServerEvents.ValidateTokenRequestContext context)
    {
        var request = context.Request;
        (string? id, string? secret, AccountKind kind, string error) = request switch
        {
            _ when request.IsPasswordGrantType() => (request.Username, request.Password, AccountKind.User, Errors.InvalidGrant),
            _ when request.IsClientCredentialsGrantType() => (request.ClientId, request.ClientSecret, AccountKind.Service, Errors.InvalidClient),
            _ => (null, null, AccountKind.User, Errors.UnsupportedGrantType),
        };
        if (error == Errors.UnsupportedGrantType)
        {
            context.Reject(error, "Use grant_type=password (users) or client_credentials (service accounts).");
            return;
        }

        var found = string.IsNullOrEmpty(id) || string.IsNullOrEmpty(secret) || id.Length > 64 || secret.Length > 1024
            ? null
            : await store.FindAccountAsync(id.ToLowerInvariant(), context.CancellationToken);
        if (found is not { } account || account.Account.Kind != kind || account.Account.DisabledAt is not null
            || hasher.Verify(account.SecretHash, secret!) == SecretCheck.Invalid)
        {
            context.Reject(error, kind == AccountKind.User ? "Wrong user name or password, or the account is disabled."
                : "Wrong client id or secret, or the account is disabled.");
            return;
        }

        var organisation = await store.GetOrganisationAsync(account.Account.OrganisationId, context.CancellationToken);
        if (organisation is null || organisation.DeactivatedAt is not null)
        {
            context.Reject(error, "The account's organisation is deactivated.");
            return;
        }

        context.Transaction.Properties[AccountProperty] = (account.Account, organisation);
    }
}

/// <summary>Signs the access token: subject, organisation, its kind and the account's role, for the API's audience.</summary>
public sealed class TokenRequestHandler(Microsoft.Extensions.Options.IOptions<IdentityOptions> options) : IOpenIddictServerHandler<OpenIddictServerEvents.HandleTokenRequestContext>
{
    public ValueTask HandleAsync(OpenIddictServerEvents.HandleTokenRequestContext context)
    {
        var (account, organisation) = ((Account, Organisation))context.Transaction.Properties[TokenRequestValidator.AccountProperty]!;
        var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, Claims.Role);
        identity.SetClaim(Claims.Subject, account.Id);
        identity.SetClaim(Claims.Name, account.DisplayName.Length > 0 ? account.DisplayName : account.Id);
        identity.SetClaim(TokenClaims.Organisation, organisation.Id);
        identity.SetClaim(TokenClaims.OrganisationKind, IdentityNames.Of(organisation.Kind));
        identity.SetClaim(Claims.Role, IdentityNames.Of(account.Role));
        identity.SetDestinations(static _ => [Destinations.AccessToken]);
        var principal = new ClaimsPrincipal(identity);
        principal.SetResources(options.Value.Audience);
        context.SignIn(principal);
        return default;
    }
}

/// <summary>The RSA key that signs the platform's tokens, kept in a PEM file that is created on first start.</summary>
public static class SigningKeyFile
{
    public static RsaSecurityKey LoadOrCreate(string path)
    {
        var rsa = RSA.Create();
        if (File.Exists(path))
        {
            rsa.ImportFromPem(File.ReadAllText(path));
        }
        else
        {
            rsa.KeySize = 3072;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            var temporary = path + ".tmp";
            File.WriteAllText(temporary, rsa.ExportPkcs8PrivateKeyPem());
            if (!OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            // Two hosts starting together: the first rename wins and both read the winner's key.
            try
            {
                File.Move(temporary, path, overwrite: false);
            }
            catch (IOException)
            {
                File.Delete(temporary);
            }

            rsa.ImportFromPem(File.ReadAllText(path));
        }

        using var sha = SHA256.Create();
        var kid = Convert.ToHexStringLower(sha.ComputeHash(rsa.ExportSubjectPublicKeyInfo()))[..16];
        return new RsaSecurityKey(rsa) { KeyId = kid };
    }
}
