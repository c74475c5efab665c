using System.Globalization;
using System.Text.Json;
using HohhotCluster.FirmwareSim.Simulation;

namespace HohhotCluster.FirmwareSim.Publishing;

/// <summary>
/// JSONL record of every publish attempt and its outcome: key (d, e, s), kind k, owner o, local day,
/// kg, col (a bulk-tank collection), t (event time, Unix ms), pt (the InfluxDB point's time when not t: a quality
/// sample's sampledAt), lot and src (chain kinds: the lot written and the lot its milk came from; quality: the
/// sampled lot), v (quality: the simulator's verdict, pass or fail), f (fault tag), b (the number of readings in the
/// batch publish that carried it, 1 or more; absent when it went alone) and rc: the PUBACK reason code, or a negative code when no
/// PUBACK came. <see cref="PubackCodes.Classify"/> reads a reason code: below 128 stored and counted (0; 16, no matching
/// subscribers, from a site broker); 153 quarantined (with b > 1: some item of the batch was, and this one's own answer follows on
/// a later line); 151 or 150 rate-limited (quota exceeded, message rate too high), kept and resent; 135 (not authorised) and any other refused, stored nowhere. The
/// negative codes: -1 transport failure (retried), -2 dropped because the spool was full, -3 left in the spool at shutdown.
/// </summary>
internal sealed class PublishLedger : IDisposable
{
    public const int TransportFailure = -1;
    public const int SpoolFull = -2;
    public const int LeftInSpool = -3;

    private readonly Lock _lock = new();
    private readonly FileStream _stream;
    private readonly Utf8JsonWriter _writer;

    public PublishLedger(string path)
    {
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }
        _stream = new FileStream(path, FileMode.Append, FileAccess.Write, FileShare.Read, 1 << 16);
        _writer = new Utf8JsonWriter(_stream);
    }

    /// <param name="batchReadings">Readings of the batch publish that carried the message; 0 when it went alone.</param>
    public void Record(OutboundMessage message, int reasonCode, int batchReadings = 0)
    {
        Span<char> day = stackalloc char[10];
        DairySimulation.LocalDayOf(message.EventUnixMs).TryFormat(day, out _, "yyyy-MM-dd", CultureInfo.InvariantCulture);
        lock (_lock)
        {
            _writer.Reset(_stream);
            _writer.WriteStartObject();
            _writer.WriteString("d", message.DeviceId);
            _writer.WriteNumber("e", message.BootEpoch);
            _writer.WriteNumber("s", message.Seq);
            _writer.WriteString("k", MessageKinds.Name(message.Kind));
            _writer.WriteString("o", message.OwnerId);
            _writer.WriteString("day", day);
            _writer.WriteNumber("kg", message.Kg);
            if (message.IsCollection)
            {
                _writer.WriteBoolean("col", true);
            }
            _writer.WriteNumber("t", message.EventUnixMs);
            if (message.PointUnixMs is { } pointMs)
            {
                _writer.WriteNumber("pt", pointMs);
            }
            if (message.Lot is { } lot)
            {
                _writer.WriteString("lot", lot);
            }
            if (message.Source is { } source)
            {
                _writer.WriteString("src", source);
            }
            if (message.Verdict is { } verdict)
            {
                _writer.WriteString("v", verdict);
            }
            if (message.Animal is { } animal)
            {
                WriteAnimal(animal);
            }
            if (message.Fault != FaultTag.None)
            {
                _writer.WriteString("f", FaultName(message.Fault));
            }
            if (batchReadings > 0)
            {
                _writer.WriteNumber("b", batchReadings);
            }
            _writer.WriteNumber("rc", reasonCode);
            _writer.WriteEndObject();
            _writer.Flush();
            _stream.WriteByte((byte)'\n');
        }
    }

    /// <summary>
    /// The animal members (issue 17): ae (event type), a (ear tag), n (animals alive on the pasture after it), sp (cow or
    /// goat), hh (on a Hohhot pasture), sx (sexed semen), em (embryo origin), res (pregnancy result); rm (a milking's
    /// withdrawal or colostrum remark: *_separate kept apart, *_tank milked into the tank); wd and co (a collection's
    /// withdrawal and colostrum milkings in its lot).
    /// </summary>
    private void WriteAnimal(AnimalFacts animal)
    {
        if (animal.Event is { } name)
        {
            _writer.WriteString("ae", name);
            _writer.WriteString("a", animal.EarTag);
            _writer.WriteNumber("n", animal.StockAfter);
            _writer.WriteString("sp", animal.Species);
            _writer.WriteBoolean("hh", animal.InHohhot);
            if (animal.Sexed)
            {
                _writer.WriteBoolean("sx", true);
            }
            if (animal.EmbryoOrigin is { } origin)
            {
                _writer.WriteString("em", origin);
            }
            if (animal.Result is { } result)
            {
                _writer.WriteString("res", result);
            }
        }
        if (animal.Remark is { } remark)
        {
            _writer.WriteString("rm", remark);
        }
        if (animal.WithdrawalMilkings > 0)
        {
            _writer.WriteNumber("wd", animal.WithdrawalMilkings);
        }
        if (animal.ColostrumMilkings > 0)
        {
            _writer.WriteNumber("co", animal.ColostrumMilkings);
        }
    }

    public void Flush()
    {
        lock (_lock)
        {
            _stream.Flush();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _writer.Dispose();
            _stream.Dispose();
        }
    }

    public static string FaultName(FaultTag fault) => fault switch
    {
        FaultTag.Duplicate => "duplicate",
        FaultTag.Reordered => "reordered",
        FaultTag.Late => "late",
        FaultTag.Malformed => "malformed",
        FaultTag.Oversized => "oversized",
        FaultTag.ForeignTopic => "foreign_topic",
        FaultTag.Flood => "flood",
        _ => "none",
    };

    public static FaultTag ParseFault(string? name) => name switch
    {
        "duplicate" => FaultTag.Duplicate,
        "reordered" => FaultTag.Reordered,
        "late" => FaultTag.Late,
        "malformed" => FaultTag.Malformed,
        "oversized" => FaultTag.Oversized,
        "foreign_topic" => FaultTag.ForeignTopic,
        "flood" => FaultTag.Flood,
        _ => FaultTag.None,
    };
}
