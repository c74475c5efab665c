using System.Diagnostics.Metrics;

namespace HohhotCluster.Telemetry.Api;

/// <summary>The API's meter: every gRPC call by method and final status (what the call guard logs), and how long it took.</summary>
public sealed class ApiMetrics
{
    public const string MeterName = "HohhotCluster.Telemetry.Api";

    private readonly Counter<long> _calls;
    private readonly Histogram<double> _duration;

    public ApiMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _calls = meter.CreateCounter<long>("hohhot.api.calls", "{call}", "gRPC calls by method and status");
        _duration = meter.CreateHistogram<double>("hohhot.api.call.duration", "s", "gRPC call duration by method");
    }

    public void RecordCall(string method, string status, TimeSpan duration)
    {
        var methodTag = new KeyValuePair<string, object?>("method", method);
        _calls.Add(1, methodTag, new KeyValuePair<string, object?>("status", status));
        _duration.Record(duration.TotalSeconds, methodTag);
    }
}
