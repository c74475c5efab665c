using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace HohhotCluster.Telemetry.TimeSeries;

public static class TimeSeriesServiceCollectionExtensions
{
    public static IServiceCollection AddTelemetryInflux(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<InfluxOptions>()
            .Bind(configuration.GetSection(InfluxOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddMetrics();
        services.AddSingleton<InfluxLineWriter>();
        services.AddSingleton<InfluxHealthProbe>();
        services.AddHostedService(sp => sp.GetRequiredService<InfluxLineWriter>());
        return services;
    }
}
