using HohhotCluster.Telemetry.Audit.Alerts;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace HohhotCluster.Telemetry.Reports;

public static class ReportServiceCollectionExtensions
{
    /// <summary>
    /// Scheduled reports: migrations 0500-0549, the builder over the Audit component's queries, the runner and the
    /// scheduler. Needs <c>AddTelemetryAudits</c> (its queries, KPIs and notification sender), Identity's store and an
    /// <see cref="IReportScopeGuard"/> (the API's scope decision).
    /// </summary>
    public static IServiceCollection AddTelemetryReports(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<ReportOptions>()
            .Bind(configuration.GetSection(ReportOptions.Section))
            .ValidateDataAnnotations()
            .ValidateOnStart();
        services.AddSchemaMigrations(typeof(ReportServiceCollectionExtensions).Assembly);
        services.TryAddSingleton<NotificationSender>();
        services.AddSingleton<ReportStore>();
        services.AddSingleton<ReportBuilder>();
        services.AddSingleton<ReportScopes>();
        services.AddSingleton<ReportRunner>();
        services.AddHostedService<ReportScheduler>();
        return services;
    }
}
