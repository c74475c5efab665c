using System.Text.Json;
using HohhotCluster.FirmwareSim.Publishing;

namespace HohhotCluster.FirmwareSim.Tests;

/// <summary>Mass balance along the chain, the seeded quality incidents and the farm records, from the messages themselves.</summary>
public class ChainAndQualityTests
{
    private static readonly Lazy<List<OutboundMessage>> s_demo = new(() => TestFleets.Run(TestFleets.DemoWithEveryIncident(seed: 3), TimeSpan.FromDays(10)));

    private static IEnumerable<(OutboundMessage Message, JsonElement Payload)> Of(MessageKind kind) =>
        s_demo.Value.Where(m => m.Kind == kind).Select(m => (m, TestFleets.Parse(m)));

    [Fact]
    public void Mass_balance_holds_from_collection_through_silo_and_production()
    {
        // Collected = picked up, lot by lot.
        var collected = Of(MessageKind.BulkTank).Where(x => x.Message.IsCollection)
            .ToDictionary(x => x.Payload.GetProperty("lotId").GetString()!, x => x.Payload.GetProperty("collectedKg").GetDouble());
        var pickups = Of(MessageKind.TankerPickup).ToList();
        Assert.Equal(collected.Count, pickups.Count);
        foreach (var (_, pickup) in pickups)
        {
            Assert.Equal(collected[pickup.GetProperty("lotId").GetString()!], pickup.GetProperty("kg").GetDouble());
        }

        // Received = picked up less 0.05-0.2 % shrink, except a watered load (weighbridge above the pickups).
        var pickedUp = pickups.GroupBy(x => x.Message.Lot!).ToDictionary(g => g.Key, g => g.Sum(x => x.Message.Kg));
        var failed = Of(MessageKind.Quality).Where(x => x.Message.Verdict == "fail").Select(x => x.Message.Lot).ToHashSet();
        var intakes = Of(MessageKind.PlantIntake).ToDictionary(x => x.Message.Lot!, x => x.Message.Kg);
        var watered = 0;
        foreach (var (load, netKg) in intakes.Where(i => pickedUp.ContainsKey(i.Key)))
        {
            var ratio = netKg / pickedUp[load];
            if (ratio > 1.005)
            {
                // Water added: a crude amount fails acceptance; 1-4 % may pass it (the hard case).
                watered++;
                if (ratio > 1.05)
                {
                    Assert.Contains(load, failed);
                }
            }
            else
            {
                Assert.InRange(netKg, (pickedUp[load] * 0.998) - 0.1, (pickedUp[load] * 0.9995) + 0.1); // shrink, weighed to 0.1 kg
            }
        }
        Assert.True(watered >= 1, "the demo's forced watered load");

        // Every accepted load goes whole into one silo batch; a load that failed its acceptance sample never does.
        var transfers = Of(MessageKind.SiloTransfer).ToList();
        Assert.Equal(transfers.Count, transfers.Select(t => t.Message.Source).Distinct().Count());
        foreach (var (transfer, _) in transfers)
        {
            Assert.DoesNotContain(transfer.Source, failed);
            Assert.Equal(intakes[transfer.Source!], transfer.Kg);
        }
        var lastProduction = Of(MessageKind.Production).Max(x => x.Message.EventUnixMs);
        Assert.All(intakes.Keys.Where(load => !failed.Contains(load) && intakes[load] > 0 && s_demo.Value.First(m => m.Lot == load && m.Kind == MessageKind.PlantIntake).EventUnixMs < lastProduction - (12 * 3_600_000L)),
            load => Assert.Contains(transfers, t => t.Message.Source == load));

        // Every batch is used whole (its lots' kg sum to what was blended) and output follows the plant's yield.
        var blended = transfers.GroupBy(t => t.Message.Lot!).ToDictionary(g => g.Key, g => g.Sum(t => t.Message.Kg));
        var used = Of(MessageKind.Production).GroupBy(p => p.Message.Source!).ToDictionary(g => g.Key, g => g.Sum(p => p.Message.Kg));
        Assert.NotEmpty(used);
        foreach (var (batch, kg) in used)
        {
            Assert.Equal(blended[batch], kg, 0.5);
        }
        foreach (var (_, production) in Of(MessageKind.Production))
        {
            var input = production.GetProperty("silos")[0].GetProperty("kg").GetDouble();
            Assert.InRange(production.GetProperty("outputKg").GetDouble() / input, 0.98, 1.0);
        }
    }

    [Fact]
    public void Quality_failures_are_rare_but_every_kind_is_present_for_the_seed()
    {
        var samples = Of(MessageKind.Quality).ToList();
        var failing = samples.Where(s => s.Message.Verdict == "fail").ToList();
        Assert.InRange(failing.Count, 1, samples.Count / 10);

        static double Item(JsonElement sample, string name) =>
            sample.GetProperty("items").EnumerateArray().Where(i => i.GetProperty("item").GetString() == name).Select(i => i.GetProperty("value").GetDouble()).DefaultIfEmpty(double.NaN).First();
        static bool Positive(JsonElement sample) =>
            sample.GetProperty("items").EnumerateArray().Any(i => i.GetProperty("item").GetString() == "antibiotic_residue" && i.GetProperty("result").GetString() == "positive");

        Assert.Contains(failing, s => Positive(s.Payload));
        Assert.Contains(failing, s => Item(s.Payload, "total_bacteria") > 2_000_000);
        Assert.Contains(failing, s => Item(s.Payload, "aflatoxin_m1") > 0.5); // the demo starts on 29 November: winter
        var wateredSample = Assert.Single(failing, s => Item(s.Payload, "freezing_point") > -0.500);
        Assert.Equal("plant_acceptance", wateredSample.Payload.GetProperty("sampleKind").GetString());
        Assert.True(Item(wateredSample.Payload, "relative_density") < 1.0290, "watered milk is lighter");

        // Honest samples sit in the typical ranges of domain.md.
        foreach (var (message, payload) in samples.Where(s => s.Message.Verdict == "pass"))
        {
            Assert.InRange(Item(payload, "freezing_point"), -0.570, -0.510); // goats -0.570..-0.550, cows -0.545..-0.510
            Assert.InRange(Item(payload, "total_bacteria"), 5_000, 200_000);
            Assert.InRange(Item(payload, "relative_density"), 1.028, 1.0325);
        }
        Assert.Contains(samples, s => s.Payload.GetProperty("sampleKind").GetString() == "supervisory");
        Assert.Contains(samples, s => s.Payload.GetProperty("sampleKind").GetString() == "pasture_self_check");

        // The cooling failure shows on the tank's own thermometer before the lab sees it.
        Assert.Contains(Of(MessageKind.BulkTank), t => t.Payload.GetProperty("event").GetString() == "level" && t.Payload.GetProperty("temperatureC").GetDouble() > 8);
    }

    [Fact]
    public void Manure_utilisation_is_90_to_97_percent_except_the_demo_pasture_set_below()
    {
        foreach (var pasture in Of(MessageKind.Manure).GroupBy(m => m.Message.OwnerId))
        {
            var produced = pasture.Sum(m => m.Payload.GetProperty("producedKg").GetDouble());
            var used = pasture.Sum(m => m.Payload.GetProperty("appliedKg").GetDouble() + m.Payload.GetProperty("treatedKg").GetDouble());
            Assert.Equal(10, pasture.Count());
            Assert.All(pasture, m => Assert.True(m.Payload.GetProperty("collectedKg").GetDouble() >= m.Payload.GetProperty("appliedKg").GetDouble() + m.Payload.GetProperty("treatedKg").GetDouble()));
            if (pasture.Key == "P150123002")
            {
                Assert.InRange(used / produced, 0.80, 0.89);
            }
            else
            {
                Assert.InRange(used / produced, 0.90, 0.975);
            }
        }
    }

    [Fact]
    public void Health_records_give_immunisation_near_full_and_antibody_rates_above_70_percent()
    {
        var health = Of(MessageKind.Health).ToList();
        var census = health.Where(h => h.Payload.GetProperty("event").GetString() == "census").ToList();
        Assert.All(census, c => Assert.True(c.Payload.GetProperty("due").GetInt32() <= c.Payload.GetProperty("inStock").GetInt32()));
        foreach (var pasture in health.GroupBy(h => (h.Message.OwnerId, Programme: h.Payload.GetProperty("programme").GetString())))
        {
            var due = pasture.Where(h => h.Payload.GetProperty("event").GetString() == "census").Average(h => h.Payload.GetProperty("due").GetInt32());
            var vaccinated = pasture.Where(h => h.Payload.GetProperty("event").GetString() == "vaccination").Sum(h => h.Payload.GetProperty("vaccinated").GetInt32());
            Assert.InRange(vaccinated / due * 3, 0.6, 1.4); // ten days of a thirty-day round
        }
        var titres = health.Where(h => h.Payload.GetProperty("event").GetString() == "antibody_test")
            .SelectMany(h => h.Payload.GetProperty("titres").EnumerateArray().Select(t => t.GetInt32())).ToList();
        Assert.NotEmpty(titres);
        Assert.InRange(titres.Count(t => t >= 128) / (double)titres.Count, 0.70, 0.97);
    }

    [Fact]
    public void New_devices_have_their_own_epoch_and_contiguous_sequence()
    {
        foreach (var device in s_demo.Value.Where(m => m.Kind is MessageKind.Quality or MessageKind.Manure or MessageKind.Health or MessageKind.SiloTransfer or MessageKind.Production or MessageKind.TankerLog)
            .GroupBy(m => m.DeviceId))
        {
            Assert.Equal(Enumerable.Range(1, device.Count()).Select(i => (long)i), device.Select(m => m.Seq));
            Assert.Single(device.Select(m => m.BootEpoch).Distinct());
        }
        var registry = HohhotCluster.FirmwareSim.Fleet.RegistryDocumentBuilder.Build(TestFleets.Generate("demo", seed: 3));
        foreach (var kind in new[] { "quality_lab", "manure_meter", "health_records", "silo_controller", "production_system", "tanker_logger" })
        {
            Assert.Contains(registry.Devices, d => d.Kind == kind);
        }
        Assert.Equal(3, registry.Devices.Count(d => d.Kind == "manure_meter"));
        Assert.Contains(registry.Devices, d => d.Kind == "herd_management");
        Assert.Equal("milking,bulk_tank,plant_intake,tanker_pickup,silo_transfer,production,quality,manure,health,tmr,feed_stock,tanker_log,animal_event",
            string.Join(",", MessageKinds.All.Select(MessageKinds.Name)));
    }
}
