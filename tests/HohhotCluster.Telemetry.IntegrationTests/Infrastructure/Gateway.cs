using System.Security.Cryptography.X509Certificates;
using System.Text;
using MQTTnet;
using MQTTnet.Formatter;
using MQTTnet.Protocol;

namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>A pasture or plant gateway on the platform's MQTT endpoint: its own registry credential, QoS 1, the PUBACK's reason code.</summary>
public sealed class Gateway : IAsyncDisposable
{
    private readonly IMqttClient _client = new MqttClientFactory().CreateMqttClient();

    private Gateway()
    {
        _client.DisconnectedAsync += e =>
        {
            LastDisconnect = e.Reason;
            return Task.CompletedTask;
        };
    }

    /// <summary>Why the platform closed the connection last (its DISCONNECT's reason code, as MQTTnet reads it).</summary>
    public MqttClientDisconnectReason? LastDisconnect { get; private set; }

    /// <summary>Connects to the platform's endpoint (TLS when the platform serves it, trusting its CA); asserts the login succeeds.</summary>
    public static async Task<Gateway> ConnectAsync(PlatformProcess platform, string username, string password, MqttProtocolVersion protocol = MqttProtocolVersion.V500)
    {
        var (gateway, result) = await TryConnectAsync(platform, username, password, protocol);
        Assert.True(result.ResultCode == MqttClientConnectResultCode.Success, $"CONNACK {result.ResultCode} {result.ReasonString}");
        return gateway;
    }

    public static async Task<(Gateway Gateway, MqttClientConnectResult Result)> TryConnectAsync(
        PlatformProcess platform, string username, string password, MqttProtocolVersion protocol = MqttProtocolVersion.V500)
    {
        var gateway = new Gateway();
        var options = new MqttClientOptionsBuilder()
            .WithTcpServer("127.0.0.1", platform.MqttPort)
            .WithProtocolVersion(protocol)
            .WithClientId("gw-" + username + "-" + Guid.NewGuid().ToString("N")[..6])
            .WithCredentials(username, password)
            .WithCleanStart(true)
            // A PUBACK waits for the stores: while one is away, that is as long as the outage.
            .WithTimeout(TimeSpan.FromMinutes(3));
        if (platform.TrustedCaFile is { } caFile)
        {
            var ca = X509Certificate2.CreateFromPem(File.ReadAllText(caFile));
            options.WithTlsOptions(tls => tls
                .UseTls()
                .WithCertificateValidationHandler(e =>
                {
                    // The platform's private CA is the only root trusted; the name must match.
                    if ((e.SslPolicyErrors & ~System.Net.Security.SslPolicyErrors.RemoteCertificateChainErrors) != 0)
                    {
                        return false;
                    }

                    using var chain = new X509Chain();
                    chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                    chain.ChainPolicy.CustomTrustStore.Add(ca);
                    chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                    using var server = X509CertificateLoader.LoadCertificate(e.Certificate.GetRawCertData());
                    return chain.Build(server);
                }));
        }

        return (gateway, await gateway._client.ConnectAsync(options.Build()));
    }

    public bool IsConnected => _client.IsConnected;

    /// <summary>Publishes at QoS 1; true when the platform acknowledged with success (the reading is durable and counted).</summary>
    public async Task<bool> PublishAsync(string topic, string payload) =>
        await PublishAsync(topic, Encoding.UTF8.GetBytes(payload));

    public async Task<bool> PublishAsync(string topic, byte[] payload) =>
        (await PublishForResultAsync(topic, payload)).ReasonCode == MqttClientPublishReasonCode.Success;

    /// <summary>Publishes at QoS 1 and returns the PUBACK (its reason code and string say what became of the readings).</summary>
    public Task<MqttClientPublishResult> PublishForResultAsync(string topic, string payload) =>
        PublishForResultAsync(topic, Encoding.UTF8.GetBytes(payload));

    public Task<MqttClientPublishResult> PublishForResultAsync(string topic, byte[] payload) =>
        _client.PublishAsync(new MqttApplicationMessageBuilder()
            .WithTopic(topic)
            .WithPayload(payload)
            .WithQualityOfServiceLevel(MqttQualityOfServiceLevel.AtLeastOnce)
            .Build());

    public async ValueTask DisposeAsync()
    {
        if (_client.IsConnected)
        {
            await _client.DisconnectAsync();
        }

        _client.Dispose();
    }
}
