using System.Globalization;
using System.Text;

namespace HohhotCluster.Telemetry.LoadBench;

/// <summary>One message of a recorded simulator run (the fields hohhot-sim writes; see firmware-sim Publishing/RunFile.cs).</summary>
internal sealed record RecordedMessage(
    string Gateway, string Topic, string DeviceId, string OwnerId, byte Kind, long BootEpoch, long Seq, long EventUnixMs,
    double Kg, bool IsCollection, byte Fault, long? PointUnixMs, string Lot, string Source, string Verdict, byte[] Payload)
{
    public const byte Milking = 0;
    public const byte BulkTank = 1;
    public const byte PlantIntake = 2;

    /// <summary>The simulator's fault tags, in its order (<c>FaultTag</c>), as its ledger names them.</summary>
    public static readonly string[] FaultNames = ["none", "duplicate", "reordered", "late", "malformed", "oversized", "foreign_topic", "flood"];

    /// <summary>The kind, as the topic's last segment names it (the simulator's own name; no second list of kinds here).</summary>
    public string KindName => Topic[(Topic.LastIndexOf('/') + 1)..];

    /// <summary>The time of the message's InfluxDB point (a quality point is dated by its sampling time).</summary>
    public long PointTimeUnixMs => PointUnixMs ?? EventUnixMs;

    /// <summary>The local day (China Standard Time) the platform files the reading under.</summary>
    public DateOnly LocalDay => DateOnly.FromDateTime(DateTimeOffset.FromUnixTimeMilliseconds(EventUnixMs).ToOffset(TimeSpan.FromHours(8)).DateTime);
}

/// <summary>Expected platform totals of one local day, from the run file alone.</summary>
internal sealed class DayExpectation
{
    public long Milkings { get; set; }
    public long Collections { get; set; }
    public long Intakes { get; set; }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Milkings} milkings, {Collections} collections, {Intakes} intakes");
}

/// <summary>
/// Reads hohhot-sim's run file. The format is the simulator's internal one (a magic string, the seed, then
/// <c>true</c> + record per message and a closing <c>false</c>); it is read here rather than referenced because the
/// simulator's types are internal to its executable.
/// </summary>
internal static class RecordedRun
{
    private const string Magic = "HOHHOT-SIM-RUN-3";

    public static List<RecordedMessage> Load(string path)
    {
        using var reader = new BinaryReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20), Encoding.UTF8);
        if (reader.ReadString() != Magic)
        {
            throw new InvalidDataException($"{path} is not a hohhot-sim run file of format {Magic} (re-record it with this simulator)");
        }

        _ = reader.ReadInt64();
        var messages = new List<RecordedMessage>(1 << 16);
        while (reader.BaseStream.Position < reader.BaseStream.Length && reader.ReadBoolean())
        {
            var gateway = reader.ReadString();
            var topic = reader.ReadString();
            var device = reader.ReadString();
            var owner = reader.ReadString();
            var kind = reader.ReadByte();
            var epoch = reader.ReadInt64();
            var seq = reader.ReadInt64();
            var eventMs = reader.ReadInt64();
            var kg = reader.ReadDouble();
            var isCollection = reader.ReadBoolean();
            var fault = reader.ReadByte();
            var pointMs = reader.ReadInt64();
            var lot = reader.ReadString();
            var source = reader.ReadString();
            var verdict = reader.ReadString();
            SkipAnimalFacts(reader);
            var length = reader.ReadInt32();
            messages.Add(new RecordedMessage(gateway, topic, device, owner, kind, epoch, seq, eventMs, kg, isCollection, fault,
                pointMs == long.MinValue ? null : pointMs, lot, source, verdict, reader.ReadBytes(length)));
        }

        return messages;
    }

    /// <summary>
    /// Format 3's animal members of a message (the simulator's <c>AnimalFacts</c>: a presence flag, then event, ear tag,
    /// stock after, sexed, embryo origin, result, remark, withdrawal and colostrum milkings, species, in Hohhot), which the
    /// load bench does not use.
    /// </summary>
    private static void SkipAnimalFacts(BinaryReader reader)
    {
        if (!reader.ReadBoolean())
        {
            return;
        }

        _ = reader.ReadString();
        _ = reader.ReadString();
        _ = reader.ReadInt32();
        _ = reader.ReadBoolean();
        _ = reader.ReadString();
        _ = reader.ReadString();
        _ = reader.ReadString();
        _ = reader.ReadInt32();
        _ = reader.ReadInt32();
        _ = reader.ReadString();
        _ = reader.ReadBoolean();
    }

    /// <summary>Every k-th message, so a small sample keeps the day's mix of kinds, owners and devices.</summary>
    public static List<RecordedMessage> Stride(List<RecordedMessage> messages, int count)
    {
        if (count >= messages.Count)
        {
            return messages;
        }

        var step = (double)messages.Count / count;
        var sample = new List<RecordedMessage>(count);
        for (var i = 0; i < count; i++)
        {
            sample.Add(messages[(int)(i * step)]);
        }

        return sample;
    }

    public static SortedDictionary<DateOnly, DayExpectation> ExpectedDays(IEnumerable<RecordedMessage> messages)
    {
        var days = new SortedDictionary<DateOnly, DayExpectation>();
        foreach (var m in messages)
        {
            if (!days.TryGetValue(m.LocalDay, out var day))
            {
                day = new DayExpectation();
                days[m.LocalDay] = day;
            }

            switch (m.Kind)
            {
                case RecordedMessage.Milking: day.Milkings++; break;
                case RecordedMessage.PlantIntake: day.Intakes++; break;
                case RecordedMessage.BulkTank when m.IsCollection: day.Collections++; break;
                default: break;
            }
        }

        return days;
    }
}
