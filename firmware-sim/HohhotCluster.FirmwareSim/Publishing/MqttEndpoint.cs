using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using MQTTnet;

namespace HohhotCluster.FirmwareSim.Publishing;

/// <summary>
/// Where gateways connect: the platform's MQTT endpoint (<c>MqttEndpoint:Url</c>), or a site broker, in plaintext or
/// over TLS. With a CA certificate the server's chain must end at that CA (the platform's private CA, deploy/certs.sh's
/// <c>ca.pem</c>) and nowhere else; without one, at a root of the system's trust store. Either way the certificate must
/// name the host connected to.
/// </summary>
internal sealed class MqttEndpoint
{
    public MqttEndpoint(string host, int port, bool useTls = false, X509Certificate2? trustedCa = null)
    {
        Host = host;
        Port = port;
        UseTls = useTls || trustedCa is not null;
        TrustedCa = trustedCa;
    }

    public string Host { get; }

    public int Port { get; }

    public bool UseTls { get; }

    public X509Certificate2? TrustedCa { get; }

    /// <summary>
    /// <c>host:port</c>, <c>mqtt://host:port</c> or <c>mqtts://host:port</c> (TLS); <paramref name="useTls"/> or a CA
    /// file turns TLS on for the first two. The CA file is PEM or DER; <paramref name="caCertificateFileIfTls"/> is
    /// taken when there is none and TLS is on otherwise (a plaintext endpoint stays plaintext).
    /// </summary>
    public static MqttEndpoint Parse(string text, bool useTls, string? caCertificateFile, string? caCertificateFileIfTls = null)
    {
        var address = text;
        if (text.StartsWith("mqtts://", StringComparison.Ordinal))
        {
            useTls = true;
            address = text["mqtts://".Length..];
        }
        else if (text.StartsWith("mqtt://", StringComparison.Ordinal))
        {
            address = text["mqtt://".Length..];
        }
        address = address.TrimEnd('/');
        var colon = address.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(address.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new FormatException($"'{text}' is not host:port, mqtt://host:port or mqtts://host:port");
        }
        var host = address[..colon].Trim('[', ']');
        if (caCertificateFile is null && useTls)
        {
            caCertificateFile = caCertificateFileIfTls;
        }
        X509Certificate2? ca = null;
        if (caCertificateFile is not null)
        {
            if (!File.Exists(caCertificateFile))
            {
                throw new FormatException($"CA certificate {caCertificateFile}: no such file");
            }
            try
            {
                ca = X509CertificateLoader.LoadCertificateFromFile(caCertificateFile);
            }
            catch (CryptographicException exception)
            {
                throw new FormatException($"CA certificate {caCertificateFile} is not a PEM or DER certificate: {exception.Message}", exception);
            }
        }
        return new MqttEndpoint(host, port, useTls, ca);
    }

    public MqttClientOptionsBuilder Configure(MqttClientOptionsBuilder builder)
    {
        builder.WithTcpServer(Host, Port);
        if (!UseTls)
        {
            return builder;
        }
        var tls = new MqttClientTlsOptionsBuilder().UseTls();
        if (TrustedCa is not null)
        {
            // A custom root trust store: the chain must end at this CA, and the system's roots are not consulted.
            // The private CA publishes no revocation list, so there is nothing to check revocation against.
            tls.WithTrustChain([TrustedCa]).WithRevocationMode(X509RevocationMode.NoCheck);
        }
        return builder.WithTlsOptions(tls.Build());
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{(UseTls ? "mqtts" : "mqtt")}://{Host}:{Port}");
}
