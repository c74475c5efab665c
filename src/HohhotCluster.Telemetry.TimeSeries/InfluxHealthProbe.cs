using System.Net.Http.Headers;
using System.Text;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.TimeSeries;

/// <summary>
/// Whether InfluxDB answers and takes writes: <c>/ping</c>, then one point written to the platform's database
/// (measurement <c>platform_health_probe</c>, tag host, at the start of the current hour, so a host keeps at most one
/// point an hour and the raw retention policy ages them out). One instance and one HTTP client for the process:
/// the health check runs on every health call and must not open a client each time.
/// </summary>
public sealed class InfluxHealthProbe : IDisposable
{
    private readonly HttpClient _http;
    private readonly Uri _ping;
    private readonly Uri _write;
    private readonly TimeProvider _clock;

    public InfluxHealthProbe(IOptions<InfluxOptions> options, TimeProvider clock)
    {
        _clock = clock;
        var baseUri = new Uri(options.Value.Url.TrimEnd('/') + "/");
        _ping = new Uri(baseUri, "ping");
        _write = new Uri(baseUri, "write?db=" + Uri.EscapeDataString(options.Value.Database) + "&precision=s");
        _http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
    }

    /// <summary>Null when InfluxDB answered the ping and stored the probe point, else why not.</summary>
    public async Task<string?> ProbeAsync(string host, CancellationToken cancellationToken)
    {
        try
        {
            using (var ping = await _http.GetAsync(_ping, cancellationToken))
            {
                if (!ping.IsSuccessStatusCode)
                {
                    return $"InfluxDB answers /ping with HTTP {(int)ping.StatusCode}";
                }
            }

            var now = _clock.GetUtcNow().ToUnixTimeSeconds();
            var line = new StringBuilder("platform_health_probe,host=").Append(EscapeTag(host)).Append(" ok=1i ").Append(now - (now % 3600)).ToString();
            using var content = new StringContent(line, Encoding.UTF8);
            content.Headers.ContentType = new MediaTypeHeaderValue("text/plain") { CharSet = "utf-8" };
            using var write = await _http.PostAsync(_write, content, cancellationToken);
            if (write.IsSuccessStatusCode)
            {
                return null;
            }

            var text = await write.Content.ReadAsStringAsync(cancellationToken);
            return $"InfluxDB answers /ping but refuses writes (HTTP {(int)write.StatusCode}: {(text.Length > 200 ? text[..200] : text).Trim()})";
        }
        catch (Exception exception) when (exception is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return "InfluxDB is unreachable: " + exception.Message;
        }
    }

    private static string EscapeTag(string value) => value.Replace(",", "\\,", StringComparison.Ordinal).Replace(" ", "\\ ", StringComparison.Ordinal).Replace("=", "\\=", StringComparison.Ordinal);

    public void Dispose() => _http.Dispose();
}
