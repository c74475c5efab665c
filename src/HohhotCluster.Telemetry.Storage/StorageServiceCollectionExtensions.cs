using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Storage;

namespace HohhotCluster.Telemetry.Storage;

public static class StorageServiceCollectionExtensions
{
    public const string GrainStorageName = "postgres";

    /// <summary>One <see cref="NpgsqlDataSource"/> for the process, the stores built on it, and start-up migrations.</summary>
    public static IServiceCollection AddTelemetryPostgres(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<PostgresOptions>()
            .Bind(configuration.GetSection(PostgresOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<PostgresOptions>>().Value;
            return new NpgsqlDataSourceBuilder(options.ConnectionString).Build();
        });
        services.AddSingleton<SchemaMigrator>();
        services.AddSchemaMigrations(typeof(SchemaMigrator).Assembly);
        services.AddSingleton<RegistryStore>();
        // The host registers the clock first; a host that does not gets the system's.
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<GatewayCredentialStore>();
        services.AddSingleton<Cluster.ClusterSetupLedger>();
        services.AddSingleton<QuarantineStore>();
        services.AddSingleton<StoreWriteProbe>();
        services.AddOptions<ReadingDigestOptions>()
            .Bind(configuration.GetSection(ReadingDigestOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<ReadingDigestStore>();
        services.AddSingleton<DeviceSequenceStore>();
        services.AddSingleton<GrainTotalsReader>();
        services.AddSingleton<IMemberTotalsReader>(sp => sp.GetRequiredService<GrainTotalsReader>());
        services.AddHostedService<MigrationHostedService>();
        // After the migrations: hosted services start in registration order.
        services.AddHostedService<ReadingDigestRetention>();
        services.AddOptions<RetentionOptions>()
            .Bind(configuration.GetSection(RetentionOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<StoreRetention>();
        services.AddHostedService(sp => sp.GetRequiredService<StoreRetention>());
        // The quarantine is storage's own table: raw payloads are kept Retention:Quarantine.
        services.AddRetentionRule(new RetentionRule("quarantine",
            "delete from quarantine where id in (select id from quarantine where received_at < $1 order by id limit $2)",
            sp => sp.GetRequiredService<IOptions<RetentionOptions>>().Value.Quarantine));
        return services;
    }

    /// <summary>Adds an assembly's embedded <c>Migrations/NNNN_name.sql</c> scripts to the schema applied at start-up.</summary>
    public static IServiceCollection AddSchemaMigrations(this IServiceCollection services, System.Reflection.Assembly assembly)
    {
        services.AddSingleton(new MigrationSource(assembly));
        return services;
    }

    /// <summary>Registers <see cref="PostgresGrainStorage"/> as the Orleans grain storage named <see cref="GrainStorageName"/>.</summary>
    public static IServiceCollection AddPostgresGrainStorage(this IServiceCollection services)
    {
        services.AddKeyedSingleton<IGrainStorage>(GrainStorageName, (sp, _) =>
            ActivatorUtilities.CreateInstance<PostgresGrainStorage>(sp));
        return services;
    }

    private sealed class MigrationHostedService(SchemaMigrator migrator, IOptions<PostgresOptions> options) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) =>
            // Without migrating, the schema is still checked: a changed script, a newer schema or a missing script refuses the start.
            options.Value.MigrateOnStart ? migrator.MigrateAsync(cancellationToken) : migrator.VerifyAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
