using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace HohhotCluster.Telemetry.Traceability;

public static class TraceabilityServiceCollectionExtensions
{
    /// <summary>
    /// The chain's schema (migrations 0100-0199), its stores and queries, EPCIS import and export, the observer of
    /// collections and intakes, and the tanker_pickup, silo_transfer and production telemetry kinds.
    /// </summary>
    public static IServiceCollection AddTraceability(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<TraceabilityOptions>()
            .Bind(configuration.GetSection(TraceabilityOptions.Section))
            .ValidateDataAnnotations()
            .Validate(o => o.ProductYields.Values.All(y => y.Min > 0 && y.Min <= y.Max && y.Max <= 2),
                "Traceability:ProductYields: every range needs 0 < Min <= Max <= 2 (kg product per kg milk).")
            .Validate(o => o.Gs1Places.Values.All(p => p.IsValid),
                "Traceability:Gs1Places: a company prefix is 6-12 digits, prefix + location reference 12 digits, prefix + milk item reference 13.")
            .Validate(o => o.FreezingPointBaselineMinSamples <= o.FreezingPointBaselineSamples,
                "Traceability:FreezingPointBaselineMinSamples must not exceed FreezingPointBaselineSamples.")
            .ValidateOnStart();
        services.AddSchemaMigrations(typeof(ChainStore).Assembly);
        services.AddSingleton<ChainStore>();
        services.AddSingleton<ChainQueries>();
        services.AddSingleton<EpcisSchemaValidator>();
        services.AddSingleton<EpcisImporter>();
        services.AddSingleton<EpcisExporter>();
        services.AddAcceptedObserver<BulkTankDraft, TelemetryChainObserver>();
        services.AddAcceptedObserver<PlantIntakeDraft, TelemetryChainObserver>();
        services.AddAcceptedGate<BulkTankDraft, LotOwnershipGate>();
        services.AddTelemetryKind<TankerPickupKind>();
        services.AddTelemetryKind<SiloTransferKind>();
        services.AddTelemetryKind<ProductionKind>();
        return services;
    }
}
