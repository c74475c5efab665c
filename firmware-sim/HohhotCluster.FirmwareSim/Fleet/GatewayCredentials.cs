using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace HohhotCluster.FirmwareSim.Fleet;

/// <summary>A gateway's MQTT password: derived from the seed and the owner id, so scripts can provision the broker ahead of a run.</summary>
internal static class GatewayCredentials
{
    public static string Password(long seed, string ownerId)
    {
        var key = Encoding.UTF8.GetBytes("hohhot-sim:" + seed.ToString(CultureInfo.InvariantCulture));
        var mac = HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(ownerId));
        return Convert.ToHexStringLower(mac.AsSpan(0, 12));
    }
}
