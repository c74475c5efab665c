using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace HohhotCluster.Telemetry.Ingestion;

public static class IngestionServiceCollectionExtensions
{
    public static IServiceCollection AddTelemetryIngestion(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<IngestionOptions>()
            .Bind(configuration.GetSection(IngestionOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddMetrics();
        services.AddSingleton<IngestionMetrics>();
        services.AddSingleton<DeviceDirectory>();
        services.AddSingleton<IngestionPipeline>();
        services.AddHostedService(sp => sp.GetRequiredService<IngestionPipeline>());
        return services;
    }
}
