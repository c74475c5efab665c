using System.Text.Json;
using HohhotCluster.FirmwareSim.Animals;
using HohhotCluster.FirmwareSim.Publishing;
using HohhotCluster.Telemetry.Animals;
using HohhotCluster.Telemetry.Audit;
using HohhotCluster.Telemetry.Audit.Quality;
using HohhotCluster.Telemetry.Ingestion;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Traceability;

namespace HohhotCluster.FirmwareSim.Tests;

/// <summary>
/// Every message the simulator generates is accepted by the platform's own parser (ingestion's envelope and every
/// kind the platform registers), and the simulator's list of kind names is the platform's registry. The kinds come
/// from the platform's own registrations with real stores that are never opened (a data source to a port nothing
/// listens on, an Orleans client never started): parsing is pure, so a kind that reached for a store while parsing
/// would fail here.
/// </summary>
public class PlatformAgreementTests
{
    private static readonly Lazy<List<OutboundMessage>> s_demo = new(() => TestFleets.Run(TestFleets.Generate("demo", seed: 7), TimeSpan.FromDays(4)));

    private static readonly Lazy<TelemetryKindRegistry> s_registry = new(() => ParsingOnlyKinds.Registry((services, configuration) =>
    {
        services.AddTraceability(configuration);
        services.AddTelemetryAudits(configuration);
        services.AddTelemetryAnimals();
    }));

    internal static TelemetryPayloadParser PlatformParser(DateTimeOffset now) =>
        new(new FixedClock(now), new IngestionOptions(), KindRuntimes.ForParsing(s_registry.Value));

    [Fact]
    public void The_simulators_kind_names_are_the_platforms_registry()
    {
        Assert.Equal(
            s_registry.Value.Names,
            MessageKinds.All.Select(MessageKinds.Name).Distinct().Order(StringComparer.Ordinal).ToList());
    }

    [Fact]
    public void Every_generated_message_of_every_kind_is_accepted_by_the_platforms_parsers()
    {
        var messages = s_demo.Value;
        var parser = PlatformParser(DateTimeOffset.FromUnixTimeMilliseconds(messages.Max(m => m.EventUnixMs)).AddMinutes(1));
        var perKind = new Dictionary<MessageKind, int>();
        foreach (var message in messages)
        {
            Assert.True(parser.TryParse(message.Topic, message.Payload, out var reading, out var rejection),
                $"{message.Topic} rejected: {rejection.Reason} {rejection.Detail}\n{System.Text.Encoding.UTF8.GetString(message.Payload)}");
            Assert.Equal(message.DeviceId, reading!.Key.DeviceId);
            Assert.Equal(message.Seq, reading.Key.Sequence);
            Assert.Equal(MessageKinds.Name(message.Kind), reading.Record.Kind.Name);
            perKind[message.Kind] = perKind.GetValueOrDefault(message.Kind) + 1;
        }
        foreach (var kind in MessageKinds.All)
        {
            Assert.True(perKind.GetValueOrDefault(kind) > 0, $"no {MessageKinds.Name(kind)} message in four demo days");
        }
    }

    [Fact]
    public void The_platform_reads_the_same_chain_numbers_the_simulator_wrote()
    {
        var messages = s_demo.Value;
        var parser = PlatformParser(DateTimeOffset.FromUnixTimeMilliseconds(messages.Max(m => m.EventUnixMs)).AddMinutes(1));
        foreach (var message in messages.Where(m => m.Kind is MessageKind.TankerPickup or MessageKind.SiloTransfer or MessageKind.Production or MessageKind.Quality))
        {
            Assert.True(parser.TryParse(message.Topic, message.Payload, out var reading, out _));
            if (reading!.Record.TryGet<TankerPickupRecord>(out var pickup))
            {
                Assert.Equal((message.Lot, message.Source, message.Kg), (pickup.TankerLoadId, pickup.LotId, pickup.Kg));
            }
            else if (reading.Record.TryGet<SiloTransferRecord>(out var transfer))
            {
                Assert.Equal(message.Lot, transfer.SiloBatchId);
                Assert.Equal((message.Source!, message.Kg), Assert.Single(transfer.Receipts));
            }
            else if (reading.Record.TryGet<ProductionRecord>(out var production))
            {
                Assert.Equal(message.Lot, production.ProductLotId);
                Assert.Equal((message.Source!, message.Kg), Assert.Single(production.Silos));
            }
            else if (reading.Record.TryGet<QualitySample>(out var sample))
            {
                Assert.Equal(message.Lot, sample.LotId);
                Assert.Equal(message.PointUnixMs, sample.SampledAt.ToUnixTimeMilliseconds());
                Assert.Equal(message.Topic.Contains("/plant/", StringComparison.Ordinal) ? "tanker_load" : "bulk_tank_lot", sample.LotKind);
                // Supervisory samples come from the regulator's lab, naming the pasture; never from the pasture itself.
                Assert.Equal(message.Topic.Contains("/lab/", StringComparison.Ordinal), sample.SampleKind == "supervisory");
                Assert.Equal(sample.SampleKind == "supervisory" ? message.OwnerId : null, sample.SampledPastureId);
            }
            else
            {
                Assert.Fail("unexpected record of kind " + reading.Record.Kind);
            }
        }
    }

    [Fact]
    public void Goat_pastures_samples_and_health_records_name_goat_milk()
    {
        foreach (var message in s_demo.Value.Where(m => m.OwnerId == "P150123002" && m.Kind is MessageKind.Quality or MessageKind.Health))
        {
            Assert.Equal("goat", TestFleets.Parse(message).GetProperty("species").GetString());
        }
        var goatLoads = s_demo.Value.Where(m => m.Kind == MessageKind.TankerPickup && m.OwnerId == "P150123002").Select(m => m.Lot).ToHashSet();
        var plantSamples = s_demo.Value.Where(m => m.Kind == MessageKind.Quality && goatLoads.Contains(m.Lot)).ToList();
        Assert.NotEmpty(plantSamples);
        Assert.All(plantSamples, m => Assert.Equal("goat", TestFleets.Parse(m).GetProperty("species").GetString()));
        // Goat milk travels apart: no tanker load mixes goat and cow pastures.
        var cowLoads = s_demo.Value.Where(m => m.Kind == MessageKind.TankerPickup && m.OwnerId != "P150123002").Select(m => m.Lot).ToHashSet();
        Assert.Empty(goatLoads.Intersect(cowLoads));
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
