using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Audit.Alerts;

/// <summary>
/// How long a device may send nothing before it is silent, from the kinds it sends. Each kind has a reporting cadence:
/// the override in <see cref="AlertOptions.SilentAfterByKind"/> if configured, else the <see cref="ITelemetryKind.Cadence"/>
/// its definition declares in the <see cref="TelemetryKindRegistry"/> (for the device's owner kind), else its entry in
/// <see cref="Defaults"/> (the kinds not yet defined as a <see cref="TelemetryKind{TRecord}"/>). A device is silent
/// when nothing came for the SHORTEST cadence among the kinds it delivered within <see cref="KindsWindow"/> that are
/// not event-driven. A device that sent only event-driven kinds (a tank's <c>tanker_pickup</c>, a silo transfer) is
/// never silent; one whose kinds are not known (nothing recorded in <c>device_sequence</c>, e.g. nothing for longer
/// than its retention) has <see cref="AlertOptions.DeviceSilentAfter"/>. A kind with neither a default nor an override
/// has no say.
/// </summary>
public static class DeviceCadence
{
    /// <summary>The kinds a device sent within this window decide its limit (the delivered-key retention, 8 days).</summary>
    public static readonly TimeSpan KindsWindow = TimeSpan.FromDays(8);

    /// <summary>
    /// The defaults, by kind name (null: event-driven), for the kinds not yet registered as a
    /// <see cref="TelemetryKind{TRecord}"/>: they belong to the kinds' own definitions (each declares its
    /// <see cref="ReportingCadence"/>, which wins over this table) and go from here as the kinds move. Figures from the simulator and the
    /// contract, not from a device vendor: bulk-tank levels come every few minutes; milk meters only during milking
    /// (2 or 3 sessions a day, 8-12 h apart); plant intakes per load (two tanker sweeps a day); quality results per lot,
    /// load or supervisory sample (every day in a fleet of any size); manure records daily (20:00); health census daily
    /// (07:00) with vaccinations and antibody tests beside it; production per wave (daily); tanker pickups and silo
    /// transfers when milk moves.
    /// </summary>
    public static IReadOnlyDictionary<string, TimeSpan?> Defaults { get; } = new Dictionary<string, TimeSpan?>(StringComparer.Ordinal)
    {
        ["bulk_tank"] = TimeSpan.FromMinutes(30),
        ["milking"] = TimeSpan.FromHours(14),
        ["plant_intake"] = TimeSpan.FromHours(26),
        ["quality"] = TimeSpan.FromHours(36),
        ["manure"] = TimeSpan.FromHours(36),
        ["health"] = TimeSpan.FromHours(36),
        ["production"] = TimeSpan.FromHours(36),
        ["tanker_pickup"] = null,
        ["silo_transfer"] = null,
    };

    /// <summary>
    /// A kind's cadence (null: event-driven): the override if configured (zero: event-driven), else the registered
    /// definition's for <paramref name="ownerKind"/>, else the default; false: the kind has none of them.
    /// </summary>
    public static bool TryGetSilentAfter(string kind, string? ownerKind, AlertOptions options, TelemetryKindRegistry? registry, out TimeSpan? silentAfter)
    {
        if (options.SilentAfterByKind.TryGetValue(kind, out var configured))
        {
            silentAfter = configured == TimeSpan.Zero ? null : configured;
            return true;
        }

        if (registry is not null && ownerKind is not null && OwnerKinds.TryParse(ownerKind, out var owner)
            && registry.CadenceOf(kind, owner) is { } declared)
        {
            silentAfter = declared.SilentAfter;
            return true;
        }

        return Defaults.TryGetValue(kind, out silentAfter);
    }

    /// <summary>The device's limit, or null when it is never silent (it sent only event-driven kinds lately).</summary>
    public static TimeSpan? SilentAfter(
        IReadOnlyDictionary<string, DateTimeOffset> kindsLastDelivered, DateTimeOffset now, AlertOptions options,
        string? ownerKind = null, TelemetryKindRegistry? registry = null)
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
    public static TimeSpan ShortestLimit(AlertOptions options, TelemetryKindRegistry? registry = null)
    {
        var shortest = options.DeviceSilentAfter;
        foreach (var kind in Defaults.Keys.Concat(options.SilentAfterByKind.Keys))
        {
            if (TryGetSilentAfter(kind, null, options, null, out var silentAfter) && silentAfter is { } limit && limit < shortest)
            {
                shortest = limit;
            }
        }

        foreach (var kind in registry?.All ?? [])
        {
            if (TryGetSilentAfter(kind.Name, OwnerKinds.Name(kind.Owner), options, registry, out var silentAfter) && silentAfter is { } limit && limit < shortest)
            {
                shortest = limit;
            }
        }

        return shortest;
    }
}
