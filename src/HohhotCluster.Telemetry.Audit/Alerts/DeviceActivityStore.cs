using System.Collections.Concurrent;
using Dapper;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.Audit.Alerts;

public readonly record struct DeviceSeen(string DeviceId, string OwnerKind, string OwnerId, string CountyId, DateTimeOffset EventTime);

/// <summary>
/// <c>device_activity</c>: when each device was last heard from, read by the watchdog. A device is written at once
/// the first time it is seen (by this process) and when its last write is older than the watchdog interval (which
/// also clears its silent alert at once: a device silent long enough to have one is always due); in between, what
/// the fleet sends is only noted in memory and written by <see cref="FlushAsync"/>, which the watchdog calls before
/// it looks for silent devices. So the hot path writes each device about once a minute instead of once a batch,
/// and the watchdog still sees every device's exact last time.
/// </summary>
public sealed class DeviceActivityStore(NpgsqlDataSource dataSource, AlertStore alerts, IOptions<AuditOptions> options, TimeProvider clock)
{
    private readonly ConcurrentDictionary<string, DateTimeOffset> _writtenAt = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (DeviceSeen Device, DateTimeOffset SeenAt)> _unwritten = new(StringComparer.Ordinal);

    public async Task TouchAsync(IReadOnlyList<DeviceSeen> seen, CancellationToken cancellationToken)
    {
        if (seen.Count == 0)
        {
            return;
        }

        var now = clock.GetUtcNow();
        var interval = options.Value.Alerts.WatchdogInterval;
        var due = new Dictionary<string, (DeviceSeen Device, DateTimeOffset SeenAt)>(StringComparer.Ordinal);
        foreach (var device in seen)
        {
            if (_writtenAt.TryGetValue(device.DeviceId, out var writtenAt) && now - writtenAt < interval)
            {
                _unwritten.AddOrUpdate(device.DeviceId, (device, now), (_, known) => (Latest(known.Device, device), now));
            }
            else
            {
                due[device.DeviceId] = due.TryGetValue(device.DeviceId, out var known) ? (Latest(known.Device, device), now) : (device, now);
            }
        }

        if (due.Count > 0)
        {
            await WriteAsync(due.Values.ToArray(), cancellationToken);
        }
    }

    /// <summary>Writes what was only noted in memory since the last write of each device.</summary>
    public async Task FlushAsync(CancellationToken cancellationToken)
    {
        var pending = new List<(DeviceSeen, DateTimeOffset)>(_unwritten.Count);
        foreach (var deviceId in _unwritten.Keys)
        {
            if (_unwritten.TryRemove(deviceId, out var entry))
            {
                pending.Add(entry);
            }
        }

        try
        {
            await WriteAsync([.. pending], cancellationToken);
        }
        catch
        {
            // Keep them for the next flush (a newer sighting noted meanwhile wins).
            foreach (var (device, seenAt) in pending)
            {
                _unwritten.AddOrUpdate(device.DeviceId, (device, seenAt), (_, newer) => newer);
            }

            throw;
        }
    }

    private static DeviceSeen Latest(DeviceSeen a, DeviceSeen b) => b.EventTime > a.EventTime ? b : a;

    private async Task WriteAsync((DeviceSeen Device, DateTimeOffset SeenAt)[] devices, CancellationToken cancellationToken)
    {
        if (devices.Length == 0)
        {
            return;
        }

        var now = clock.GetUtcNow();
        await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            await connection.ExecuteAsync(new CommandDefinition(
                """
                insert into device_activity (device_id, owner_kind, owner_id, county_id, last_seen_at, last_event)
                select d, k, o, c, s, e from unnest(@ids, @kinds, @owners, @counties, @seen, @events) as t(d, k, o, c, s, e)
                on conflict (device_id) do update set owner_kind = excluded.owner_kind, owner_id = excluded.owner_id,
                    county_id = excluded.county_id, last_seen_at = greatest(device_activity.last_seen_at, excluded.last_seen_at),
                    last_event = greatest(device_activity.last_event, excluded.last_event)
                """,
                new
                {
                    ids = devices.Select(d => d.Device.DeviceId).ToArray(),
                    kinds = devices.Select(d => d.Device.OwnerKind).ToArray(),
                    owners = devices.Select(d => d.Device.OwnerId).ToArray(),
                    counties = devices.Select(d => d.Device.CountyId).ToArray(),
                    seen = devices.Select(d => d.SeenAt.UtcDateTime).ToArray(),
                    events = devices.Select(d => d.Device.EventTime.UtcDateTime).ToArray(),
                }, cancellationToken: ct));
            await alerts.ClearAsync(connection, null, devices.Select(d => AlertKinds.DeviceSilent + ":" + d.Device.DeviceId).ToArray(), "the device is sending again", now, ct);
            return 0;
        }, cancellationToken);

        foreach (var (device, _) in devices)
        {
            _writtenAt[device.DeviceId] = now;
        }
    }

    public Task<IReadOnlyList<(string DeviceId, string OwnerKind, string OwnerId, string CountyId, DateTime LastSeenAt)>> SilentSinceAsync(
        DateTimeOffset before, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync<IReadOnlyList<(string, string, string, string, DateTime)>>(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return (await connection.QueryAsync<(string, string, string, string, DateTime)>(new CommandDefinition(
                "select device_id, owner_kind, owner_id, county_id, last_seen_at from device_activity where last_seen_at < @before",
                new { before = before.UtcDateTime }, cancellationToken: ct))).AsList();
        }, cancellationToken);
}
