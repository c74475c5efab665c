using System.ComponentModel.DataAnnotations;

namespace HohhotCluster.Telemetry.Host;

public sealed class PlatformHostOptions
{
    public const string Section = "Platform";

    /// <summary>Where the gRPC API listens (HTTP/2 without TLS; loopback unless you put a proxy in front).</summary>
    [Required]
    public string ApiUrl { get; set; } = "http://127.0.0.1:15080";

    [Range(1, 65535)]
    public int SiloPort { get; set; } = 21111;

    [Range(1, 65535)]
    public int GatewayPort { get; set; } = 31000;

    [Required]
    public string ClusterId { get; set; } = "hohhot-local";
}
