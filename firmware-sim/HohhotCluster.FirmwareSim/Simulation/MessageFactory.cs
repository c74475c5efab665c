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
internal sealed class MessageFactory
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
        switch (simEvent.Type)
        {
            case SimEventType.Milking:
                kg = simEvent.Kg;
                WriteMilking(simEvent, device, eventMs);
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
            OwnerId = device.Gateway.OwnerId,
            Kind = kind,
            BootEpoch = epoch,
            Seq = seq,
            EventUnixMs = eventMs,
            Kg = Math.Round(kg, 1),
            IsCollection = simEvent.Type == SimEventType.TankCollection,
            Fault = fault,
        };
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
        if (simEvent.Remark != MilkingRemark.None)
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
