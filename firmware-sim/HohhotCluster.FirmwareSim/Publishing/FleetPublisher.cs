using System.Globalization;

namespace HohhotCluster.FirmwareSim.Publishing;

/// <summary>All gateways of a run: routes each message to its gateway's connection.</summary>
internal sealed class FleetPublisher : IMessageSink, IAsyncDisposable
{
    private readonly Dictionary<string, GatewayPublisher> _gateways = new(StringComparer.Ordinal);
    private readonly List<Task> _running = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<string, string> _passwordOf;
    private readonly MqttEndpoint _endpoint;
    private readonly GatewayPublisherOptions _options;

    public FleetPublisher(MqttEndpoint endpoint, GatewayPublisherOptions options, Func<string, string> passwordOf, PublishLedger ledger, RunStats stats)
    {
        _endpoint = endpoint;
        _options = options;
        _passwordOf = passwordOf;
        Ledger = ledger;
        Stats = stats;
    }

    public PublishLedger Ledger { get; }

    public RunStats Stats { get; }

    public ValueTask SendAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        if (!_gateways.TryGetValue(message.GatewayOwnerId, out var gateway))
        {
            gateway = new GatewayPublisher(message.GatewayOwnerId, _passwordOf(message.GatewayOwnerId), _endpoint, _options, Ledger, Stats);
            _gateways.Add(message.GatewayOwnerId, gateway);
            _running.Add(Task.Run(() => gateway.RunAsync(_stop.Token)));
        }
        return gateway.EnqueueAsync(message, cancellationToken);
    }

    /// <summary>No more messages: waits for every gateway to be answered, at most <paramref name="drainTimeout"/>.</summary>
    public async Task<bool> CompleteAsync(TimeSpan drainTimeout)
    {
        foreach (var gateway in _gateways.Values)
        {
            gateway.CompleteInput();
        }
        var all = Task.WhenAll(_running);
        var finished = await Task.WhenAny(all, Task.Delay(drainTimeout)).ConfigureAwait(false) == all;
        if (!finished)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
            await all.ConfigureAwait(false);
        }
        Ledger.Flush();
        return finished;
    }

    public string DescribeUnreachable()
    {
        var parts = new List<string>();
        foreach (var gateway in _gateways.Values)
        {
            if (gateway.LastConnectError is { } error)
            {
                parts.Add(string.Create(CultureInfo.InvariantCulture, $"{gateway.OwnerId}: {error} ({gateway.Spooled} spooled)"));
            }
        }
        return string.Join("; ", parts);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var gateway in _gateways.Values)
        {
            await gateway.DisposeAsync().ConfigureAwait(false);
        }
        _stop.Dispose();
    }
}
