using HohhotCluster.Telemetry.Contracts;

namespace HohhotCluster.Telemetry.Grains;

/// <summary>
/// Which (device, boot epoch, sequence) keys a grain has applied, stored as merged ranges per device and epoch:
/// an in-order stream is one range, so the log stays small; every hole is a gap in the device's sequence.
/// It is saved in the same state write as the totals it guards, so a retry can never count twice.
/// </summary>
public sealed class AppliedKeyLog
{
    /// <summary>Epochs kept per device; a key from an older boot than these is treated as already applied.</summary>
    public const int EpochsPerDevice = 4;

    /// <summary>
    /// Holes kept per epoch. A device's sequence is contiguous by contract, so holes are loss upstream or messages
    /// still on their way; beyond this many the oldest hole is closed (a late arrival into it would then count as a
    /// duplicate) and <see cref="ClosedHoles"/> says so. 4,096 holes is days of a badly lossy device.
    /// </summary>
    public const int RangesPerEpoch = 4096;

    /// <summary>Holes closed because an epoch had too many; each one is a place where a late arrival would be lost.</summary>
    public long ClosedHoles { get; set; }

    public Dictionary<string, List<EpochLog>> Devices { get; set; } = new(StringComparer.Ordinal);

    public bool Contains(ReadingKey key)
    {
        if (!Devices.TryGetValue(key.DeviceId, out var epochs))
        {
            return false;
        }

        foreach (var epoch in epochs)
        {
            if (epoch.Epoch == key.BootEpoch)
            {
                return epoch.Contains(key.Sequence);
            }
        }

        // A boot older than every boot we keep: it was applied long ago (or is too old to matter).
        return epochs.Count >= EpochsPerDevice && key.BootEpoch < epochs[0].Epoch;
    }

    /// <summary>Marks the key applied; false when it already was.</summary>
    public bool TryAdd(ReadingKey key)
    {
        if (Contains(key))
        {
            return false;
        }

        if (!Devices.TryGetValue(key.DeviceId, out var epochs))
        {
            epochs = [];
            Devices[key.DeviceId] = epochs;
        }

        EpochLog? log = null;
        foreach (var epoch in epochs)
        {
            if (epoch.Epoch == key.BootEpoch)
            {
                log = epoch;
                break;
            }
        }

        if (log is null)
        {
            log = new EpochLog { Epoch = key.BootEpoch };
            epochs.Add(log);
            epochs.Sort(static (a, b) => a.Epoch.CompareTo(b.Epoch));
            if (epochs.Count > EpochsPerDevice)
            {
                epochs.RemoveAt(0);
            }
        }

        if (log.Add(key.Sequence))
        {
            ClosedHoles++;
        }

        return true;
    }

    /// <summary>Missing sequence numbers between the first and last seen of each epoch, per device.</summary>
    public long CountGaps()
    {
        long gaps = 0;
        foreach (var epochs in Devices.Values)
        {
            foreach (var epoch in epochs)
            {
                for (var i = 1; i < epoch.Ranges.Count; i++)
                {
                    gaps += epoch.Ranges[i].First - epoch.Ranges[i - 1].Last - 1;
                }
            }
        }

        return gaps;
    }
}

public sealed class EpochLog
{
    public long Epoch { get; set; }

    /// <summary>The applied sequence numbers of this boot.</summary>
    public SequenceRangeSet Ranges { get; set; } = new();

    public bool Contains(long sequence) => Ranges.Contains(sequence);

    /// <summary>Adds the sequence; true when the oldest hole had to be closed to stay within the limit.</summary>
    public bool Add(long sequence) => Ranges.Add(sequence, AppliedKeyLog.RangesPerEpoch);
}
