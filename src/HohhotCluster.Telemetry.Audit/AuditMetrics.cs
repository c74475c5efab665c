using System.Diagnostics.Metrics;

namespace HohhotCluster.Telemetry.Audit;

/// <summary>The audit component's meter: samples judged (and failed), alerts raised by kind.</summary>
public sealed class AuditMetrics
{
    public const string MeterName = "HohhotCluster.Telemetry.Audit";

    private readonly Counter<long> _judged;
    private readonly Counter<long> _failed;
    private readonly Counter<long> _alerts;

    public AuditMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName);
        _judged = meter.CreateCounter<long>("hohhot.audit.samples.judged", "{sample}", "Quality samples judged and stored");
        _failed = meter.CreateCounter<long>("hohhot.audit.samples.failed", "{sample}", "Quality samples that failed their rule version");
        _alerts = meter.CreateCounter<long>("hohhot.audit.alerts.raised", "{alert}", "Alerts raised, by kind");
    }

    public void RecordJudged(int judged, int failed)
    {
        _judged.Add(judged);
        _failed.Add(failed);
    }

    public void RecordAlertRaised(string kind) => _alerts.Add(1, new KeyValuePair<string, object?>("kind", kind));
}
