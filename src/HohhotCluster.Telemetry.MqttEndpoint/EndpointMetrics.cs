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

    public EndpointMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _refusedConnections = meter.CreateCounter<long>("hohhot.mqtt.connections.refused", "{connection}");
        _refusedLogins = meter.CreateCounter<long>("hohhot.mqtt.logins.refused", "{login}");
        _refusedPublishes = meter.CreateCounter<long>("hohhot.mqtt.publishes.refused", "{reading}");
        _pubacks = meter.CreateCounter<long>("hohhot.mqtt.pubacks", "{puback}");
    }

    public void RecordRefusedConnection(string reason) => _refusedConnections.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void RecordRefusedLogin(string reason) => _refusedLogins.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void RecordRefusedPublish(string reason, int readings) => _refusedPublishes.Add(readings, new KeyValuePair<string, object?>("reason", reason));

    public void RecordPuback(string reasonCode) => _pubacks.Add(1, new KeyValuePair<string, object?>("code", reasonCode));
}
