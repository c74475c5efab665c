using System.ComponentModel.DataAnnotations;
using System.Net;

namespace HohhotCluster.Telemetry.Host;

public sealed class PlatformHostOptions : IValidatableObject
{
    public const string Section = "Platform";

    /// <summary>
    /// Where the API listens: <c>https://</c> (TLS, HTTP/2 and HTTP/1.1 by ALPN; needs <see cref="TlsCertificateFile"/>)
    /// or, only on a loopback address and only with <see cref="AllowPlaintextOnLoopback"/>, <c>http://</c> (HTTP/2
    /// with prior knowledge).
    /// </summary>
    [Required]
    public string ApiUrl { get; set; } = "https://127.0.0.1:15080";

    /// <summary>The server certificate (PEM; the chain may follow it in the same file). deploy/certs.sh makes one from a private CA.</summary>
    public string TlsCertificateFile { get; set; } = "";

    /// <summary>The certificate's private key (PEM).</summary>
    public string TlsKeyFile { get; set; } = "";

    /// <summary>Plaintext on a loopback address (tests, a local demo behind nothing). Refused for any other address.</summary>
    public bool AllowPlaintextOnLoopback { get; set; }

    /// <summary>gRPC server reflection, for authenticated callers only.</summary>
    public bool Reflection { get; set; } = true;

    [Range(1, 65535)]
    public int SiloPort { get; set; } = 21111;

    [Range(1, 65535)]
    public int GatewayPort { get; set; } = 31000;

    [Required]
    public string ClusterId { get; set; } = "hohhot-local";

    public Uri Api => new(ApiUrl);

    public bool Plaintext => Api.Scheme == Uri.UriSchemeHttp;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (!Uri.TryCreate(ApiUrl, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !IPAddress.TryParse(uri.Host, out var address))
        {
            yield return new ValidationResult("Platform:ApiUrl must be http(s)://<ip address>:<port>.", [nameof(ApiUrl)]);
            yield break;
        }

        if (uri.Scheme == "http" && !(AllowPlaintextOnLoopback && IPAddress.IsLoopback(address)))
        {
            yield return new ValidationResult(
                "Plaintext (http://) is served only on a loopback address and only with Platform:AllowPlaintextOnLoopback=true; use https:// with a certificate.",
                [nameof(ApiUrl)]);
        }

        if (uri.Scheme == "https" && (TlsCertificateFile.Length == 0 || TlsKeyFile.Length == 0))
        {
            yield return new ValidationResult("https:// needs Platform:TlsCertificateFile and Platform:TlsKeyFile (PEM); deploy/certs.sh makes them.",
                [nameof(TlsCertificateFile)]);
        }
    }
}
