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
        services.AddOptions<InfluxRetentionOptions>()
            .Bind(configuration.GetSection(InfluxRetentionOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddMetrics();
        // Before the writer: the policies are set up before the first point is written.
        services.AddSingleton<InfluxRetention>();
        services.AddHostedService(sp => sp.GetRequiredService<InfluxRetention>());
        services.AddSingleton<InfluxSeriesReader>();
        services.AddSingleton<InfluxLineWriter>();
        services.AddSingleton<InfluxHealthProbe>();
        services.AddHostedService(sp => sp.GetRequiredService<InfluxLineWriter>());
        return services;
    }
}
