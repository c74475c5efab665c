using System.Globalization;
using System.Text.Json;
using Dapper;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.Audit.Alerts;

/// <summary>A run of sequence numbers a device never delivered, within one boot epoch.</summary>
public readonly record struct SequenceHole(string DeviceId, long Epoch, long First, long Last)
{
    public long Missing => Last - First + 1;
}

/// <summary>
/// On a timer: raises <c>device_silent</c> for devices not heard from for <see cref="AlertOptions.DeviceSilentAfter"/>,
/// and <c>sequence_gap</c> for holes in a device's sequence numbers that stayed open for
/// <see cref="AlertOptions.SequenceGapGrace"/>. Holes come from the applied-key ranges the owning grains store
/// (herd, pasture, plant state in <c>grain_state</c>) and from the keys of this component's own records, so the
/// hot path pays nothing for them. A hole that fills (a late message) clears the alert. Every silo may run this:
/// raising and clearing are idempotent.
/// </summary>
public sealed partial class DeviceWatchdog(
    NpgsqlDataSource dataSource,
    DeviceActivityStore activity,
    AlertStore alerts,
    IOptions<AuditOptions> options,
    TimeProvider clock,
    ILogger<DeviceWatchdog> logger) : BackgroundService
{
    private readonly Dictionary<string, Dictionary<string, List<SequenceHole>>> _grainHoles = new(StringComparer.Ordinal);
    private readonly Dictionary<SequenceHole, DateTimeOffset> _firstSeen = [];
    private DateTime _grainCursor = DateTime.MinValue;

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
        await CheckSilentAsync(cancellationToken);
        await CheckGapsAsync(cancellationToken);
    }

    private async Task CheckSilentAsync(CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        var after = options.Value.Alerts.DeviceSilentAfter;
        await activity.FlushAsync(cancellationToken);
        var open = (await alerts.OpenKeysAsync(AlertKinds.DeviceSilent, cancellationToken)).ToHashSet(StringComparer.Ordinal);
        foreach (var (deviceId, ownerKind, ownerId, countyId, lastSeen) in await activity.SilentSinceAsync(now - after, cancellationToken))
        {
            var key = AlertKinds.DeviceSilent + ":" + deviceId;
            if (open.Contains(key))
            {
                continue;
            }

            var since = new DateTimeOffset(DateTime.SpecifyKind(lastSeen, DateTimeKind.Utc));
            await alerts.RaiseAsync(new AlertDraft
            {
                Key = key,
                Kind = AlertKinds.DeviceSilent,
                Severity = "warning",
                Subject = "device:" + deviceId,
                PastureId = ownerKind == "pasture" ? ownerId : null,
                PlantId = ownerKind == "plant" ? ownerId : null,
                CountyId = countyId,
                Message = $"Device {deviceId} of {ownerKind} {ownerId} has sent nothing since {since:yyyy-MM-dd HH:mm:ss} UTC (limit {after})",
                Since = since,
                Readings = [new AlertReading { At = since, Name = "last_message_received", Source = deviceId, Limit = "every " + after }],
            }, now, cancellationToken);
        }
    }

    private async Task CheckGapsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        var rows = await connection.QueryAsync<(string GrainType, string GrainId, DateTime UpdatedAt, string? Devices)>(new CommandDefinition(
            """
            select grain_type, grain_id, updated_at, (state -> 'applied' -> 'devices')::text
            from grain_state where grain_type = any(@types) and updated_at > @cursor
            """, new { types = new[] { GrainStateNames.Herd, GrainStateNames.Pasture, GrainStateNames.Plant }, cursor = _grainCursor },
            cancellationToken: cancellationToken));
        foreach (var row in rows)
        {
            _grainHoles[row.GrainType + "/" + row.GrainId] = HolesFromAppliedLog(row.Devices);
            _grainCursor = row.UpdatedAt > _grainCursor ? row.UpdatedAt : _grainCursor;
        }

        var own = await connection.QueryAsync<(string DeviceId, long Epoch, long First, long Last)>(new CommandDefinition(
            """
            with k as (
                select device_id, boot_epoch, seq from quality_result
                union all select device_id, boot_epoch, seq from manure_record
                union all select device_id, boot_epoch, seq from health_record),
            l as (select device_id, boot_epoch, seq, lag(seq) over (partition by device_id, boot_epoch order by seq) as prev from k)
            select device_id, boot_epoch, prev + 1, seq - 1 from l where seq - prev > 1
            """, cancellationToken: cancellationToken));

        var byDevice = new Dictionary<string, List<SequenceHole>>(StringComparer.Ordinal);
        foreach (var grain in _grainHoles.Values)
        {
            foreach (var (device, holes) in grain)
            {
                Add(byDevice, device, holes);
            }
        }

        foreach (var (device, epoch, first, last) in own)
        {
            Add(byDevice, device, [new SequenceHole(device, epoch, first, last)]);
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
        await alerts.ClearAsync(filled, "the missing messages arrived (or their boot epoch was evicted from the applied-key log)", now, cancellationToken);
    }

    /// <summary>Holes between the applied ranges of each device and epoch in an owning grain's stored <c>AppliedKeyLog</c>.</summary>
    internal static Dictionary<string, List<SequenceHole>> HolesFromAppliedLog(string? devicesJson)
    {
        var holes = new Dictionary<string, List<SequenceHole>>(StringComparer.Ordinal);
        if (string.IsNullOrEmpty(devicesJson))
        {
            return holes;
        }

        using var document = JsonDocument.Parse(devicesJson);
        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            return holes;
        }

        foreach (var device in document.RootElement.EnumerateObject())
        {
            foreach (var epoch in device.Value.EnumerateArray())
            {
                var epochNumber = epoch.GetProperty("epoch").GetInt64();
                var ranges = epoch.GetProperty("ranges").Deserialize<SequenceRangeSet>(PostgresGrainStorage.JsonOptions) ?? [];
                for (var i = 1; i < ranges.Count; i++)
                {
                    Add(holes, device.Name, [new SequenceHole(device.Name, epochNumber, ranges[i - 1].Last + 1, ranges[i].First - 1)]);
                }

                // Holes the log had to close (too many in one epoch) are still loss: they stay holes here.
                if (epoch.TryGetProperty("unknown", out var closed) && closed.ValueKind != JsonValueKind.Null
                    && closed.Deserialize<SequenceRangeSet>(PostgresGrainStorage.JsonOptions) is { } closedHoles)
                {
                    Add(holes, device.Name, closedHoles.Select(r => new SequenceHole(device.Name, epochNumber, r.First, r.Last)));
                }
            }
        }

        return holes;
    }

    private static void Add(Dictionary<string, List<SequenceHole>> holes, string device, IEnumerable<SequenceHole> items)
    {
        if (!holes.TryGetValue(device, out var list))
        {
            list = [];
            holes[device] = list;
        }

        list.AddRange(items);
    }

    [LoggerMessage(EventId = 7101, Level = LogLevel.Warning, Message = "Device watchdog check failed; retrying at the next tick")]
    private partial void LogCheckFailed(Exception exception);
}
