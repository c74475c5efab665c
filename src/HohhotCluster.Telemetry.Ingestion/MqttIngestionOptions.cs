using System.ComponentModel.DataAnnotations;

namespace HohhotCluster.Telemetry.Ingestion;

public sealed class MqttIngestionOptions
{
    public const string Section = "Mqtt";

    [Required]
    public string Host { get; set; } = "127.0.0.1";

    [Range(1, 65535)]
    public int Port { get; set; } = 18883;

    [Required(ErrorMessage = "Mqtt:Username is required: ingestion logs in as its own broker user.")]
    public string Username { get; set; } = "hohhot-ingest";

    [Required(ErrorMessage = "Mqtt:Password is required.")]
    public string Password { get; set; } = "";

    /// <summary>Stable, so the broker keeps this client's session (and its queued messages) across restarts.</summary>
    [Required]
    public string ClientId { get; set; } = "hohhot-ingest";

    /// <summary>How long the broker keeps the session while ingestion is away.</summary>
    public TimeSpan SessionExpiry { get; set; } = TimeSpan.FromDays(7);

    /// <summary>MQTT 5 receive maximum: unacknowledged QoS 1 messages the broker may have in flight to us.</summary>
    [Range(1, 65535)]
    public int ReceiveMaximum { get; set; } = 65_535;

    public TimeSpan KeepAlive { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the liveness probe goes round through the broker (see <see cref="DeliveryStallDetector"/>).</summary>
    public TimeSpan LivenessProbeInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A probe outstanding this long with nothing received and nothing awaiting acknowledgement means the broker
    /// stopped delivering: the client reconnects (the session, and what it queued, is kept).
    /// </summary>
    public TimeSpan DeliveryStallTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The liveness probe's topic; the broker's ACL must let the ingestion user read and write it.</summary>
    public string LivenessTopic => $"hohhot/ingest/{ClientId}/liveness";

    /// <summary>Connect and subscribe at start-up; tests that drive the pipeline directly turn it off.</summary>
    public bool Enabled { get; set; } = true;
}
