using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using HohhotCluster.Telemetry.Identity;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.MqttEndpoint;

/// <summary>A gateway as its credential in the registry says: which pasture or plant it publishes for.</summary>
public sealed record GatewayIdentity(string GatewayId, string OwnerKind, string OwnerId, DateTimeOffset SecretChangedAt)
{
    /// <summary>The topic prefix this gateway may publish under: <c>hohhot/v1/{ownerKind}/{ownerId}/</c>.</summary>
    public string TopicPrefix { get; } = $"hohhot/v1/{OwnerKind}/{OwnerId}/";
}

public enum LoginVerdict
{
    Admitted,
    BadCredentials,
    Disabled,
    TooManyFailures,
}

/// <summary>
/// Checks a gateway's login against <c>gateway_credential</c> (the registry's hashed secrets, managed through the
/// API). PBKDF2 is deliberately slow, so a verified secret is remembered as its SHA-256 next to the stored hash it
/// matched: a reconnect storm after an outage costs one hash each, and a rotation (a new stored hash) or a disabled
/// credential takes effect at the next login. Failed logins are limited per gateway id, so guessing costs the
/// guesser time, not the platform CPU.
/// </summary>
public sealed class GatewayAuthenticator(GatewayCredentialStore credentials, SecretHasher hasher, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, (string StoredHash, byte[] SecretDigest)> _verified = new(StringComparer.Ordinal);
    private readonly TokenBuckets _failures = new(clock, perSecond: 1.0 / 12, burst: 5, maxTracked: 100_000);

    /// <summary>
    /// PBKDF2 takes a core for tens of milliseconds: a reconnect storm verifies on half the cores at most, so that
    /// ingestion keeps the rest and the gateways already in do not wait behind the logins.
    /// </summary>
    private readonly SemaphoreSlim _hashing = new(Math.Max(1, Environment.ProcessorCount / 2));

    public async Task<(LoginVerdict Verdict, GatewayIdentity? Identity)> LoginAsync(string? gatewayId, byte[]? secret, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(gatewayId) || secret is not { Length: > 0 } || gatewayId.Length > RegistryIds.MaxLength)
        {
            return (LoginVerdict.BadCredentials, null);
        }

        var credential = await credentials.FindAsync(gatewayId, cancellationToken);
        if (credential is null)
        {
            return (LoginVerdict.BadCredentials, null);
        }

        if (credential.DisabledAt is not null)
        {
            return (LoginVerdict.Disabled, null);
        }

        var digest = SHA256.HashData(secret);
        if (_verified.TryGetValue(gatewayId, out var known) && known.StoredHash == credential.SecretHash && CryptographicOperations.FixedTimeEquals(known.SecretDigest, digest))
        {
            return (LoginVerdict.Admitted, IdentityOf(credential));
        }

        // One token is one failed guess; a gateway with less than one left is refused before the hash is computed.
        if (!_failures.HasTokens(gatewayId, 1))
        {
            return (LoginVerdict.TooManyFailures, null);
        }

        SecretCheck check;
        await _hashing.WaitAsync(cancellationToken);
        try
        {
            check = hasher.Verify(credential.SecretHash, Encoding.UTF8.GetString(secret));
        }
        finally
        {
            _hashing.Release();
        }

        if (check == SecretCheck.Invalid)
        {
            _failures.TryTake(gatewayId, 1);
            return (LoginVerdict.BadCredentials, null);
        }

        _verified[gatewayId] = (credential.SecretHash, digest);
        return (LoginVerdict.Admitted, IdentityOf(credential));
    }

    /// <summary>Reads the credential again: null when it was disabled, removed or its secret changed since <paramref name="identity"/>.</summary>
    public async Task<GatewayIdentity?> RecheckAsync(GatewayIdentity identity, CancellationToken cancellationToken)
    {
        var credential = await credentials.FindAsync(identity.GatewayId, cancellationToken);
        return credential is null || credential.DisabledAt is not null || credential.SecretChangedAt != identity.SecretChangedAt
            || credential.OwnerKind != identity.OwnerKind || credential.OwnerId != identity.OwnerId
            ? null
            : identity;
    }

    private static GatewayIdentity IdentityOf(GatewayCredential credential) =>
        new(credential.GatewayId, credential.OwnerKind, credential.OwnerId, credential.SecretChangedAt);
}
