using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// The platform's kinds for what only parses (the agreement tests, the benchmarks, the load bench): built by the
/// platform's own registrations (<see cref="IngestionServiceCollectionExtensions.AddTelemetryIngestion"/> and what
/// <paramref name="components"/> adds, e.g. AddTraceability, AddTelemetryAudits), with real stores that are never
/// opened (a data source to a port nothing listens on, an Orleans client never started). Parsing is pure, so a kind
/// that reached for a store while parsing fails.
/// </summary>
public static class ParsingOnlyKinds
{
    public static TelemetryKindRegistry Registry(Action<IServiceCollection, IConfiguration>? components = null)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Postgres:ConnectionString"] = "Host=127.0.0.1;Port=1;Username=unused;Password=unused;Database=unused",
        }).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddSingleton(TimeProvider.System);
        services.AddTelemetryPostgres(configuration);
        services.AddOrleansClient(client => client.UseLocalhostClustering());
        services.AddTelemetryIngestion(configuration);
        components?.Invoke(services, configuration);
        return services.BuildServiceProvider().GetRequiredService<TelemetryKindRegistry>();
    }

    /// <summary>A parser over <see cref="Registry"/>'s kinds.</summary>
    public static TelemetryPayloadParser Parser(TimeProvider clock, IngestionOptions? options = null, Action<IServiceCollection, IConfiguration>? components = null) =>
        new(clock, options ?? new IngestionOptions(), KindRuntimes.ForParsing(Registry(components)));
}
