using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Audit.Alerts;

/// <summary>
/// Notes device activity once per batch for every kind's accepted keys (duplicates too: a resend is the device
/// heard from). A kind that declares no cadence (event-driven) never makes its device "silent", so only kinds with
/// a <see cref="ReportingCadence.SilentAfter"/> are noted.
/// </summary>
public sealed class DeviceActivityObserver(DeviceActivityStore activity) : IAcceptedKeysObserver
{
    public Task OnAcceptedAsync(IReadOnlyList<AcceptedKey> keys, CancellationToken cancellationToken)
    {
        var seen = new List<DeviceSeen>(keys.Count);
        foreach (var key in keys)
        {
            if (key.Kind.Cadence.SilentAfter is not null)
            {
                seen.Add(new DeviceSeen(key.Key.DeviceId, key.Device.OwnerKind, key.Device.OwnerId, key.Device.CountyId, key.EventTime));
            }
        }

        return activity.TouchAsync(seen, cancellationToken);
    }
}
