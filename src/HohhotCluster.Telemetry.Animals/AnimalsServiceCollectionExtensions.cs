using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.DependencyInjection;

namespace HohhotCluster.Telemetry.Animals;

public static class AnimalsServiceCollectionExtensions
{
    /// <summary>
    /// The animal registry: migrations 0400-0499, its store, the <c>animal_event</c> telemetry kind and its gate. Needs
    /// <c>AddTelemetryPostgres</c> (the data source, the registry) and a <see cref="TimeProvider"/>.
    /// </summary>
    public static IServiceCollection AddTelemetryAnimals(this IServiceCollection services)
    {
        services.AddSchemaMigrations(typeof(AnimalRegistryStore).Assembly);
        services.AddSingleton<AnimalRegistryStore>();
        services.AddSingleton<PastureDirectory>();
        // Health and breeding per animal (migrations 0420-0439): their stores, the KPIs' reads, the programme gate.
        // The programmes (IImmunisationProgrammes) are Audit's table: AddTelemetryAudit registers them.
        services.AddSingleton<AnimalHealthStore>();
        services.AddSingleton<AnimalBreedingStore>();
        services.AddSingleton<AnimalCareApply>();
        services.AddSingleton<IAnimalRegistryFigures, AnimalRegistryFigures>();
        services.AddTelemetryKind<AnimalEventKind>();
        services.AddAcceptedGate<AnimalEventRecord, AnimalEventGate>();
        services.AddAcceptedGate<AnimalEventRecord, AnimalProgrammeGate>();
        // Per-animal milk (docs/animals.md "Per-animal milk"): every counted milking kept with its animal.
        services.AddSingleton<Milk.AnimalMilkStore>();
        services.AddSingleton<Milk.AnimalMilkMetrics>();
        services.AddAcceptedObserver<MilkingDraft, Milk.AnimalMilkObserver>();
        // Milk in a bulk-tank lot (docs/animals.md): which lot each milking went into, for trace back and recall.
        services.AddSingleton<Milk.BulkTankLotMilk>();
        services.AddSingleton<ILotAnimalSource>(sp => sp.GetRequiredService<Milk.BulkTankLotMilk>());
        services.AddAcceptedObserver<BulkTankDraft, Milk.BulkTankLotObserver>();
        return services;
    }
}
