using HohhotCluster.Telemetry.Ingestion;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Traceability;

namespace HohhotCluster.Telemetry.Audit.Tests;

/// <summary>The platform's own kind registry (ingestion's core kinds, audits' and traceability's), as the host builds it: the cadences the watchdog reads.</summary>
internal static class PlatformKinds
{
    private static readonly Lazy<TelemetryKindRegistry> Built = new(() => ParsingOnlyKinds.Registry((services, configuration) =>
    {
        services.AddTelemetryAudits(configuration);
        services.AddTraceability(configuration);
    }));

    public static TelemetryKindRegistry Registry => Built.Value;
}
