using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Audit.Alerts;

/// <summary>
/// How long a device may send nothing before it is silent, from the kinds it sends. Each kind has a reporting cadence:
/// the override in <see cref="AlertOptions.SilentAfterByKind"/> if configured, else the <see cref="ITelemetryKind.Cadence"/>
/// its definition declares in the <see cref="TelemetryKindRegistry"/> (for the device's owner kind). A device is silent
/// when nothing came for the SHORTEST cadence among the kinds it delivered within <see cref="KindsWindow"/> that are
/// not event-driven. A device that sent only event-driven kinds (a tank's <c>tanker_pickup</c>, a silo transfer) is
/// never silent; one whose kinds are not known (nothing recorded in <c>device_sequence</c>, e.g. nothing for longer
/// than its retention) has <see cref="AlertOptions.DeviceSilentAfter"/>. A kind with neither a definition nor an override
/// (one the platform no longer knows) has no say.
/// </summary>
public static class DeviceCadence
{
    /// <summary>The kinds a device sent within this window decide its limit (the delivered-key retention, 8 days).</summary>
    public static readonly TimeSpan KindsWindow = TimeSpan.FromDays(8);

    /// <summary>
    /// A kind's cadence (null: event-driven): the override if configured (zero: event-driven), else the registered
    /// definition's for <paramref name="ownerKind"/>; false: the kind has neither.
    /// </summary>
    public static bool TryGetSilentAfter(string kind, string? ownerKind, AlertOptions options, TelemetryKindRegistry registry, out TimeSpan? silentAfter)
    {
        if (options.SilentAfterByKind.TryGetValue(kind, out var configured))
        {
            silentAfter = configured == TimeSpan.Zero ? null : configured;
            return true;
        }

        if (ownerKind is not null && OwnerKinds.TryParse(ownerKind, out var owner) && registry.CadenceOf(kind, owner) is { } declared)
        {
            silentAfter = declared.SilentAfter;
            return true;
        }

        silentAfter = null;
        return false;
    }

    /// <summary>The device's limit, or null when it is never silent (it sent only event-driven kinds lately).</summary>
    public static TimeSpan? SilentAfter(
        IReadOnlyDictionary<string, DateTimeOffset> kindsLastDelivered, DateTimeOffset now, AlertOptions options,
        string? ownerKind, TelemetryKindRegistry registry)
    {
        if (kindsLastDelivered.Count == 0)
        {
            return options.DeviceSilentAfter;
        }

        TimeSpan? shortest = null;
        foreach (var (kind, lastDelivered) in kindsLastDelivered)
        {
            if (now - lastDelivered <= KindsWindow && TryGetSilentAfter(kind, ownerKind, options, registry, out var silentAfter)
                && silentAfter is { } limit && (shortest is null || limit < shortest))
            {
                shortest = limit;
            }
        }

        return shortest;
    }

    /// <summary>The shortest limit any device can have: the watchdog asks device activity for devices quiet at least this long.</summary>
    public static TimeSpan ShortestLimit(AlertOptions options, TelemetryKindRegistry registry)
    {
        var shortest = options.DeviceSilentAfter;
        foreach (var limit in options.SilentAfterByKind.Values)
        {
            if (limit > TimeSpan.Zero && limit < shortest)
            {
                shortest = limit;
            }
        }

        foreach (var kind in registry.All)
        {
            if (TryGetSilentAfter(kind.Name, OwnerKinds.Name(kind.Owner), options, registry, out var silentAfter) && silentAfter is { } limit && limit < shortest)
            {
                shortest = limit;
            }
        }

        return shortest;
    }
}
