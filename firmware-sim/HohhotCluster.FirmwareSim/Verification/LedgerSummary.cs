using System.Text.Json;
using HohhotCluster.FirmwareSim.Publishing;

namespace HohhotCluster.FirmwareSim.Verification;

internal readonly record struct MessageKey(string DeviceId, long BootEpoch, long Seq);

/// <summary>What became of a key in the end, by the ledger's PUBACKs (the first that applies).</summary>
internal enum KeyFate
{
    /// <summary>A success code at least once: the platform counts it.</summary>
    Counted,
    /// <summary>0x99 on its own: the platform holds it in quarantine, counted nowhere (not lost).</summary>
    Quarantined,
    /// <summary>Only 0x99 on batches that carried it: counted or quarantined, its own answer never came.</summary>
    QuarantineUnresolved,
    /// <summary>0x87 (not authorised) or another refusal: stored nowhere.</summary>
    Refused,
    /// <summary>Dropped before it was sent: the spool was full.</summary>
    Dropped,
    /// <summary>No answer that settles it (none at all, or only 0x97/0x96): the run ended first.</summary>
    NeverAcknowledged,
}

/// <summary>What a ledger says about one key: its answers, and what it carries.</summary>
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
    /// <summary>The fault the simulator injected on it (late, reordered, duplicate), None for a plain reading.</summary>
    public FaultTag Fault { get; set; }
    /// <summary>Animal event members and milk flags of the ledger (ae, a, n, sp, hh, sx, em, res, rm, wd, co); null when absent.</summary>
    public LedgerAnimal? Animal { get; init; }
    /// <summary>PUBACKs of any code.</summary>
    public int Attempts { get; set; }
    /// <summary>Success codes (below 0x80): stored and counted, or a duplicate of the same body.</summary>
    public int SuccessfulPubacks { get; set; }
    /// <summary>0x99 on a publish of this reading alone (or a batch of it alone).</summary>
    public int QuarantinedPubacks { get; set; }
    /// <summary>0x99 on a batch of several readings that carried it: some item of the batch was quarantined.</summary>
    public int PartlyQuarantinedBatchPubacks { get; set; }
    /// <summary>0x97 or 0x96: stored nowhere, resent.</summary>
    public int RateLimitedPubacks { get; set; }
    /// <summary>0x87, not authorised.</summary>
    public int NotAuthorisedPubacks { get; set; }
    /// <summary>Any refusal (0x87 and the codes >= 0x80 that are neither 0x99, 0x97 nor 0x96).</summary>
    public int RefusedPubacks { get; set; }
    public bool Dropped { get; set; }

    public KeyFate Fate =>
        SuccessfulPubacks > 0 ? KeyFate.Counted
        : QuarantinedPubacks > 0 ? KeyFate.Quarantined
        : PartlyQuarantinedBatchPubacks > 0 ? KeyFate.QuarantineUnresolved
        : RefusedPubacks > 0 ? KeyFate.Refused
        : Dropped ? KeyFate.Dropped
        : KeyFate.NeverAcknowledged;

    /// <summary>Counts one ledger line's answer; <paramref name="sharedWithOthers"/>: it came on a batch of several readings.</summary>
    public void Add(int reasonCode, bool sharedWithOthers)
    {
        if (reasonCode < 0)
        {
            Dropped |= reasonCode == PublishLedger.SpoolFull;
            return;
        }
        Attempts++;
        switch (PubackCodes.Classify(reasonCode, sharedWithOthers))
        {
            case PubackOutcome.Counted: SuccessfulPubacks++; break;
            case PubackOutcome.Quarantined: QuarantinedPubacks++; break;
            case PubackOutcome.PartlyQuarantined: PartlyQuarantinedBatchPubacks++; break;
            case PubackOutcome.RateLimited: RateLimitedPubacks++; break;
            case PubackOutcome.Refused:
                RefusedPubacks++;
                NotAuthorisedPubacks += reasonCode == PubackCodes.NotAuthorized ? 1 : 0;
                break;
        }
    }
}

/// <summary>The fault copies of a ledger (never to be counted by the platform), by their last answer.</summary>
internal sealed class FaultCopyAnswers
{
    /// <summary>Lines of fault copies, rate-limited attempts aside (they are sent again).</summary>
    public long Copies { get; set; }
    /// <summary>A success code: a site broker takes anything; the platform should never count one.</summary>
    public long Acknowledged { get; set; }
    public long Quarantined { get; set; }
    public long Refused { get; set; }
    /// <summary>No PUBACK: an oversized copy makes the platform close the connection.</summary>
    public long Unanswered { get; set; }
}

/// <summary>Reads a JSONL ledger into one entry per key the platform should hold.</summary>
internal sealed class LedgerSummary
{
    public Dictionary<MessageKey, LedgerKey> Keys { get; } = [];
    public long Lines { get; private set; }
    public FaultCopyAnswers FaultCopies { get; } = new();

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
            var sharedWithOthers = root.TryGetProperty("b", out var b) && b.GetInt32() > 1;
            if (!MessageKinds.ExpectedByPlatform(fault))
            {
                summary.AddFaultCopy(reasonCode);
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
                    Animal = LedgerAnimal.Read(root),
                };
                summary.Keys.Add(key, entry);
            }
            if (fault != FaultTag.None)
            {
                entry.Fault = fault;
            }
            entry.Add(reasonCode, sharedWithOthers);
        }
        return summary;
    }

    private void AddFaultCopy(int reasonCode)
    {
        if (reasonCode < 0)
        {
            FaultCopies.Copies++;
            FaultCopies.Unanswered += reasonCode == PublishLedger.TransportFailure ? 1 : 0;
            return;
        }
        switch (PubackCodes.Classify(reasonCode, severalReadings: false))
        {
            case PubackOutcome.RateLimited:
                return; // sent again: its next line says what became of it
            case PubackOutcome.Counted: FaultCopies.Acknowledged++; break;
            case PubackOutcome.Quarantined: FaultCopies.Quarantined++; break;
            default: FaultCopies.Refused++; break;
        }
        FaultCopies.Copies++;
    }
}

/// <summary>The ledger's animal members of one key (PublishLedger.WriteAnimal).</summary>
internal sealed record LedgerAnimal
{
    public string? Event { get; init; }
    public string? EarTag { get; init; }
    public int StockAfter { get; init; } = -1;
    public string? Species { get; init; }
    public bool InHohhot { get; init; }
    public bool Sexed { get; init; }
    public string? EmbryoOrigin { get; init; }
    public string? Result { get; init; }
    public string? Remark { get; init; }
    public int WithdrawalMilkings { get; init; }
    public int ColostrumMilkings { get; init; }

    public static LedgerAnimal? Read(JsonElement root)
    {
        var hasEvent = root.TryGetProperty("ae", out var ae);
        var hasRemark = root.TryGetProperty("rm", out var rm);
        var hasWd = root.TryGetProperty("wd", out var wd);
        var hasCo = root.TryGetProperty("co", out var co);
        if (!hasEvent && !hasRemark && !hasWd && !hasCo)
        {
            return null;
        }
        return new LedgerAnimal
        {
            Event = hasEvent ? ae.GetString() : null,
            EarTag = root.TryGetProperty("a", out var a) ? a.GetString() : null,
            StockAfter = root.TryGetProperty("n", out var n) ? n.GetInt32() : -1,
            Species = root.TryGetProperty("sp", out var sp) ? sp.GetString() : null,
            InHohhot = root.TryGetProperty("hh", out var hh) && hh.GetBoolean(),
            Sexed = root.TryGetProperty("sx", out var sx) && sx.GetBoolean(),
            EmbryoOrigin = root.TryGetProperty("em", out var em) ? em.GetString() : null,
            Result = root.TryGetProperty("res", out var res) ? res.GetString() : null,
            Remark = hasRemark ? rm.GetString() : null,
            WithdrawalMilkings = hasWd ? wd.GetInt32() : 0,
            ColostrumMilkings = hasCo ? co.GetInt32() : 0,
        };
    }
}
