using Dapper;
using HohhotCluster.Telemetry.Ingestion;
using HohhotCluster.Telemetry.Storage;
using Npgsql;

namespace HohhotCluster.Telemetry.Audit.Alerts;

public readonly record struct DeviceSeen(string DeviceId, string OwnerKind, string OwnerId, string CountyId, DateTimeOffset EventTime);

/// <summary>
/// <c>device_activity</c>: when each device was last heard from (one upsert per batch), read by the watchdog. A device
/// heard from again clears its silent alert at once.
/// </summary>
public sealed class DeviceActivityStore(NpgsqlDataSource dataSource, AlertStore alerts, TimeProvider clock)
{
    public async Task TouchAsync(IReadOnlyList<DeviceSeen> seen, CancellationToken cancellationToken)
    {
        if (seen.Count == 0)
        {
            return;
        }

        var latest = new Dictionary<string, DeviceSeen>(StringComparer.Ordinal);
        foreach (var device in seen)
        {
            if (!latest.TryGetValue(device.DeviceId, out var known) || known.EventTime < device.EventTime)
            {
                latest[device.DeviceId] = device;
            }
        }

        var now = clock.GetUtcNow();
        var devices = latest.Values.ToArray();
        await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            await connection.ExecuteAsync(new CommandDefinition(
                """
                insert into device_activity (device_id, owner_kind, owner_id, county_id, last_seen_at, last_event)
                select d, k, o, c, @now, e from unnest(@ids, @kinds, @owners, @counties, @events) as t(d, k, o, c, e)
                on conflict (device_id) do update set owner_kind = excluded.owner_kind, owner_id = excluded.owner_id,
                    county_id = excluded.county_id, last_seen_at = greatest(device_activity.last_seen_at, excluded.last_seen_at),
                    last_event = greatest(device_activity.last_event, excluded.last_event)
                """,
                new
                {
                    now = now.UtcDateTime,
                    ids = devices.Select(d => d.DeviceId).ToArray(),
                    kinds = devices.Select(d => d.OwnerKind).ToArray(),
                    owners = devices.Select(d => d.OwnerId).ToArray(),
                    counties = devices.Select(d => d.CountyId).ToArray(),
                    events = devices.Select(d => d.EventTime.UtcDateTime).ToArray(),
                }, cancellationToken: ct));
            await alerts.ClearAsync(connection, null, devices.Select(d => AlertKinds.DeviceSilent + ":" + d.DeviceId).ToArray(), "the device is sending again", now, ct);
            return 0;
        }, cancellationToken);
    }

    public Task TouchAsync(IReadOnlyList<AcceptedRecord> records, CancellationToken cancellationToken) =>
        TouchAsync(records.Select(r => new DeviceSeen(r.Key.DeviceId, r.Device.OwnerKind, r.Device.OwnerId, r.Device.CountyId, r.EventTime)).ToList(), cancellationToken);

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
