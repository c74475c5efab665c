namespace HohhotCluster.Telemetry.Api;

/// <summary>
/// What a gateway secret (its MQTT password) chosen by a caller must be: long enough not to be guessed, short enough
/// for gateway firmware, and only visible ASCII, so that it survives configuration files, shell scripts and the
/// whitespace-separated lines of <c>hohhot gateway import</c>. A generated secret (256 random bits) always passes.
/// </summary>
public static class GatewaySecretRule
{
    public const int MinLength = 24;
    public const int MaxLength = 256;

    /// <summary>The rule in words, for the INVALID_ARGUMENT that refuses a secret (never the secret itself).</summary>
    public static readonly string Description =
        $"password must be {MinLength}-{MaxLength} printable ASCII characters ('!' to '~', no spaces)";

    public static bool Allows(string secret)
    {
        if (secret.Length is < MinLength or > MaxLength)
        {
            return false;
        }

        foreach (var c in secret)
        {
            if (c is < '!' or > '~')
            {
                return false;
            }
        }

        return true;
    }
}
