using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using HohhotCluster.FirmwareSim.Fleet;
using HohhotCluster.FirmwareSim.Publishing;

namespace HohhotCluster.FirmwareSim.Simulation;

/// <summary>
/// Turns simulated events into contract payloads (docs/mqtt-contract.md). Owns every device's
/// boot epoch, sequence number and clock drift.
/// </summary>
internal sealed partial class MessageFactory
{
    private static readonly JsonWriterOptions s_writerOptions = new()
    {
        // Plates such as 蒙A12345 stay readable UTF-8 instead of \u escapes.
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    private readonly FleetModel _fleet;
    private readonly long[] _epoch;
    private readonly long[] _seq;
    private readonly long[] _driftMs;
    private readonly ArrayBufferWriter<byte> _buffer = new(1024);
    private readonly Utf8JsonWriter _writer;

    public MessageFactory(FleetModel fleet, long bootEpoch, TimeSpan maxClockDrift)
    {
        _fleet = fleet;
        _epoch = new long[fleet.Devices.Count];
        _seq = new long[fleet.Devices.Count];
        _driftMs = new long[fleet.Devices.Count];
        Array.Fill(_epoch, bootEpoch);
        var maxDriftMs = (long)maxClockDrift.TotalMilliseconds;
        for (var d = 0; d < _driftMs.Length && maxDriftMs > 0; d++)
        {
            var rng = new DeterministicRandom(fleet.Seed, 10, d);
            _driftMs[d] = (long)rng.Uniform(-maxDriftMs, maxDriftMs) / 1000 * 1000;
        }
        _writer = new Utf8JsonWriter(_buffer, s_writerOptions);
    }

    public long EpochOf(int deviceIndex) => _epoch[deviceIndex];

    /// <summary>The device reboots: a new epoch (its boot time, strictly increasing) and seq from 1.</summary>
    public void Restart(int deviceIndex, long atUnixMs)
    {
        _epoch[deviceIndex] = Math.Max(_epoch[deviceIndex] + 1, atUnixMs / 1000);
        _seq[deviceIndex] = 0;
    }

    public static MessageKind KindOf(SimEventType type) => type switch
    {
        SimEventType.Milking => MessageKind.Milking,
        SimEventType.PlantIntake => MessageKind.PlantIntake,
        SimEventType.TankerPickup => MessageKind.TankerPickup,
        SimEventType.SiloTransfer => MessageKind.SiloTransfer,
        SimEventType.Production => MessageKind.Production,
        SimEventType.Quality => MessageKind.Quality,
        SimEventType.Manure => MessageKind.Manure,
        SimEventType.Health => MessageKind.Health,
        SimEventType.Tmr => MessageKind.Tmr,
        SimEventType.FeedStock => MessageKind.FeedStock,
        SimEventType.TankerLog => MessageKind.TankerLog,
        SimEventType.AnimalEvent => MessageKind.AnimalEvent,
        _ => MessageKind.BulkTank,
    };

    public OutboundMessage Create(in SimEvent simEvent, FaultTag fault = FaultTag.None)
    {
        var device = _fleet.Devices[simEvent.DeviceIndex];
        var seq = ++_seq[device.Index];
        var epoch = _epoch[device.Index];
        var eventMs = simEvent.TimeMs + _driftMs[device.Index];
        var kind = KindOf(simEvent.Type);

        _buffer.ResetWrittenCount();
        _writer.Reset(_buffer);
        _writer.WriteStartObject();
        _writer.WriteString("deviceId", device.Id);
        _writer.WriteNumber("bootEpoch", epoch);
        _writer.WriteNumber("seq", seq);
        WriteTime("eventTime", eventMs, local: true);
        var kg = 0.0;
        string? lot = null, source = null, verdict = null;
        AnimalFacts? animal = null;
        long? pointMs = null;
        switch (simEvent.Type)
        {
            case SimEventType.Milking:
                kg = simEvent.Kg;
                WriteMilking(simEvent, device, eventMs);
                animal = MilkingFacts(simEvent);
                break;
            case SimEventType.AnimalEvent:
                animal = WriteAnimalEvent((Animals.AnimalLifeEvent)simEvent.Detail!, device.Id, epoch, seq);
                break;
            case SimEventType.TankFilling:
                _writer.WriteString("tankId", device.TankId);
                _writer.WriteString("event", "filling");
                break;
            case SimEventType.TankLevel:
                _writer.WriteString("tankId", device.TankId);
                _writer.WriteString("event", "level");
                _writer.WriteNumber("volumeL", simEvent.VolumeL);
                _writer.WriteNumber("temperatureC", simEvent.TemperatureC);
                break;
            case SimEventType.TankCollection:
                var collection = (TankCollection)simEvent.Detail!;
                kg = collection.Kg;
                lot = collection.LotId; // every lot the run collected: verify compares the platform's unfit lots with these
                if (collection.WithdrawalMilkings + collection.ColostrumMilkings > 0)
                {
                    animal = new AnimalFacts { WithdrawalMilkings = collection.WithdrawalMilkings, ColostrumMilkings = collection.ColostrumMilkings };
                }
                _writer.WriteString("tankId", device.TankId);
                _writer.WriteString("event", "collection");
                _writer.WriteString("lotId", collection.LotId);
                _writer.WriteNumber("collectedKg", collection.Kg);
                _writer.WriteNumber("temperatureC", collection.TemperatureC);
                if (collection.TankerLoadId is { } loadId)
                {
                    _writer.WriteString("tankerLoadId", loadId);
                }
                break;
            case SimEventType.PlantIntake:
                var load = (TankerLoad)simEvent.Detail!;
                kg = load.NetKg;
                _writer.WriteString("tankerLoadId", load.Id);
                _writer.WriteString("tankerPlate", load.Plate);
                _writer.WriteNumber("netKg", load.NetKg);
                _writer.WriteNumber("temperatureC", load.TemperatureC);
                _writer.WriteString("siloId", load.SiloId);
                lot = load.Id;
                break;
            case SimEventType.TankerPickup:
                var pickup = (TankCollection)simEvent.Detail!;
                var tanker = pickup.Load!;
                kg = pickup.Kg;
                (lot, source) = (tanker.Id, pickup.LotId);
                _writer.WriteString("lotId", pickup.LotId);
                _writer.WriteString("tankerLoadId", tanker.Id);
                _writer.WriteNumber("kg", pickup.Kg);
                _writer.WriteNumber("temperatureC", pickup.TemperatureC);
                _writer.WriteString("tankerPlate", tanker.Plate);
                _writer.WriteString("driver", tanker.Driver);
                _writer.WriteString("permit", tanker.Permit);
                if (pickup.Compartment is >= 1 and <= 16)
                {
                    _writer.WriteNumber("compartment", pickup.Compartment);
                }
                break;
            case SimEventType.SiloTransfer:
                var transfer = (SiloTransferRecord)simEvent.Detail!;
                kg = transfer.Kg;
                (lot, source) = (transfer.SiloBatchId, transfer.TankerLoadId);
                _writer.WriteString("siloBatchId", transfer.SiloBatchId);
                _writer.WriteString("siloId", transfer.SiloId);
                _writer.WriteStartArray("receipts");
                _writer.WriteStartObject();
                _writer.WriteString("tankerLoadId", transfer.TankerLoadId);
                _writer.WriteNumber("kg", transfer.Kg);
                _writer.WriteEndObject();
                _writer.WriteEndArray();
                break;
            case SimEventType.Production:
                var production = (ProductionRecord)simEvent.Detail!;
                kg = production.UsedKg;
                (lot, source) = (production.ProductLotId, production.SiloBatchId);
                _writer.WriteString("productLotId", production.ProductLotId);
                _writer.WriteString("product", production.Product);
                _writer.WriteString("productCategory", production.ProductCategory);
                _writer.WriteString("line", production.Line);
                _writer.WriteNumber("outputKg", production.OutputKg);
                _writer.WriteStartArray("silos");
                _writer.WriteStartObject();
                _writer.WriteString("siloBatchId", production.SiloBatchId);
                _writer.WriteNumber("kg", production.UsedKg);
                _writer.WriteEndObject();
                _writer.WriteEndArray();
                break;
            case SimEventType.Quality:
                var sample = (QualitySampleRecord)simEvent.Detail!;
                pointMs = sample.SampledAtMs + _driftMs[device.Index];
                (lot, verdict) = (sample.LotId, sample.Suspect ? "suspect" : sample.Fails ? "fail" : "pass");
                WriteQuality(sample, pointMs.Value);
                break;
            case SimEventType.Manure:
                var manure = (ManureRecord)simEvent.Detail!;
                Span<char> date = stackalloc char[10];
                manure.Day.TryFormat(date, out _, "yyyy-MM-dd", CultureInfo.InvariantCulture);
                _writer.WriteString("localDate", date);
                _writer.WriteNumber("producedKg", manure.ProducedKg);
                _writer.WriteNumber("collectedKg", manure.CollectedKg);
                _writer.WriteNumber("appliedKg", manure.AppliedKg);
                _writer.WriteNumber("treatedKg", manure.TreatedKg);
                _writer.WriteString("treatment", manure.Treatment);
                break;
            case SimEventType.Health:
                WriteHealth((HealthRecord)simEvent.Detail!);
                break;
            case SimEventType.Tmr:
                kg = simEvent.Kg;
                WriteTmr(simEvent.Detail!);
                break;
            case SimEventType.FeedStock:
                WriteFeedStock((FeedStockSimRecord)simEvent.Detail!);
                break;
            case SimEventType.TankerLog:
                var log = (TankerLogReading)simEvent.Detail!;
                lot = log.Load.Id;
                _writer.WriteString("tankerLoadId", log.Load.Id);
                _writer.WriteString("tankerPlate", log.Load.Plate);
                _writer.WriteStartArray("compartments");
                for (var c = 0; c < log.Compartments.Length; c++)
                {
                    _writer.WriteStartObject();
                    _writer.WriteNumber("compartment", log.Compartments[c]);
                    _writer.WriteNumber("temperatureC", Math.Round(log.TemperaturesC[c], 1));
                    _writer.WriteEndObject();
                }
                _writer.WriteEndArray();
                _writer.WriteNumber("latitude", Math.Round(log.LatitudeDeg, 5));
                _writer.WriteNumber("longitude", Math.Round(log.LongitudeDeg, 5));
                _writer.WriteNumber("speedKmh", Math.Round(log.SpeedKmh, 1));
                break;
        }
        _writer.WriteEndObject();
        _writer.Flush();

        return new OutboundMessage
        {
            GatewayOwnerId = device.Gateway.OwnerId,
            Topic = device.TopicPrefix + MessageKinds.Name(kind),
            Payload = _buffer.WrittenSpan.ToArray(),
            DeviceId = device.Id,
            // A lab's supervisory sample counts for the pasture it audits (the platform stores it there).
            OwnerId = simEvent.Type == SimEventType.Quality && simEvent.Detail is QualitySampleRecord { SampledPastureId: { } audited } ? audited : device.Gateway.OwnerId,
            Kind = kind,
            BootEpoch = epoch,
            Seq = seq,
            EventUnixMs = eventMs,
            Kg = Math.Round(kg, 1),
            IsCollection = simEvent.Type == SimEventType.TankCollection,
            Fault = fault,
            PointUnixMs = pointMs,
            Lot = lot,
            Source = source,
            Verdict = verdict,
            Animal = animal,
        };
    }

    /// <summary>A <c>tmr</c> body (docs/mqtt-contract.md, "Feeding kinds"): the ICAR members as ICAR writes them.</summary>
    private void WriteTmr(object detail)
    {
        switch (detail)
        {
            case TmrRationRecord r:
                _writer.WriteString("event", "ration");
                _writer.WriteStartArray("herdIds");
                foreach (var herd in r.HerdIds)
                {
                    _writer.WriteStringValue(herd);
                }
                _writer.WriteEndArray();
                _writer.WriteNumber("rationVersion", r.Ration.Version);
                _writer.WriteStartObject("ration");
                _writer.WriteString("resourceType", "icarRationResource");
                _writer.WriteString("id", r.Ration.Id);
                _writer.WriteString("name", r.Ration.Name);
                _writer.WriteBoolean("active", true);
                _writer.WriteStartArray("feeds");
                foreach (var (feedId, share, _) in r.Ration.Feeds)
                {
                    _writer.WriteStartObject();
                    WriteFeedId(feedId);
                    _writer.WriteNumber("percentage", Math.Round(share * 100, 2));
                    _writer.WriteEndObject();
                }
                _writer.WriteEndArray();
                _writer.WriteEndObject();
                break;
            case TmrLoadRecord l:
                _writer.WriteString("event", "load");
                _writer.WriteString("loadId", l.LoadId);
                _writer.WriteString("herdId", l.HerdId);
                _writer.WriteString("rationId", l.Ration.Id);
                _writer.WriteNumber("rationVersion", l.Ration.Version);
                _writer.WriteStartArray("ingredients");
                foreach (var i in l.Ingredients)
                {
                    _writer.WriteStartObject();
                    WriteFeedId(i.FeedId);
                    _writer.WriteNumber("recipeKg", i.RecipeKg);
                    _writer.WriteNumber("loadedKg", i.LoadedKg);
                    _writer.WriteNumber("dryMatterPercent", i.DryMatterPercent);
                    if (i.Origin is { } origin)
                    {
                        _writer.WriteString("origin", origin);
                    }
                    _writer.WriteEndObject();
                }
                _writer.WriteEndArray();
                break;
            case TmrDeliveryRecord d:
                _writer.WriteString("event", "delivery");
                _writer.WriteString("herdId", d.HerdId);
                _writer.WriteString("pen", d.Pen);
                _writer.WriteString("loadId", d.LoadId);
                _writer.WriteNumber("headCount", d.HeadCount);
                _writer.WriteStartObject("consumedRation");
                _writer.WriteString("rationId", d.RationId);
                WriteFeedQuantity("entitlement", d.Kg);
                _writer.WriteEndObject();
                break;
            case TmrRefusalRecord r:
                _writer.WriteString("event", "refusal");
                _writer.WriteString("herdId", r.HerdId);
                _writer.WriteString("pen", r.Pen);
                Span<char> date = stackalloc char[10];
                r.FeedingDay.TryFormat(date, out _, "yyyy-MM-dd", CultureInfo.InvariantCulture);
                _writer.WriteString("localDate", date);
                _writer.WriteNumber("refusedKg", r.Kg);
                _writer.WriteNumber("dryMatterPercent", r.DryMatterPercent);
                break;
        }
    }

    private void WriteFeedStock(FeedStockSimRecord s)
    {
        _writer.WriteString("storageType", s.StorageType);
        if (s.Origin is { } origin)
        {
            _writer.WriteString("origin", origin);
        }
        _writer.WriteNumber("dryMatterPercent", s.DryMatterPercent);
        _writer.WriteStartObject("storage");
        _writer.WriteString("id", s.StorageId);
        _writer.WriteString("name", s.Name);
        _writer.WriteString("feedId", s.FeedId);
        WriteFeedQuantity("capacity", s.CapacityKg);
        WriteFeedQuantity("quantityAvailable", s.QuantityKg);
        _writer.WriteEndObject();
    }

    /// <summary>An ICAR feed identifier in the platform's feed catalogue.</summary>
    private void WriteFeedId(string feedId)
    {
        _writer.WriteStartObject("feedId");
        _writer.WriteString("scheme", "cn.hohhot.feed");
        _writer.WriteString("id", feedId);
        _writer.WriteEndObject();
    }

    /// <summary>An ICAR feed quantity in kg.</summary>
    private void WriteFeedQuantity(string name, double kg)
    {
        _writer.WriteStartObject(name);
        _writer.WriteString("unitCode", "KGM");
        _writer.WriteNumber("value", kg);
        _writer.WriteEndObject();
    }

    private void WriteMilking(in SimEvent simEvent, Device device, long eventMs)
    {
        var pasture = _fleet.Pastures[simEvent.PastureIndex];
        _writer.WriteString("herdId", device.HerdId);
        _writer.WriteStartObject("visit");
        _writer.WriteString("resourceType", "icarMilkingVisitEventResource");
        _writer.WriteStartObject("animal");
        _writer.WriteString("scheme", "cn.moa.eartag");
        _writer.WriteString("id", pasture.EarTag(simEvent.AnimalIndex));
        _writer.WriteEndObject();
        WriteTime("milkingStartingDateTime", eventMs, local: false);
        _writer.WriteStartObject("milkingDuration");
        _writer.WriteString("unitCode", "SEC");
        _writer.WriteNumber("value", simEvent.DurationSec);
        _writer.WriteEndObject();
        _writer.WriteStartObject("milkingMilkWeight");
        _writer.WriteString("unitCode", "KGM");
        _writer.WriteNumber("value", Math.Round((double)simEvent.Kg, 1));
        _writer.WriteEndObject();
        _writer.WriteString("milkingDeviceId", device.Id);
        if (simEvent.Remark is MilkingRemark.Colostrum or MilkingRemark.Withdrawal)
        {
            // Colostrum and withdrawal milk is diverted: the meter still measures it.
            _writer.WriteStartArray("milkingRemarks");
            if (simEvent.Remark == MilkingRemark.Withdrawal)
            {
                _writer.WriteStringValue("AnimalSick");
            }
            _writer.WriteStringValue("MilkedSeparately");
            _writer.WriteEndArray();
        }
        _writer.WriteStartArray("milkCharacteristics");
        WriteCharacteristic("AVGCOND", simEvent.Conductivity, "F1", null);
        WriteCharacteristic("TEMPERATURE", simEvent.TemperatureC, "F1", "CEL");
        WriteCharacteristic("FAT", simEvent.FatPercent, "F2", null);
        WriteCharacteristic("PROTEIN", simEvent.ProteinPercent, "F2", null);
        WriteCharacteristic("SCC", simEvent.SccThousand, "F0", null);
        _writer.WriteEndArray();
        _writer.WriteEndObject();
    }

    private void WriteQuality(QualitySampleRecord sample, long sampledAtMs)
    {
        _writer.WriteString("sampleId", sample.SampleId);
        _writer.WriteString("sampleKind", sample.SampleKind);
        WriteTime("sampledAt", sampledAtMs, local: true);
        _writer.WriteStartObject("lot");
        _writer.WriteString("kind", sample.LotKind);
        _writer.WriteString("id", sample.LotId);
        _writer.WriteEndObject();
        _writer.WriteString("species", SpeciesName(sample.Species));
        if (sample.SampledPastureId is { } pastureId)
        {
            _writer.WriteString("pastureId", pastureId);
        }
        if (sample.TankerPlate is { } plate)
        {
            _writer.WriteString("tankerPlate", plate);
        }
        _writer.WriteString("lab", sample.Lab);
        _writer.WriteStartArray("items");
        foreach (var item in sample.Items)
        {
            _writer.WriteStartObject();
            _writer.WriteString("item", item.Item);
            if (item.Result is { } result)
            {
                _writer.WriteString("result", result);
            }
            else
            {
                _writer.WriteNumber("value", item.Value!.Value);
                _writer.WriteString("unit", item.Unit);
            }
            _writer.WriteEndObject();
        }
        _writer.WriteEndArray();
    }

    private void WriteHealth(HealthRecord health)
    {
        _writer.WriteString("event", health.Event);
        _writer.WriteString("programme", health.Programme);
        _writer.WriteString("species", SpeciesName(health.Species));
        switch (health.Event)
        {
            case "vaccination":
                _writer.WriteNumber("vaccinated", health.Vaccinated);
                break;
            case "census":
                _writer.WriteNumber("inStock", health.InStock);
                _writer.WriteNumber("due", health.Due);
                break;
            default:
                _writer.WriteStartArray("titres");
                foreach (var titre in health.Titres!)
                {
                    _writer.WriteNumberValue(titre);
                }
                _writer.WriteEndArray();
                break;
        }
    }

    private static string SpeciesName(AnimalSpecies species) => species == AnimalSpecies.Cow ? "cow" : "goat";

    private void WriteCharacteristic(string name, float value, string format, string? unit)
    {
        Span<char> text = stackalloc char[32];
        ((double)value).TryFormat(text, out var written, format, CultureInfo.InvariantCulture);
        _writer.WriteStartObject();
        _writer.WriteString("characteristic", name);
        _writer.WriteString("value", text[..written]);
        if (unit is not null)
        {
            _writer.WriteString("unit", unit);
        }
        _writer.WriteEndObject();
    }

    /// <summary>RFC 3339 with an offset: +08:00 for the device's local clock, Z for ICAR's UTC fields.</summary>
    private void WriteTime(string name, long unixMs, bool local)
    {
        Span<char> text = stackalloc char[40];
        var time = DateTimeOffset.FromUnixTimeMilliseconds(unixMs);
        int written;
        if (local)
        {
            time.ToOffset(TimeSpan.FromHours(8)).TryFormat(text, out written, "yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);
        }
        else
        {
            time.UtcDateTime.TryFormat(text, out written, "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        }
        _writer.WriteString(name, text[..written]);
    }
}
