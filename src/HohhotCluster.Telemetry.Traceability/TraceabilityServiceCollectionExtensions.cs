using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace HohhotCluster.Telemetry.Traceability;

public static class TraceabilityServiceCollectionExtensions
{
    /// <summary>
    /// The chain's schema (migrations 0100-0199), its stores and queries, EPCIS import and export, the observer of
    /// collections and intakes, and the tanker_pickup, silo_transfer, production and tanker_log telemetry kinds.
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
            .Validate(o => ValidTankerLog(o.TankerLog),
                "Traceability:TankerLog: AboveC -5..50 °C, ReadingValidFor 1 min..2 h, MaxPlausibleSpeedKmh 20..1000 km/h.")
            .ValidateOnStart();
        services.AddSchemaMigrations(typeof(ChainStore).Assembly);
        services.AddSingleton<ChainStore>();
        services.AddSingleton<ChainQueries>();
        services.AddSingleton<Tanker.TankerLogStore>();
        services.AddSingleton<EpcisSchemaValidator>();
        services.AddSingleton<EpcisImporter>();
        services.AddSingleton<EpcisExporter>();
        services.AddAcceptedObserver<BulkTankDraft, TelemetryChainObserver>();
        services.AddAcceptedObserver<PlantIntakeDraft, TelemetryChainObserver>();
        services.AddAcceptedGate<BulkTankDraft, LotOwnershipGate>();
        services.AddTelemetryKind<TankerPickupKind>();
        services.AddTelemetryKind<SiloTransferKind>();
        services.AddTelemetryKind<ProductionKind>();
        services.AddTelemetryKind<Tanker.TankerLogKind>();
        return services;
    }

    /// <summary>Data annotations do not reach into a nested options object: the tanker log's are checked here.</summary>
    private static bool ValidTankerLog(Tanker.TankerLogOptions options) =>
        System.ComponentModel.DataAnnotations.Validator.TryValidateObject(options, new(options), null, validateAllProperties: true);
}
