using HohhotCluster.Telemetry.Ingestion.CoreKinds;
using HohhotCluster.Telemetry.Kinds;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

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
        services.AddSingleton<IDeviceLookup>(sp => sp.GetRequiredService<DeviceDirectory>());

        // The core kinds, registered like any other.
        services.AddSingleton<GrainApply>();
        services.AddTelemetryKind<MilkingKind>();
        services.AddTelemetryKind<BulkTankKind>();
        services.AddTelemetryKind<PlantIntakeKind>();

        services.AddSingleton(sp => new KindRuntimes(sp.GetRequiredService<TelemetryKindRegistry>(), sp));
        services.AddSingleton(sp => new TelemetryPayloadParser(
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<IOptions<IngestionOptions>>().Value, sp.GetRequiredService<KindRuntimes>()));
        services.AddSingleton<IDigestClaims, PostgresDigestClaims>();
        services.AddSingleton<IQuarantineRows, PostgresQuarantineRows>();
        services.AddSingleton<IPointSink, InfluxPointSink>();
        services.AddSingleton<ValidateStage>();
        services.AddSingleton<GateStage>();
        services.AddSingleton<DigestStage>();
        services.AddSingleton<ApplyStage>();
        services.AddSingleton<QuarantineStage>();
        services.AddSingleton<ObserveStage>();
        services.AddSingleton<PointsStage>();
        services.AddSingleton<AcknowledgeStage>();
        services.AddSingleton<IBatchProcessor, BatchProcessor>();
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<BatchRetry>(sp, sp.GetRequiredService<IOptions<IngestionOptions>>().Value));
        services.AddSingleton<IngestionPipeline>();
        services.AddHostedService(sp => sp.GetRequiredService<IngestionPipeline>());
        return services;
    }
}
