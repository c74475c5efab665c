using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Audit.Alerts;

/// <summary>
/// Notes every kind's accepted keys in device activity, once per batch (the pipeline's one hook for all kinds), so a
/// kind stored by any component (a tank's <c>tanker_pickup</c>, a TMR mixer's loads) keeps its device from silence
/// without touching device activity itself. Idempotent: a sighting only moves a device's last time forward.
/// </summary>
public sealed class DeviceActivityKeysObserver(DeviceActivityStore activity) : IAcceptedKeysObserver
{
    public Task OnAcceptedAsync(IReadOnlyList<AcceptedKey> keys, CancellationToken cancellationToken) =>
        activity.TouchAsync(
            keys.Select(k => new DeviceSeen(k.Key.DeviceId, k.Device.OwnerKind, k.Device.OwnerId, k.Device.CountyId, k.EventTime)).ToList(),
            cancellationToken);
}
