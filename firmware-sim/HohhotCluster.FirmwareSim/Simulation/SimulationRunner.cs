using System.Text;
using HohhotCluster.FirmwareSim.Fleet;
using HohhotCluster.FirmwareSim.Publishing;

namespace HohhotCluster.FirmwareSim.Simulation;

/// <summary>Fault switches for tests. Rates are per message; all decisions are seeded.</summary>
internal sealed record FaultOptions
{
    public double DuplicateRate { get; init; }
    public double ReorderRate { get; init; }
    public double LateRate { get; init; }
    public TimeSpan LateBy { get; init; } = TimeSpan.FromHours(6);
    public double MalformedRate { get; init; }
    public double OversizedRate { get; init; }
    public double ForeignTopicRate { get; init; }
    public double RestartRate { get; init; }
    /// <summary>Extra level samples the flooding device (the first pasture's first tank) sends with each of its own.</summary>
    public int FloodPerSample { get; init; }
}

internal sealed record SimulationOptions
{
    public required DateTimeOffset Start { get; init; }
    public required TimeSpan Duration { get; init; }
    /// <summary>Simulated seconds per real second; 0 = as fast as the sink takes them.</summary>
    public double Speed { get; init; }
    public long? BootEpoch { get; init; }
    public TimeSpan MaxClockDrift { get; init; }
    public HashSet<MessageKind> Kinds { get; init; } = [.. MessageKinds.All];
    /// <summary>The animal event types published (null: the profile's <c>animals.events</c>).</summary>
    public HashSet<Animals.AnimalEventType>? AnimalEvents { get; init; }
    /// <summary>Days simulated before the start and not published (null: the profile's warmupDays).</summary>
    public int? WarmupDays { get; init; }
    public FaultOptions Faults { get; init; } = new();
}

/// <summary>
/// Runs the fleet through simulated time: generates each local day, orders its events, paces them
/// against the (possibly accelerated) clock, applies fault switches and hands messages to a sink.
/// </summary>
internal sealed class SimulationRunner(FleetModel fleet, SimulationOptions options, TimeProvider timeProvider)
{
    private readonly List<(long ReleaseMs, OutboundMessage Message)> _late = [];
    private readonly Dictionary<int, OutboundMessage> _heldForReorder = [];
    private MessageFactory _factory = null!;

    /// <summary>Simulated time reached so far (Unix ms): the progress display reads it.</summary>
    public long SimulatedNowMs { get; private set; }

    public long Generated { get; private set; }

    public async Task RunAsync(IMessageSink sink, CancellationToken cancellationToken)
    {
        var startMs = options.Start.ToUnixTimeMilliseconds();
        var endMs = startMs + (long)options.Duration.TotalMilliseconds;
        _factory = new MessageFactory(fleet, options.BootEpoch ?? (startMs / 1000), options.MaxClockDrift);
        // Warm-up: the days before the start fill the tanks, tankers and silos the first published day carries over,
        // so that day is a steady-state day (milked, collected and received agree); nothing before the start is sent.
        var firstDay = DairySimulation.LocalDayOf(startMs);
        var warmup = Math.Max(0, options.WarmupDays ?? fleet.Profile.WarmupDays);
        var simulation = new DairySimulation(fleet)
        {
            ForcedIncidentDay = firstDay,
            PublishedFromMs = startMs,
            AnimalEvents = options.AnimalEvents ?? Animals.AnimalEventTypes.ParseSelection(fleet.Profile.Animals.Events),
        };
        var realStart = timeProvider.GetTimestamp();
        var carry = new List<SimEvent>();
        var floodDevice = fleet.Pastures.Count > 0 ? fleet.Pastures[0].Tanks[0].Index : -1;

        // One day past the end is generated too: a day's generation reports the pickups that came due in the last
        // hours before its midnight (tanks found full at the first sample), so without it the run's last day misses
        // them (a city day: 9,287 t collected of 10,003 t milked). Nothing at or after the end is sent.
        for (var day = firstDay.AddDays(-warmup); DairySimulation.LocalDayStartMs(day) < endMs + 86_400_000L; day = day.AddDays(1))
        {
            var events = simulation.GenerateDay(day);
            events.AddRange(carry);
            carry.Clear();
            events.Sort(static (x, y) => x.TimeMs != y.TimeMs ? x.TimeMs.CompareTo(y.TimeMs) : x.Order.CompareTo(y.Order));
            var dayEndMs = DairySimulation.LocalDayStartMs(day.AddDays(1));
            for (var i = 0; i < events.Count; i++)
            {
                var simEvent = events[i];
                if (simEvent.TimeMs >= dayEndMs)
                {
                    carry.Add(simEvent);
                    continue;
                }
                if (simEvent.TimeMs < startMs || simEvent.TimeMs >= endMs || !options.Kinds.Contains(MessageFactory.KindOf(simEvent.Type)))
                {
                    continue;
                }
                await PaceAsync(simEvent.TimeMs, startMs, realStart, cancellationToken).ConfigureAwait(false);
                SimulatedNowMs = simEvent.TimeMs;
                await ReleaseLateAsync(sink, simEvent.TimeMs, cancellationToken).ConfigureAwait(false);
                await EmitAsync(simEvent, sink, cancellationToken).ConfigureAwait(false);
                if (simEvent.DeviceIndex == floodDevice && simEvent.Type == SimEventType.TankLevel)
                {
                    for (var f = 0; f < options.Faults.FloodPerSample; f++)
                    {
                        await SendAsync(sink, _factory.Create(simEvent, FaultTag.Flood), cancellationToken).ConfigureAwait(false);
                    }
                }
            }
        }
        foreach (var held in _heldForReorder.Values)
        {
            await SendAsync(sink, held, cancellationToken).ConfigureAwait(false);
        }
        _heldForReorder.Clear();
        await ReleaseLateAsync(sink, long.MaxValue, cancellationToken).ConfigureAwait(false);
        SimulatedNowMs = endMs;
    }

    private async ValueTask PaceAsync(long eventMs, long startMs, long realStart, CancellationToken cancellationToken)
    {
        if (options.Speed <= 0)
        {
            return;
        }
        var dueAfter = TimeSpan.FromMilliseconds((eventMs - startMs) / options.Speed);
        var wait = dueAfter - timeProvider.GetElapsedTime(realStart);
        if (wait > TimeSpan.FromMilliseconds(2))
        {
            await Task.Delay(wait, timeProvider, cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask EmitAsync(SimEvent simEvent, IMessageSink sink, CancellationToken cancellationToken)
    {
        var faults = options.Faults;
        var device = simEvent.DeviceIndex;
        // Decisions are keyed by device and time so they do not depend on other devices' traffic.
        var rng = new DeterministicRandom(fleet.Seed, 11, device, simEvent.TimeMs ^ simEvent.Order);
        if (faults.RestartRate > 0 && rng.Chance(faults.RestartRate))
        {
            _factory.Restart(device, simEvent.TimeMs);
        }
        var late = faults.LateRate > 0 && rng.Chance(faults.LateRate);
        var reorder = !late && faults.ReorderRate > 0 && rng.Chance(faults.ReorderRate);
        var message = _factory.Create(simEvent, late ? FaultTag.Late : reorder ? FaultTag.Reordered : FaultTag.None);
        Generated++;

        if (late)
        {
            _late.Add((simEvent.TimeMs + (long)faults.LateBy.TotalMilliseconds, message));
        }
        else if (reorder && !_heldForReorder.ContainsKey(device))
        {
            _heldForReorder[device] = message;
        }
        else
        {
            await SendAsync(sink, message, cancellationToken).ConfigureAwait(false);
            if (_heldForReorder.Remove(device, out var held))
            {
                await SendAsync(sink, held, cancellationToken).ConfigureAwait(false);
            }
        }

        if (faults.DuplicateRate > 0 && rng.Chance(faults.DuplicateRate))
        {
            await SendAsync(sink, Copy(message, message.Topic, message.Payload, FaultTag.Duplicate), cancellationToken).ConfigureAwait(false);
        }
        if (faults.MalformedRate > 0 && rng.Chance(faults.MalformedRate))
        {
            var truncated = message.Payload.AsSpan(0, message.Payload.Length / 2).ToArray();
            await SendAsync(sink, Copy(message, message.Topic, truncated, FaultTag.Malformed), cancellationToken).ConfigureAwait(false);
        }
        if (faults.OversizedRate > 0 && rng.Chance(faults.OversizedRate))
        {
            await SendAsync(sink, Copy(message, message.Topic, Oversize(message.Payload), FaultTag.Oversized), cancellationToken).ConfigureAwait(false);
        }
        if (faults.ForeignTopicRate > 0 && fleet.Pastures.Count > 1 && rng.Chance(faults.ForeignTopicRate))
        {
            var victim = fleet.Pastures[(fleet.Pastures.FindIndex(p => p.Id == message.OwnerId) + 1 + fleet.Pastures.Count) % fleet.Pastures.Count];
            var topic = $"hohhot/v1/pasture/{victim.Id}/{message.DeviceId}/{MessageKinds.Name(message.Kind)}";
            await SendAsync(sink, Copy(message, topic, message.Payload, FaultTag.ForeignTopic), cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask ReleaseLateAsync(IMessageSink sink, long nowMs, CancellationToken cancellationToken)
    {
        for (var i = 0; i < _late.Count; i++)
        {
            if (_late[i].ReleaseMs <= nowMs)
            {
                var message = _late[i].Message;
                _late.RemoveAt(i--);
                await SendAsync(sink, message, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static ValueTask SendAsync(IMessageSink sink, OutboundMessage message, CancellationToken cancellationToken) =>
        sink.SendAsync(message, cancellationToken);

    private static OutboundMessage Copy(OutboundMessage message, string topic, byte[] payload, FaultTag fault) => new()
    {
        GatewayOwnerId = message.GatewayOwnerId, Topic = topic, Payload = payload, DeviceId = message.DeviceId, OwnerId = message.OwnerId,
        Kind = message.Kind, BootEpoch = message.BootEpoch, Seq = message.Seq, EventUnixMs = message.EventUnixMs, Kg = message.Kg,
        IsCollection = message.IsCollection, Fault = fault, PointUnixMs = message.PointUnixMs, Lot = message.Lot, Source = message.Source, Verdict = message.Verdict, Animal = message.Animal,
    };

    /// <summary>The same reading padded past the contract's 64 KiB limit with an unknown member.</summary>
    private static byte[] Oversize(byte[] payload)
    {
        var padding = new string('x', 70 * 1024);
        var text = Encoding.UTF8.GetString(payload, 0, payload.Length - 1) + ",\"padding\":\"" + padding + "\"}";
        return Encoding.UTF8.GetBytes(text);
    }
}
