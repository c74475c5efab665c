using System.Globalization;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Audit.Alerts;

/// <summary>A run of sequence numbers a device never delivered, within one boot epoch.</summary>
public readonly record struct SequenceHole(string DeviceId, long Epoch, long First, long Last)
{
    public long Missing => Last - First + 1;
}

/// <summary>
/// On a timer: raises <c>device_silent</c> for devices not heard from for their cadence (<see cref="DeviceCadence"/>:
/// the shortest among the kinds each sends), and <c>sequence_gap</c> for holes in a device's sequence numbers that
/// stayed open for <see cref="AlertOptions.SequenceGapGrace"/>. Both read <c>device_sequence</c>
/// (<see cref="DeviceSequenceStore"/>), the one record of the keys each device delivered over all its kinds and
/// owners (applied, duplicate or quarantined), incrementally by its update time: a device's holes are the gaps
/// between its ranges within a boot. A hole that fills (a late message) clears the alert, as does a device heard
/// from again. Every silo may run this: raising and clearing are idempotent. The kinds' cadences come from the
/// <see cref="TelemetryKindRegistry"/>.
/// </summary>
public sealed partial class DeviceWatchdog(
    DeviceSequenceStore sequences,
    DeviceActivityStore activity,
    AlertStore alerts,
    IOptions<AuditOptions> options,
    TimeProvider clock,
    ILogger<DeviceWatchdog> logger,
    TelemetryKindRegistry kindRegistry) : BackgroundService
{
    /// <summary>
    /// Boots are read again from this long before the newest update seen: a batch whose statement started earlier
    /// may commit after a later one (and silos' clocks differ a little), so its row would be behind the cursor.
    /// </summary>
    private static readonly TimeSpan CursorOverlap = TimeSpan.FromMinutes(2);

    private readonly Dictionary<(string DeviceId, long BootEpoch), DeviceBootSequence> _boots = [];
    private readonly Dictionary<SequenceHole, DateTimeOffset> _firstSeen = [];
    private DateTimeOffset _cursor = DateTimeOffset.MinValue;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Alerts.WatchdogInterval, clock);
        do
        {
            try
            {
                await CheckOnceAsync(stoppingToken);
            }
            catch (Exception exception) when (!stoppingToken.IsCancellationRequested)
            {
                LogCheckFailed(exception);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    public async Task CheckOnceAsync(CancellationToken cancellationToken)
    {
        await RefreshAsync(cancellationToken);
        await CheckSilentAsync(cancellationToken);
        await CheckGapsAsync(cancellationToken);
    }

    /// <summary>Reads the boots updated since the last look; forgets those past the retention (their rows are deleted).</summary>
    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var from = _cursor == DateTimeOffset.MinValue ? _cursor : _cursor - CursorOverlap;
        foreach (var boot in await sequences.UpdatedAfterAsync(from, cancellationToken))
        {
            _boots[(boot.DeviceId, boot.BootEpoch)] = boot;
            _cursor = boot.UpdatedAt > _cursor ? boot.UpdatedAt : _cursor;
        }

        var retired = clock.GetUtcNow() - DeviceCadence.KindsWindow;
        foreach (var key in _boots.Where(b => b.Value.UpdatedAt < retired).Select(b => b.Key).ToList())
        {
            _boots.Remove(key);
        }
    }

    /// <summary>Each kind a device delivered (over its boots) with the last time it was.</summary>
    private Dictionary<string, Dictionary<string, DateTimeOffset>> KindsByDevice()
    {
        var byDevice = new Dictionary<string, Dictionary<string, DateTimeOffset>>(StringComparer.Ordinal);
        foreach (var boot in _boots.Values)
        {
            if (!byDevice.TryGetValue(boot.DeviceId, out var kinds))
            {
                kinds = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
                byDevice[boot.DeviceId] = kinds;
            }

            foreach (var (kind, at) in boot.KindsLastDelivered)
            {
                if (!kinds.TryGetValue(kind, out var known) || at > known)
                {
                    kinds[kind] = at;
                }
            }
        }

        return byDevice;
    }

    private async Task CheckSilentAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var limits = options.Value.Alerts;
        await activity.FlushAsync(cancellationToken);
        var open = (await alerts.OpenKeysAsync(AlertKinds.DeviceSilent, cancellationToken)).ToHashSet(StringComparer.Ordinal);
        var kindsByDevice = KindsByDevice();
        var stillSilent = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (deviceId, ownerKind, ownerId, countyId, lastSeenAt) in await activity.SilentSinceAsync(now - DeviceCadence.ShortestLimit(limits, kindRegistry), cancellationToken))
        {
            var sent = kindsByDevice.GetValueOrDefault(deviceId) ?? [];
            if (DeviceCadence.SilentAfter(sent, now, limits, ownerKind, kindRegistry) is not { } after)
            {
                continue;
            }

            // A kind whose component does not touch device activity (or a quarantined message) is still a sign of life.
            var since = new DateTimeOffset(DateTime.SpecifyKind(lastSeenAt, DateTimeKind.Utc));
            foreach (var delivered in sent.Values)
            {
                since = delivered > since ? delivered : since;
            }

            if (now - since < after)
            {
                continue;
            }

            var key = AlertKinds.DeviceSilent + ":" + deviceId;
            stillSilent.Add(key);
            if (open.Contains(key))
            {
                continue;
            }

            var cadence = string.Join(", ", sent.Keys.Order(StringComparer.Ordinal));
            await alerts.RaiseAsync(new AlertDraft
            {
                Key = key,
                Kind = AlertKinds.DeviceSilent,
                Severity = "warning",
                Subject = "device:" + deviceId,
                PastureId = ownerKind == "pasture" ? ownerId : null,
                PlantId = ownerKind == "plant" ? ownerId : null,
                CountyId = countyId,
                Message = $"Device {deviceId} of {ownerKind} {ownerId} has sent nothing since {since:yyyy-MM-dd HH:mm:ss} UTC (limit {after}" +
                    (cadence.Length > 0 ? $", the shortest cadence of the kinds it sends: {cadence})" : ", its kinds are not known)"),
                Since = since,
                Readings = [new AlertReading { At = since, Name = "last_message_received", Source = deviceId, Limit = "every " + after }],
            }, now, cancellationToken);
        }

        // Devices whose alert is open but that are no longer silent by their cadence (heard through a kind that does
        // not touch device activity, or a limit raised by configuration): cleared here.
        var heard = open.Where(k => !stillSilent.Contains(k)).ToList();
        if (heard.Count > 0)
        {
            await alerts.ClearAsync(heard, "the device is within its reporting cadence again", now, cancellationToken);
        }
    }

    private async Task CheckGapsAsync(CancellationToken cancellationToken)
    {
        var byDevice = new Dictionary<string, List<SequenceHole>>(StringComparer.Ordinal);
        foreach (var boot in _boots.Values)
        {
            var holes = HolesOf(boot);
            if (holes.Count > 0)
            {
                if (!byDevice.TryGetValue(boot.DeviceId, out var list))
                {
                    list = [];
                    byDevice[boot.DeviceId] = list;
                }

                list.AddRange(holes);
            }
        }

        var now = clock.GetUtcNow();
        var grace = options.Value.Alerts.SequenceGapGrace;
        var current = new HashSet<SequenceHole>();
        var alerting = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (device, holes) in byDevice)
        {
            var aged = new List<SequenceHole>();
            foreach (var hole in holes)
            {
                current.Add(hole);
                if (!_firstSeen.TryGetValue(hole, out var first))
                {
                    first = now;
                    _firstSeen[hole] = now;
                }

                if (now - first >= grace)
                {
                    aged.Add(hole);
                }
            }

            if (aged.Count == 0)
            {
                continue;
            }

            aged.Sort((a, b) => (a.Epoch, a.First).CompareTo((b.Epoch, b.First)));
            var key = AlertKinds.SequenceGap + ":" + device;
            alerting.Add(key);
            var missing = aged.Sum(h => h.Missing);
            await alerts.RaiseAsync(new AlertDraft
            {
                Key = key,
                Kind = AlertKinds.SequenceGap,
                Severity = "warning",
                Subject = "device:" + device,
                Message = $"Device {device} is missing {missing.ToString(CultureInfo.InvariantCulture)} message(s): " +
                    string.Join(", ", aged.Take(10).Select(h => $"boot {h.Epoch} seq {h.First}-{h.Last}")) + (aged.Count > 10 ? ", ..." : ""),
                Since = _firstSeen[aged[0]],
                Readings = aged.Take(50).Select(h => new AlertReading
                {
                    At = _firstSeen[h], Name = "missing_sequence", Value = h.Missing, Unit = "messages",
                    Text = $"boot {h.Epoch} seq {h.First}-{h.Last}", Source = device,
                }).ToList(),
            }, now, cancellationToken);
        }

        foreach (var hole in _firstSeen.Keys.Where(h => !current.Contains(h)).ToList())
        {
            _firstSeen.Remove(hole);
        }

        var filled = (await alerts.OpenKeysAsync(AlertKinds.SequenceGap, cancellationToken)).Where(k => !alerting.Contains(k)).ToList();
        await alerts.ClearAsync(filled, "the missing messages arrived (or their boot is past the delivered-key retention)", now, cancellationToken);
    }

    /// <summary>The holes between the delivered runs of one boot (the runs are in order and apart).</summary>
    internal static List<SequenceHole> HolesOf(DeviceBootSequence boot)
    {
        var holes = new List<SequenceHole>();
        for (var i = 1; i < boot.Runs.Count; i++)
        {
            holes.Add(new SequenceHole(boot.DeviceId, boot.BootEpoch, boot.Runs[i - 1].Last + 1, boot.Runs[i].First - 1));
        }

        return holes;
    }

    [LoggerMessage(EventId = 7101, Level = LogLevel.Warning, Message = "Device watchdog check failed; retrying at the next tick")]
    private partial void LogCheckFailed(Exception exception);
}
