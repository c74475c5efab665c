using System.Security.Cryptography;
using Microsoft.AspNetCore.Identity;

namespace HohhotCluster.Telemetry.Identity;

/// <summary>
/// Passwords and client secrets, stored only as hashes: ASP.NET Core Identity's <see cref="PasswordHasher{TUser}"/>
/// (PBKDF2 with HMAC-SHA512, 100,000 iterations, a random salt, a versioned format so the cost can be raised and old
/// hashes rehashed at the next login).
/// </summary>
public sealed class SecretHasher
{
    private static readonly object Nobody = new();
    private readonly PasswordHasher<object> _hasher = new();

    /// <summary>The shortest password accepted for a person; generated secrets are far longer.</summary>
    public const int MinimumPasswordLength = 12;

    public string Hash(string secret) => _hasher.HashPassword(Nobody, secret);

    public SecretCheck Verify(string hash, string secret) => _hasher.VerifyHashedPassword(Nobody, hash, secret) switch
    {
        PasswordVerificationResult.Success => SecretCheck.Valid,
        PasswordVerificationResult.SuccessRehashNeeded => SecretCheck.ValidRehash,
        _ => SecretCheck.Invalid,
    };

    /// <summary>A new random secret (256 bits, URL-safe base64) for a service account or a first password.</summary>
    public static string NewSecret() => Base64Url(RandomNumberGenerator.GetBytes(32));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

public enum SecretCheck
{
    Invalid,
    Valid,
    ValidRehash,
}
