using System.Text.Json;
using HohhotCluster.FirmwareSim.Publishing;

namespace HohhotCluster.FirmwareSim.Verification;

internal readonly record struct MessageKey(string DeviceId, long BootEpoch, long Seq);

/// <summary>What a ledger says about one key: acknowledged or not, and what it carries.</summary>
internal sealed class LedgerKey
{
    public required MessageKey Key { get; init; }
    public required string Kind { get; init; }
    public required string Owner { get; init; }
    public required string LocalDay { get; init; }
    public required double Kg { get; init; }
    public required bool IsCollection { get; init; }
    public required long EventUnixMs { get; init; }
    /// <summary>Time of the message's InfluxDB point (sampledAt for quality).</summary>
    public required long PointUnixMs { get; init; }
    public string? Lot { get; init; }
    public string? Source { get; init; }
    public string? Verdict { get; init; }
    public int Attempts { get; set; }
    public int SuccessfulPubacks { get; set; }
    public int RefusedPubacks { get; set; }
    public bool Dropped { get; set; }
}

/// <summary>Reads a JSONL ledger into one entry per key the platform should hold.</summary>
internal sealed class LedgerSummary
{
    public Dictionary<MessageKey, LedgerKey> Keys { get; } = [];
    public long Lines { get; private set; }
    public long FaultCopies { get; private set; }
    public long FaultCopiesAcked { get; private set; }

    public static LedgerSummary Read(string path)
    {
        var summary = new LedgerSummary();
        foreach (var line in File.ReadLines(path))
        {
            if (line.Length == 0)
            {
                continue;
            }
            summary.Lines++;
            using var document = JsonDocument.Parse(line);
            var root = document.RootElement;
            var fault = PublishLedger.ParseFault(root.TryGetProperty("f", out var f) ? f.GetString() : null);
            var reasonCode = root.GetProperty("rc").GetInt32();
            if (!MessageKinds.ExpectedByPlatform(fault))
            {
                summary.FaultCopies++;
                summary.FaultCopiesAcked += reasonCode is >= 0 and < 0x80 ? 1 : 0;
                continue;
            }
            var key = new MessageKey(root.GetProperty("d").GetString()!, root.GetProperty("e").GetInt64(), root.GetProperty("s").GetInt64());
            if (!summary.Keys.TryGetValue(key, out var entry))
            {
                entry = new LedgerKey
                {
                    Key = key,
                    Kind = root.GetProperty("k").GetString()!,
                    Owner = root.GetProperty("o").GetString()!,
                    LocalDay = root.GetProperty("day").GetString()!,
                    Kg = root.GetProperty("kg").GetDouble(),
                    IsCollection = root.TryGetProperty("col", out var col) && col.GetBoolean(),
                    EventUnixMs = root.GetProperty("t").GetInt64(),
                    PointUnixMs = root.TryGetProperty("pt", out var pt) ? pt.GetInt64() : root.GetProperty("t").GetInt64(),
                    Lot = root.TryGetProperty("lot", out var lot) ? lot.GetString() : null,
                    Source = root.TryGetProperty("src", out var src) ? src.GetString() : null,
                    Verdict = root.TryGetProperty("v", out var v) ? v.GetString() : null,
                };
                summary.Keys.Add(key, entry);
            }
            if (reasonCode >= 0)
            {
                entry.Attempts++;
            }
            if (reasonCode is >= 0 and < 0x80)
            {
                entry.SuccessfulPubacks++;
            }
            else if (reasonCode >= 0x80)
            {
                entry.RefusedPubacks++;
            }
            else if (reasonCode == PublishLedger.SpoolFull)
            {
                entry.Dropped = true;
            }
        }
        return summary;
    }
}
