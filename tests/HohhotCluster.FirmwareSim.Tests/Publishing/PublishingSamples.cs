using HohhotCluster.FirmwareSim.Fleet;
using HohhotCluster.FirmwareSim.Publishing;

namespace HohhotCluster.FirmwareSim.Tests.Publishing;

/// <summary>Messages of a generated demo day, for the publishing tests (generated once).</summary>
internal static class PublishingSamples
{
    public const long Seed = 8101;

    private static readonly Lazy<(FleetModel Fleet, List<OutboundMessage> Messages)> s_day = new(() =>
    {
        var fleet = TestFleets.Generate("demo", Seed);
        return (fleet, TestFleets.Run(fleet, TimeSpan.FromDays(1)));
    });

    public static FleetModel Fleet => s_day.Value.Fleet;

    public static IReadOnlyList<OutboundMessage> Day => s_day.Value.Messages;

    /// <summary>The first <paramref name="count"/> messages of the demo day's first gateway.</summary>
    public static List<OutboundMessage> OfOneGateway(int count)
    {
        var owner = Day[0].GatewayOwnerId;
        var messages = Day.Where(m => m.GatewayOwnerId == owner).Take(count).ToList();
        Assert.Equal(count, messages.Count);
        return messages;
    }

    /// <summary>The same reading under another topic or fault tag, as the simulator's fault copies are made.</summary>
    public static OutboundMessage Copy(OutboundMessage message, string? topic = null, FaultTag? fault = null, byte[]? payload = null) => new()
    {
        GatewayOwnerId = message.GatewayOwnerId, Topic = topic ?? message.Topic, Payload = payload ?? message.Payload, DeviceId = message.DeviceId,
        OwnerId = message.OwnerId, Kind = message.Kind, BootEpoch = message.BootEpoch, Seq = message.Seq, EventUnixMs = message.EventUnixMs,
        Kg = message.Kg, IsCollection = message.IsCollection, Fault = fault ?? message.Fault, PointUnixMs = message.PointUnixMs,
        Lot = message.Lot, Source = message.Source, Verdict = message.Verdict,
    };

    public static IEnumerable<PendingMessage> Numbered(IEnumerable<OutboundMessage> messages) => messages.Select((m, i) => new PendingMessage(i, m));
}
