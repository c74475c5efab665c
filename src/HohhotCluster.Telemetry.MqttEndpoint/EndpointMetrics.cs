using System.Diagnostics.Metrics;

namespace HohhotCluster.Telemetry.MqttEndpoint;

/// <summary>What the MQTT endpoint refused, and why: connections, logins, topics outside a gateway's owner, rates.</summary>
public sealed class EndpointMetrics
{
    public const string MeterName = "HohhotCluster.Telemetry.MqttEndpoint";

    private readonly Counter<long> _refusedConnections;
    private readonly Counter<long> _refusedLogins;
    private readonly Counter<long> _refusedPublishes;
    private readonly Counter<long> _pubacks;
    private readonly Histogram<double> _pubackLatency;
    private readonly Meter _meter;

    public EndpointMetrics(IMeterFactory meterFactory)
    {
        var meter = _meter = meterFactory.Create(MeterName);
        _refusedConnections = meter.CreateCounter<long>("hohhot.mqtt.connections.refused", "{connection}");
        _refusedLogins = meter.CreateCounter<long>("hohhot.mqtt.logins.refused", "{login}");
        _refusedPublishes = meter.CreateCounter<long>("hohhot.mqtt.publishes.refused", "{reading}");
        _pubacks = meter.CreateCounter<long>("hohhot.mqtt.pubacks", "{puback}");
        _pubackLatency = meter.CreateHistogram<double>("hohhot.mqtt.puback.duration", "s", "From a publish handed to ingestion to its PUBACK (its readings durable or quarantined)");
    }

    public void RecordRefusedConnection(string reason) => _refusedConnections.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void RecordRefusedLogin(string reason) => _refusedLogins.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void RecordRefusedPublish(string reason, int readings) => _refusedPublishes.Add(readings, new KeyValuePair<string, object?>("reason", reason));

    public void RecordPuback(string reasonCode) => _pubacks.Add(1, new KeyValuePair<string, object?>("code", reasonCode));

    public void RecordPubackLatency(TimeSpan latency) => _pubackLatency.Record(latency.TotalSeconds);

    /// <summary>Gateways connected now and publishes waiting for their PUBACK, read at each collection.</summary>
    public void ObserveConnections(Func<int> connected, Func<int> inFlight)
    {
        _meter.CreateObservableGauge("hohhot.mqtt.connections.active", connected, "{connection}", "Gateways connected to the endpoint");
        _meter.CreateObservableGauge("hohhot.mqtt.publishes.in_flight", inFlight, "{publish}", "Publishes waiting for their readings to become durable");
    }
}
