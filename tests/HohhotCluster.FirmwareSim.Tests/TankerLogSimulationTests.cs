using System.Text.Json;
using HohhotCluster.FirmwareSim.Publishing;
using HohhotCluster.Telemetry.Traceability.Tanker;

namespace HohhotCluster.FirmwareSim.Tests;

/// <summary>The plants' tanker loggers in the demo: consistent with the chain's pickups and intakes, and one cooling fault.</summary>
public class TankerLogSimulationTests
{
    private const long MinuteMs = 60_000;
    private static readonly Lazy<List<OutboundMessage>> s_demo = new(() => TestFleets.Run(TestFleets.Generate("demo", seed: 5), TimeSpan.FromDays(2)));

    private static List<(OutboundMessage Message, TankerLogRecord Record)> Logs() =>
    [
        .. s_demo.Value.Where(m => m.Kind == MessageKind.TankerLog).Select(m =>
        {
            using var document = JsonDocument.Parse(m.Payload);
            Assert.True(TankerLogPayload.TryParse(document.RootElement, out var record, out var rejection), $"{rejection.Reason} {rejection.Detail}");
            return (m, record);
        }),
    ];

    [Fact]
    public void Every_logged_load_is_read_every_5_minutes_between_its_first_pickup_and_its_intake()
    {
        var pickups = s_demo.Value.Where(m => m.Kind == MessageKind.TankerPickup).GroupBy(m => m.Lot!).ToDictionary(g => g.Key, g => g.ToList());
        var intakes = s_demo.Value.Where(m => m.Kind == MessageKind.PlantIntake).ToDictionary(m => m.Lot!);
        var logs = Logs();
        Assert.NotEmpty(logs);
        // Every load weighed in on the first day was logged (each plant's tankers carry loggers).
        var firstDay = intakes.Values.Where(i => i.EventUnixMs < TestFleets.Start.AddDays(1).ToUnixTimeMilliseconds()).Select(i => i.Lot!).ToHashSet();
        Assert.Superset(firstDay, logs.Select(l => l.Record.TankerLoadId).ToHashSet());
        // Clocks drift per device (seeded, +/- 30 s by default): compare within a minute.
        foreach (var group in logs.GroupBy(l => l.Record.TankerLoadId))
        {
            var slips = pickups[group.Key];
            var intake = intakes[group.Key];
            var times = group.Select(l => l.Message.EventUnixMs).Order().ToList();
            Assert.InRange(times[0], slips.Min(p => p.EventUnixMs) - MinuteMs, slips.Min(p => p.EventUnixMs) + MinuteMs);
            Assert.True(times[^1] <= intake.EventUnixMs + MinuteMs, $"{group.Key}: a reading after the intake");
            Assert.True(intake.EventUnixMs - times[^1] <= 6 * MinuteMs, $"{group.Key}: the logger stopped early");
            Assert.All(times.Zip(times.Skip(1)), pair => Assert.Equal(5 * MinuteMs, pair.Second - pair.First));
            Assert.All(group, l => Assert.Equal(group.First().Message.DeviceId, l.Message.DeviceId));
            Assert.All(group, l => Assert.Equal(intake.OwnerId, l.Message.OwnerId));
            // A compartment is read once its pickup is in the tanker: never more compartments than slips signed by then.
            foreach (var (message, record) in group)
            {
                var signed = slips.Count(p => p.EventUnixMs <= message.EventUnixMs + MinuteMs);
                Assert.InRange(record.Compartments.Count, 1, Math.Min(16, signed));
                Assert.InRange(record.Position.LatitudeDeg, 37.0, 43.0);
                Assert.InRange(record.Position.LongitudeDeg, 106.0, 116.0);
            }
        }
    }

    [Fact]
    public void The_demos_forced_cooling_fault_keeps_one_compartment_above_7_C_for_more_than_30_minutes()
    {
        var limits = new TankerLogOptions().Limits;
        var hot = 0;
        var seen = new List<string>();
        foreach (var group in Logs().GroupBy(l => l.Record.TankerLoadId))
        {
            var entries = group.Select(l => new TankerLogEntry(l.Message.DeviceId, l.Message.BootEpoch, l.Message.Seq, group.Key, l.Message.OwnerId,
                DateTimeOffset.FromUnixTimeMilliseconds(l.Message.EventUnixMs), l.Record.Position, l.Record.SpeedKmh, l.Record.TankerPlate, l.Record.Compartments)).ToList();
            var road = TankerRoad.Summarise(group.Key, entries, null, null, null, limits);
            hot += road.LongestAboveLimit > TimeSpan.FromMinutes(30) ? 1 : 0;
            seen.Add($"{group.Key}: {entries.Count} readings, max {road.Compartments.Max(c => c.MaxC):0.0} °C, above {road.LongestAboveLimit.TotalMinutes:0} min");
        }

        Assert.True(hot >= 1, "the demo forces a tanker cooling fault on its first day: " + string.Join("; ", seen));
    }
}
