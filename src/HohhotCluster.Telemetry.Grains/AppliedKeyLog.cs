using System.Text.Json.Serialization;
using HohhotCluster.Telemetry.Contracts;

namespace HohhotCluster.Telemetry.Grains;

/// <summary>What an <see cref="AppliedKeyLog"/> knows of one key.</summary>
public enum AppliedKeyStatus
{
    /// <summary>Never applied: count it.</summary>
    NotApplied = 0,

    /// <summary>Applied before: a duplicate.</summary>
    Applied = 1,

    /// <summary>
    /// The log no longer knows: the key's epoch was evicted, or the key falls in a hole that was closed. It may or
    /// may not have been applied, so it must be neither counted nor called a duplicate.
    /// </summary>
    Unknown = 2,
}

/// <summary>
/// Which (device, boot epoch, sequence) keys a grain has applied, stored as merged ranges per device and epoch:
/// an in-order stream is one range, so the log stays small; every hole is a gap in the device's sequence.
/// It is saved in the same state write as the totals it guards, so a retry can never count twice.
/// Whatever the log has forgotten it answers <see cref="AppliedKeyStatus.Unknown"/>, never "applied": a key is a
/// duplicate only when it was applied.
/// </summary>
public sealed class AppliedKeyLog
{
    /// <summary>
    /// Epochs kept per device, in order of first arrival (never by value: a boot counter may reset and a clock may
    /// be wrong at boot). A new epoch beyond these evicts the one that arrived first.
    /// </summary>
    public const int EpochsPerDevice = 16;

    /// <summary>
    /// Numbers of evicted epochs remembered per device: a key of one of them is <see cref="AppliedKeyStatus.Unknown"/>.
    /// Beyond this many the oldest remembered is forgotten (<see cref="EvictedEpochsForgotten"/>), and a reading of
    /// a forgotten epoch is taken as new and counted, applied before or not: that needs a device to report 80 later
    /// boots while a reading of that old boot is still on its way (the ingestion refuses readings over 7 days old).
    /// </summary>
    public const int EvictedEpochsPerDevice = 64;

    /// <summary>
    /// Holes kept per epoch. A device's sequence is contiguous by contract, so holes are loss upstream or messages
    /// still on their way; beyond this many the oldest hole is closed: its numbers go to the epoch's
    /// <see cref="EpochLog.Unknown"/> regions (a late arrival into it is <see cref="AppliedKeyStatus.Unknown"/>) and
    /// stay counted in <see cref="ClosedGapReadings"/>. 4,096 holes is days of a badly lossy device.
    /// </summary>
    public const int RangesPerEpoch = 4096;

    /// <summary>
    /// Unknown regions kept per epoch; beyond this many the two lowest merge, which only widens what is answered
    /// <see cref="AppliedKeyStatus.Unknown"/> (applied keys between them included): conservative, never a false duplicate.
    /// </summary>
    public const int UnknownRangesPerEpoch = 256;

    /// <summary>Holes closed because an epoch had too many.</summary>
    public long ClosedHoles { get; set; }

    /// <summary>
    /// Sequence numbers that were missing when their hole was closed or their epoch evicted: the loss
    /// <see cref="CountGaps"/> keeps reporting after the log let go of where it was.
    /// </summary>
    public long ClosedGapReadings { get; set; }

    /// <summary>Evicted epochs dropped from <see cref="EvictedEpochs"/>: a reading of one of them would be counted as new.</summary>
    public long EvictedEpochsForgotten { get; set; }

    /// <summary>Per device, its kept epochs in order of first arrival (a state stored before that rule: in stored order).</summary>
    public Dictionary<string, List<EpochLog>> Devices { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Per device, the numbers of its evicted epochs, oldest eviction first (at most <see cref="EvictedEpochsPerDevice"/>).</summary>
    public Dictionary<string, List<long>> EvictedEpochs { get; set; } = new(StringComparer.Ordinal);

    public AppliedKeyStatus Lookup(ReadingKey key) =>
        FindEpoch(key, out _) is { } log
            ? log.Lookup(key.Sequence)
            : IsEvicted(key) ? AppliedKeyStatus.Unknown : AppliedKeyStatus.NotApplied;

    /// <summary>
    /// Marks the key applied when it was <see cref="AppliedKeyStatus.NotApplied"/> and returns that; otherwise
    /// returns <see cref="AppliedKeyStatus.Applied"/> or <see cref="AppliedKeyStatus.Unknown"/> and changes nothing.
    /// </summary>
    public AppliedKeyStatus TryApply(ReadingKey key)
    {
        var log = FindEpoch(key, out var epochs);
        if (log is not null)
        {
            var status = log.Lookup(key.Sequence);
            if (status != AppliedKeyStatus.NotApplied)
            {
                return status;
            }
        }
        else
        {
            if (IsEvicted(key))
            {
                return AppliedKeyStatus.Unknown;
            }

            log = AddEpoch(key, epochs);
        }

        if (log.Add(key.Sequence, out var closedHole))
        {
            ClosedHoles++;
            ClosedGapReadings += closedHole.Last - closedHole.First + 1;
        }

        return AppliedKeyStatus.NotApplied;
    }

    /// <summary>
    /// Readings missing from the devices' sequences: the holes between the first and last seen of each kept epoch,
    /// plus <see cref="ClosedGapReadings"/> (closed holes and the holes of evicted epochs), so a gap never vanishes
    /// from the count because the log let go of it. A late arrival into a closed hole is refused as
    /// <see cref="AppliedKeyStatus.Unknown"/>, so it stays missing from the totals and stays counted here.
    /// </summary>
    public long CountGaps()
    {
        var gaps = ClosedGapReadings;
        foreach (var epochs in Devices.Values)
        {
            foreach (var epoch in epochs)
            {
                gaps += epoch.OpenGapReadings();
            }
        }

        return gaps;
    }

    private EpochLog? FindEpoch(ReadingKey key, out List<EpochLog>? epochs)
    {
        if (!Devices.TryGetValue(key.DeviceId, out epochs))
        {
            return null;
        }

        foreach (var epoch in epochs)
        {
            if (epoch.Epoch == key.BootEpoch)
            {
                return epoch;
            }
        }

        return null;
    }

    private bool IsEvicted(ReadingKey key) =>
        EvictedEpochs.TryGetValue(key.DeviceId, out var evicted) && evicted.Contains(key.BootEpoch);

    private EpochLog AddEpoch(ReadingKey key, List<EpochLog>? epochs)
    {
        if (epochs is null)
        {
            epochs = [];
            Devices[key.DeviceId] = epochs;
        }

        var log = new EpochLog { Epoch = key.BootEpoch };
        epochs.Add(log);
        if (epochs.Count > EpochsPerDevice)
        {
            Evict(key.DeviceId, epochs[0]);
            epochs.RemoveAt(0);
        }

        return log;
    }

    private void Evict(string deviceId, EpochLog epoch)
    {
        ClosedGapReadings += epoch.OpenGapReadings();
        if (!EvictedEpochs.TryGetValue(deviceId, out var evicted))
        {
            evicted = [];
            EvictedEpochs[deviceId] = evicted;
        }

        evicted.Add(epoch.Epoch);
        if (evicted.Count > EvictedEpochsPerDevice)
        {
            evicted.RemoveAt(0);
            EvictedEpochsForgotten++;
        }
    }
}

public sealed class EpochLog
{
    public long Epoch { get; set; }

    /// <summary>The applied sequence numbers of this boot (closed holes included: see <see cref="Unknown"/>).</summary>
    public SequenceRangeSet Ranges { get; set; } = new();

    /// <summary>
    /// The numbers of holes closed to keep <see cref="Ranges"/> within <see cref="AppliedKeyLog.RangesPerEpoch"/>:
    /// whether they were applied is unknown. Absent (null) until a hole is closed, which keeps stored state small.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SequenceRangeSet? Unknown { get; set; }

    public AppliedKeyStatus Lookup(long sequence) =>
        Unknown is { } unknown && unknown.Contains(sequence) ? AppliedKeyStatus.Unknown
        : Ranges.Contains(sequence) ? AppliedKeyStatus.Applied
        : AppliedKeyStatus.NotApplied;

    /// <summary>
    /// Adds the sequence; true when the oldest hole had to be closed to stay within the limit, and then
    /// <paramref name="closedHole"/> holds its numbers, now also among the <see cref="Unknown"/> regions.
    /// </summary>
    public bool Add(long sequence, out SequenceRange closedHole)
    {
        if (!Ranges.Add(sequence, AppliedKeyLog.RangesPerEpoch, out closedHole))
        {
            return false;
        }

        (Unknown ??= new SequenceRangeSet()).Add(closedHole, AppliedKeyLog.UnknownRangesPerEpoch, out _);
        return true;
    }

    /// <summary>Numbers missing between the first and last applied of this boot.</summary>
    public long OpenGapReadings()
    {
        long gaps = 0;
        for (var i = 1; i < Ranges.Count; i++)
        {
            gaps += Ranges[i].First - Ranges[i - 1].Last - 1;
        }

        return gaps;
    }
}
