using System.Buffers;
using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using HohhotCluster.FirmwareSim.Publishing;
using HohhotCluster.FirmwareSim.Verification;
using MQTTnet.Protocol;
using MQTTnet.Server;

namespace HohhotCluster.FirmwareSim.Tests.Publishing;

/// <summary>
/// MQTTnet's server in-process on a free loopback port, standing in for the platform's MQTT endpoint: it checks each
/// gateway's login, reads the keys of every publish (a single message or a batch) and answers with the PUBACK code
/// the test's policy gives, or disconnects the gateway with 0x96 as the platform does a gateway beyond its rate (a
/// negative code). What it answered with a success code is what it "counted".
/// </summary>
internal sealed class FakePlatformEndpoint : IAsyncDisposable
{
    private readonly MqttServer _server;
    private readonly Func<Publish, int> _answer;
    private readonly Func<string, string> _passwordOf;
    private int _publishes;

    /// <summary>One publish as the endpoint read it: who sent it, its topic, the keys it carried, and its number in arrival order.</summary>
    public sealed record Publish(string UserName, string Topic, IReadOnlyList<MessageKey> Keys, int Number);

    private FakePlatformEndpoint(int port, X509Certificate2? certificate, Func<Publish, int> answer, Func<string, string> passwordOf)
    {
        Port = port;
        _answer = answer;
        _passwordOf = passwordOf;
        var options = new MqttServerOptionsBuilder();
        if (certificate is null)
        {
            options.WithDefaultEndpoint().WithDefaultEndpointBoundIPAddress(IPAddress.Loopback).WithDefaultEndpointBoundIPV6Address(IPAddress.None).WithDefaultEndpointPort(port);
        }
        else
        {
            options.WithoutDefaultEndpoint().WithEncryptedEndpoint().WithEncryptedEndpointBoundIPAddress(IPAddress.Loopback)
                .WithEncryptedEndpointBoundIPV6Address(IPAddress.None).WithEncryptedEndpointPort(port).WithEncryptionCertificate(certificate);
        }
        _server = new MqttServerFactory().CreateMqttServer(options.Build());
        _server.ValidatingConnectionAsync += ValidateAsync;
        _server.InterceptingPublishAsync += AnswerAsync;
    }

    public int Port { get; }

    /// <summary>Keys answered with a success code, and how often.</summary>
    public ConcurrentDictionary<MessageKey, int> Counted { get; } = new();

    public ConcurrentQueue<Publish> Received { get; } = new();

    public static async Task<FakePlatformEndpoint> StartAsync(Func<Publish, int> answer, Func<string, string> passwordOf, X509Certificate2? certificate = null)
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var port = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        var endpoint = new FakePlatformEndpoint(port, certificate, answer, passwordOf);
        await endpoint._server.StartAsync();
        return endpoint;
    }

    private Task ValidateAsync(ValidatingConnectionEventArgs args)
    {
        if (args.Password != _passwordOf(args.UserName))
        {
            args.ReasonCode = MqttConnectReasonCode.BadUserNameOrPassword;
        }
        return Task.CompletedTask;
    }

    /// <summary>The policy's answer that stands for "DISCONNECT 0x96, no PUBACK".</summary>
    public const int DisconnectForRate = -0x96;

    private async Task AnswerAsync(InterceptingPublishEventArgs args)
    {
        args.ProcessPublish = false;
        var publish = new Publish(args.UserName, args.ApplicationMessage.Topic, KeysOf(args.ApplicationMessage.Payload.ToArray()), Interlocked.Increment(ref _publishes));
        Received.Enqueue(publish);
        var code = _answer(publish);
        if (code == DisconnectForRate)
        {
            args.CloseConnection = true;
            await _server.DisconnectClientAsync(args.ClientId, new MqttServerClientDisconnectOptions { ReasonCode = MqttDisconnectReasonCode.MessageRateTooHigh });
            return;
        }
        if (code < 0x80)
        {
            foreach (var key in publish.Keys)
            {
                Counted.AddOrUpdate(key, 1, (_, n) => n + 1);
            }
        }
        args.Response.ReasonCode = (MqttPubAckReasonCode)code;
    }

    private static List<MessageKey> KeysOf(byte[] payload)
    {
        var keys = new List<MessageKey>();
        try
        {
            using var document = JsonDocument.Parse(payload);
            var root = document.RootElement;
            if (root.TryGetProperty("readings", out var readings))
            {
                foreach (var item in readings.EnumerateArray())
                {
                    keys.Add(KeyOf(item));
                }
            }
            else
            {
                keys.Add(KeyOf(root));
            }
        }
        catch (JsonException)
        {
            // a malformed fault copy: no key to read
        }
        return keys;
    }

    private static MessageKey KeyOf(JsonElement reading) =>
        new(reading.GetProperty("deviceId").GetString()!, reading.GetProperty("bootEpoch").GetInt64(), reading.GetProperty("seq").GetInt64());

    public async ValueTask DisposeAsync()
    {
        await _server.StopAsync();
        _server.Dispose();
    }

    /// <summary>A private CA and a server certificate for 127.0.0.1 signed by it, as deploy/certs.sh makes them.</summary>
    public static (X509Certificate2 Ca, X509Certificate2 Server) CreateCertificates(string caName)
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest($"CN={caName}", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        var now = DateTimeOffset.UtcNow;
        using var caWithKey = caRequest.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        using var serverKey = RSA.Create(2048);
        var serverRequest = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        serverRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        serverRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        serverRequest.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        serverRequest.CertificateExtensions.Add(names.Build());
        using var signed = serverRequest.Create(caWithKey, now.AddMinutes(-5), now.AddDays(1), [1, 2, 3, 4, 5, 6, 7, 8]);
        using var signedWithKey = signed.CopyWithPrivateKey(serverKey);
        // Through PKCS#12, so the TLS stack gets a key it can use on every platform.
        var server = X509CertificateLoader.LoadPkcs12(signedWithKey.Export(X509ContentType.Pkcs12), null);
        var ca = X509CertificateLoader.LoadCertificate(caWithKey.Export(X509ContentType.Cert));
        return (ca, server);
    }
}
