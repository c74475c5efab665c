using System.Globalization;
using System.Text.Json;
using HohhotCluster.FirmwareSim.Simulation;

namespace HohhotCluster.FirmwareSim.Publishing;

/// <summary>
/// JSONL record of every publish attempt and its outcome: key (d, e, s), kind k, owner o, local day,
/// kg, col (a bulk-tank collection), t (event time, Unix ms), pt (the InfluxDB point's time when not t: a quality
/// sample's sampledAt), lot and src (chain kinds: the lot written and the lot its milk came from; quality: the
/// sampled lot), v (quality: the simulator's verdict, pass or fail), f (fault tag) and rc: the PUBACK
/// reason code (0 success, 16 no matching subscribers, >= 128 refused), or a negative code when
/// no PUBACK came: -1 transport failure (retried), -2 dropped because the spool was full,
/// -3 left in the spool at shutdown.
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

    public void Record(OutboundMessage message, int reasonCode)
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
            if (message.Fault != FaultTag.None)
            {
                _writer.WriteString("f", FaultName(message.Fault));
            }
            _writer.WriteNumber("rc", reasonCode);
            _writer.WriteEndObject();
            _writer.Flush();
            _stream.WriteByte((byte)'\n');
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
