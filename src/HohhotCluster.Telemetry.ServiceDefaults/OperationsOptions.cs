using System.ComponentModel.DataAnnotations;
using System.Net;

namespace HohhotCluster.Telemetry.ServiceDefaults;

/// <summary>Configuration section <c>Operations</c>: where the metrics are served and what is measured besides the meters.</summary>
public sealed class OperationsOptions : IValidatableObject
{
    public const string Section = "Operations";

    /// <summary>
    /// The Prometheus scrape endpoint, plaintext HTTP/1.1 on a port of its own and a loopback address only: Prometheus
    /// runs on the same machine (deploy/servers.sh), cannot renew the API's 15-minute tokens, and the counts tell who
    /// delivers how much, so they are not served off the machine. Empty: no scrape endpoint.
    /// </summary>
    public string MetricsUrl { get; set; } = "http://127.0.0.1:19464";

    /// <summary>
    /// A listener of its own that answers <c>GET /health</c> and nothing else (200 serving, 503 not ready or draining,
    /// no detail; every other path 404), plaintext HTTP/1.1: what a balancer checks. Unlike the scrape endpoint it may
    /// listen off loopback (an HAProxy on another machine), because it tells nothing but the status. Empty: no such
    /// listener. deploy/cluster.sh sets it on loopback (<c>HOHHOT_CLUSTER_HEALTH_ADDRESS</c> to change the address).
    /// </summary>
    public string HealthUrl { get; set; } = "";

    /// <summary>How often the health checks run in the background, their results published as <c>hohhot.health.status</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan HealthPublishPeriod { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Folders whose file system's free space is published (<c>hohhot.disk.free_ratio</c>): the stores' data folders.</summary>
    public string[] DiskPaths { get; set; } = [];

    public Uri? MetricsAddress => MetricsUrl.Length == 0 ? null : new Uri(MetricsUrl);

    public Uri? HealthAddress => HealthUrl.Length == 0 ? null : new Uri(HealthUrl);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (HealthUrl.Length > 0)
        {
            if (!Uri.TryCreate(HealthUrl, UriKind.Absolute, out var health) || health.Scheme != Uri.UriSchemeHttp || health.AbsolutePath != "/"
                || !IPAddress.TryParse(health.Host, out _))
            {
                yield return new ValidationResult(
                    $"Operations:HealthUrl '{HealthUrl}' must be http://<IP address>:<port> (e.g. http://127.0.0.1:19465, or this host's address for a balancer on another machine).",
                    [nameof(HealthUrl)]);
            }
            else if (MetricsUrl.Length > 0 && Uri.TryCreate(MetricsUrl, UriKind.Absolute, out var metrics) && metrics.Port == health.Port)
            {
                yield return new ValidationResult(
                    $"Operations:HealthUrl and Operations:MetricsUrl need ports of their own (both are {health.Port}): the health listener answers /health only.",
                    [nameof(HealthUrl)]);
            }
        }

        if (MetricsUrl.Length == 0)
        {
            yield break;
        }

        if (!Uri.TryCreate(MetricsUrl, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.AbsolutePath != "/"
            || !IPAddress.TryParse(uri.Host, out var address) || !IPAddress.IsLoopback(address))
        {
            yield return new ValidationResult(
                $"Operations:MetricsUrl '{MetricsUrl}' must be http://<loopback address>:<port> (e.g. http://127.0.0.1:19464): " +
                "the scrape endpoint is unauthenticated and served on loopback only.", [nameof(MetricsUrl)]);
        }
    }
}
