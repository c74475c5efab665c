namespace HohhotCluster.Telemetry.Dashboard;

/// <summary>The dashboard's own settings (section <c>Dashboard</c>).</summary>
public sealed class DashboardOptions
{
    public const string Section = "Dashboard";

    /// <summary>Where the dashboard listens: <c>https://</c> with the certificate below, or <c>http://</c> on loopback.</summary>
    public string Url { get; set; } = "https://127.0.0.1:19280";

    /// <summary>The platform's gRPC API (<c>Platform:ApiUrl</c> of hohhot-platform).</summary>
    public string ApiUrl { get; set; } = "https://127.0.0.1:15080";

    /// <summary>The platform's private CA (deploy/certs.sh's ca.pem), trusted for the API's certificate.</summary>
    public string? ApiCaFile { get; set; }

    /// <summary>The dashboard's TLS certificate and key (PEM), deploy/certs.sh's server.pem and server.key.</summary>
    public string? TlsCertificateFile { get; set; }

    public string? TlsKeyFile { get; set; }

    /// <summary>Where the cookie encryption keys are kept (ASP.NET Data Protection); empty: the user's profile.</summary>
    public string? DataProtectionKeysDir { get; set; }

    /// <summary>How often the live panels re-read the API.</summary>
    public TimeSpan LiveRefresh { get; set; } = TimeSpan.FromSeconds(5);
}
