using System.ComponentModel.DataAnnotations;
using System.Net;

namespace HohhotCluster.Telemetry.MqttEndpoint;

public sealed class MqttEndpointOptions : IValidatableObject
{
    public const string Section = "MqttEndpoint";

    /// <summary>
    /// Where devices, gateways and site brokers connect: <c>mqtts://ip:port</c> (TLS with the platform's certificate)
    /// or, on a loopback address with <c>Platform:AllowPlaintextOnLoopback</c>, <c>mqtt://ip:port</c>.
    /// </summary>
    [Required]
    public string Url { get; set; } = "mqtts://127.0.0.1:8883";

    /// <summary>
    /// The largest MQTT packet accepted (fixed header's remaining length), checked before the packet is buffered: the
    /// contract's 64 KiB payload and room for its topic and properties. A larger packet closes the connection.
    /// </summary>
    [Range(1024, 16 * 1024 * 1024)]
    public int MaxPacketBytes { get; set; } = 64 * 1024 + 1024;

    /// <summary>Connections open at once; one more is closed as it arrives.</summary>
    [Range(1, 1_000_000)]
    public int MaxConnections { get; set; } = 20_000;

    /// <summary>How long a new connection has to send its CONNECT.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Readings a gateway may send per second on average, beyond a burst of <see cref="GatewayBurst"/>; more is refused
    /// at the edge with reason code 0x96 (message rate too high) and stored nowhere: the gateway keeps it and resends.
    /// 0 turns the limit off.
    /// </summary>
    [Range(0, 10_000_000)]
    public double GatewayReadingsPerSecond { get; set; } = 5_000;

    /// <summary>A gateway draining its spool after an outage: the whole city's hour is about 100,000 readings.</summary>
    [Range(1, 100_000_000)]
    public int GatewayBurst { get; set; } = 500_000;

    /// <summary>
    /// Readings one device may send per second on average, beyond a burst of <see cref="DeviceBurst"/>; a publish beyond it gets
    /// PUBACK 0x97 (quota exceeded) and is stored nowhere (the busiest
    /// real device, a parlour meter milking 500 cows an hour, sends well under 1 a second). 0 turns the limit off.
    /// </summary>
    [Range(0, 1_000_000)]
    public double DeviceReadingsPerSecond { get; set; } = 50;

    [Range(1, 10_000_000)]
    public int DeviceBurst { get; set; } = 20_000;

    /// <summary>Devices tracked by the rate limiter; beyond it, devices whose bucket is full again are forgotten first.</summary>
    [Range(1, 10_000_000)]
    public int TrackedDevices { get; set; } = 200_000;

    /// <summary>How long a verified gateway secret is trusted before the registry is read again on its next publish.</summary>
    public TimeSpan CredentialRecheckInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>On shutdown: how long in-flight readings may take to become durable before connections are closed regardless.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(20);

    public Uri Address => new(Url);

    public bool Plaintext => Address.Scheme == "mqtt";

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Uri.TryCreate(Url, UriKind.Absolute, out var uri) || uri.Scheme is not ("mqtt" or "mqtts") || !IPAddress.TryParse(uri.Host, out _) || uri.Port <= 0)
        {
            yield return new ValidationResult("MqttEndpoint:Url must be mqtts://<ip address>:<port> (or mqtt:// on loopback).", [nameof(Url)]);
        }
    }
}
