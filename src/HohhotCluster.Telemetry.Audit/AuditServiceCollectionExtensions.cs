using HohhotCluster.Telemetry.Audit.Alerts;
using HohhotCluster.Telemetry.Audit.Farm;
using HohhotCluster.Telemetry.Audit.Feeding;
using HohhotCluster.Telemetry.Audit.Kpi;
using HohhotCluster.Telemetry.Audit.Quality;
using HohhotCluster.Telemetry.Audit.Rules;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Audit;

public static class AuditServiceCollectionExtensions
{
    /// <summary>
    /// Audits, KPIs and alerts: migrations 0200-0299, the rule table, the <c>quality</c> (pasture and plant),
    /// <c>manure</c>, <c>health</c>, <c>tmr</c> and <c>feed_stock</c> telemetry kinds, the alert observer and watchdog, and the query services the
    /// gRPC API uses. Needs <c>AddTelemetryPostgres</c> and an Orleans silo or client (grains).
    /// </summary>
    public static IServiceCollection AddTelemetryAudits(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<AuditOptions>()
            .Bind(configuration.GetSection(AuditOptions.Section))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<AuditOptions>, AuditOptionsValidator>();
        services.AddSchemaMigrations(typeof(AuditServiceCollectionExtensions).Assembly);
        services.AddMetrics();
        services.AddSingleton<AuditMetrics>();
        services.AddSingleton<RuleTableStore>();
        services.AddSingleton<OwnerDirectory>();
        services.AddSingleton<AlertStore>();
        services.AddSingleton<HohhotCluster.Telemetry.Animals.Milk.IUnfitTankMilkingSink, UnfitMilkAlerts>();
        services.AddSingleton<DeviceActivityStore>();
        services.AddSingleton<QualityStore>();
        services.AddSingleton<FarmRecordStore>();
        services.AddSingleton<AuditQueries>();
        services.AddSingleton<IMilkTotalsSource, GrainMilkTotalsSource>();
        services.AddSingleton<KpiCalculator>();
        // The programme table as the animal registry reads it (per-animal vaccinations name one of them).
        services.AddSingleton<HohhotCluster.Telemetry.Contracts.IImmunisationProgrammes, AuditProgrammes>();

        services.AddTelemetryKind<PastureQualityKind>();
        services.AddTelemetryKind<PlantQualityKind>();
        services.AddTelemetryKind<LabQualityKind>();
        services.AddTelemetryKind<ManureKind>();
        services.AddTelemetryKind<HealthKind>();
        services.AddAcceptedObserver<MilkingDraft, AlertReadingObserver>();
        services.AddAcceptedObserver<BulkTankDraft, AlertReadingObserver>();
        services.AddAcceptedObserver<PlantIntakeDraft, AlertReadingObserver>();
        services.AddAcceptedKeysObserver<DeviceActivityKeysObserver>();

        // Feeding (issue 14): the tmr and feed_stock kinds, their store, rollups and the herds' milk for feed efficiency.
        services.AddSingleton<FeedingStore>();
        services.AddSingleton<HerdDirectory>();
        services.AddSingleton<IHerdMilkSource, GrainHerdMilkSource>();
        services.AddSingleton<FeedingRollups>();
        services.AddTelemetryKind<TmrKind>();
        services.AddTelemetryKind<FeedStockKind>();

        // The road alerts: tanker_log records and plant intakes (the end of a route), over the chain's read model.
        services.TryAddSingleton<Traceability.Tanker.TankerLogStore>();
        services.AddAcceptedObserver<Traceability.Tanker.TankerLogRecord, TankerRoadAlerts>();
        services.AddAcceptedObserver<PlantIntakeDraft, TankerRoadAlerts>();

        services.AddHostedService<RuleTableLoader>();
        services.AddHostedService<DeviceWatchdog>();
        services.AddOptions<AlertNotificationOptions>()
            .Bind(configuration.GetSection(AlertNotificationOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSingleton<AlertSubscriptionStore>();
        services.TryAddSingleton<NotificationSender>();
        services.AddHostedService<AlertNotifier>();
        // The alert change feed ages out (Retention:AlertEvents); the alerts themselves stay.
        services.AddRetentionRule(new RetentionRule("alert_event",
            "delete from alert_event where id in (select id from alert_event where at < $1 order by id limit $2)",
            sp => sp.GetRequiredService<IOptions<RetentionOptions>>().Value.AlertEvents));
        return services;
    }

    /// <summary>Seeds and loads the rule table at start-up, so a rule CSV that edits a published version stops the process.</summary>
    private sealed class RuleTableLoader(RuleTableStore rules) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken) => rules.GetAsync(cancellationToken);

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
