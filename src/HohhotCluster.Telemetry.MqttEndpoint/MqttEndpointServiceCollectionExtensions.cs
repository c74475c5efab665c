using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MQTTnet.AspNetCore;

namespace HohhotCluster.Telemetry.MqttEndpoint;

public static class MqttEndpointServiceCollectionExtensions
{
    /// <summary>The endpoint's services. Register after ingestion: hosted services stop in reverse order, so the endpoint drains first.</summary>
    public static IServiceCollection AddMqttEndpoint(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MqttEndpointOptions>()
            .Bind(configuration.GetSection(MqttEndpointOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddMetrics();
        services.AddSingleton<EndpointMetrics>();
        services.AddSingleton<GatewayAuthenticator>();
        services.AddSingleton(sp => new PacketLengthGuard(
            sp.GetRequiredService<IOptions<MqttEndpointOptions>>().Value,
            sp.GetRequiredService<EndpointMetrics>(),
            sp.GetRequiredService<ILogger<PacketLengthGuard>>()));
        services.AddSingleton<MqttConnectionHandler>();
        services.AddSingleton<TelemetryEndpoint>();
        services.AddHostedService(sp => sp.GetRequiredService<TelemetryEndpoint>());
        return services;
    }

    /// <summary>Listens for MQTT on the endpoint's address: TLS with <paramref name="certificate"/> unless plaintext, then the length guard, then MQTTnet.</summary>
    public static void ListenMqtt(this KestrelServerOptions kestrel, MqttEndpointOptions options, X509Certificate2? certificate)
    {
        var address = options.Address;
        kestrel.Listen(IPAddress.Parse(address.Host), address.Port, listen =>
        {
            if (!options.Plaintext)
            {
                listen.UseHttps(certificate ?? throw new InvalidOperationException("mqtts:// needs the platform's TLS certificate."));
            }

            listen.Use(next => listen.ApplicationServices.GetRequiredService<PacketLengthGuard>().Wrap(next));
            listen.UseConnectionHandler<MqttConnectionHandler>();
        });
    }
}
