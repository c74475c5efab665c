using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HohhotCluster.Telemetry.Kinds;

public static class TelemetryKindServiceCollectionExtensions
{
    /// <summary>Registers a kind (a singleton, also as <see cref="ITelemetryKind"/>) and the <see cref="TelemetryKindRegistry"/>.</summary>
    public static IServiceCollection AddTelemetryKind<TKind>(this IServiceCollection services)
        where TKind : class, ITelemetryKind
    {
        services.TryAddSingleton<TKind>();
        services.AddSingleton<ITelemetryKind>(sp => sp.GetRequiredService<TKind>());
        services.TryAddSingleton<TelemetryKindRegistry>();
        return services;
    }

    /// <summary>Registers an observer of one record type's accepted records (a singleton).</summary>
    public static IServiceCollection AddAcceptedObserver<TRecord, TObserver>(this IServiceCollection services)
        where TRecord : class
        where TObserver : class, IAcceptedObserver<TRecord>
    {
        services.TryAddSingleton<TObserver>();
        services.AddSingleton<IAcceptedObserver<TRecord>>(sp => sp.GetRequiredService<TObserver>());
        return services;
    }

    /// <summary>Registers a gate on one record type's accepted records (a singleton).</summary>
    public static IServiceCollection AddAcceptedGate<TRecord, TGate>(this IServiceCollection services)
        where TRecord : class
        where TGate : class, IAcceptedGate<TRecord>
    {
        services.TryAddSingleton<TGate>();
        services.AddSingleton<IAcceptedGate<TRecord>>(sp => sp.GetRequiredService<TGate>());
        return services;
    }

    /// <summary>Registers an observer of every kind's accepted keys (a singleton).</summary>
    public static IServiceCollection AddAcceptedKeysObserver<TObserver>(this IServiceCollection services)
        where TObserver : class, IAcceptedKeysObserver
    {
        services.TryAddSingleton<TObserver>();
        services.AddSingleton<IAcceptedKeysObserver>(sp => sp.GetRequiredService<TObserver>());
        return services;
    }
}
