using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace HohhotCluster.FirmwareSim.Fleet;

/// <summary>
/// A gateway's MQTT password: derived from the seed and the owner id, so <c>register</c> can issue it to the platform
/// (and scripts provision a site broker) ahead of a run, and every run of the same seed logs in with it.
/// </summary>
internal static class GatewayCredentials
{
    /// <summary>The platform takes gateway passwords of 24-256 printable ASCII characters: 12 bytes of HMAC in hex are 24.</summary>
    public const int PasswordLength = 24;

    public static string Password(long seed, string ownerId)
    {
        var key = Encoding.UTF8.GetBytes("hohhot-sim:" + seed.ToString(CultureInfo.InvariantCulture));
        var mac = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(ownerId));
        return Convert.ToHexStringLower(mac.AsSpan(0, PasswordLength / 2));
    }
}
