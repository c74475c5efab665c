using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// <c>hohhot/v1/{ownerKind}/{ownerId}/{deviceId}/{kind}</c> (see docs/mqtt-contract.md). <see cref="Kind"/> is the
/// topic's kind name, one the <see cref="TelemetryKindRegistry"/> holds for <see cref="OwnerKind"/>.
/// </summary>
public readonly record struct TelemetryTopic(OwnerKind OwnerKind, string OwnerId, string DeviceId, string Kind)
{
    public const string Prefix = "hohhot/v1/";
    public const string SubscriptionFilter = "hohhot/v1/#";

    public static string Format(OwnerKind ownerKind, string ownerId, string deviceId, string kind) =>
        $"{Prefix}{OwnerKinds.Name(ownerKind)}/{ownerId}/{deviceId}/{kind}";

    /// <summary>The device id part of a topic (<c>hohhot/v1/{ownerKind}/{ownerId}/{deviceId}/{kind}</c>), or null when the topic has no such part.</summary>
    public static string? DeviceSegment(string topic)
    {
        if (!topic.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var parts = topic.AsSpan(Prefix.Length);
        Span<Range> ranges = stackalloc Range[5];
        return parts.Split(ranges, '/') == 4 ? parts[ranges[2]].ToString() : null;
    }

    /// <summary>Parses a topic; on failure returns the rejection reason (<c>unknown_topic</c> or <c>unknown_kind</c>).</summary>
    public static bool TryParse(
        string topic, TelemetryKindRegistry? kinds, out TelemetryTopic parsed, out string reason, out string detail)
    {
        parsed = default;
        reason = QuarantineReasons.UnknownTopic;
        detail = "";
        if (!topic.StartsWith(Prefix, StringComparison.Ordinal))
        {
            detail = "topic must start with " + Prefix;
            return false;
        }

        var parts = topic.AsSpan(Prefix.Length);
        Span<Range> ranges = stackalloc Range[5];
        if (parts.Split(ranges, '/') != 4)
        {
            detail = "expected hohhot/v1/{ownerKind}/{ownerId}/{deviceId}/{kind}";
            return false;
        }

        var ownerKindText = parts[ranges[0]];
        if (!OwnerKinds.TryParse(ownerKindText, out var ownerKind))
        {
            detail = "owner kind must be " + string.Join(", ", OwnerKinds.All.Take(OwnerKinds.All.Count - 1).Select(OwnerKinds.Name)) + " or " + OwnerKinds.Name(OwnerKinds.All[^1]);
            return false;
        }

        var ownerId = parts[ranges[1]];
        var deviceId = parts[ranges[2]];
        if (ownerId.IsEmpty || deviceId.IsEmpty)
        {
            detail = "owner id and device id must not be empty";
            return false;
        }

        if (ownerId.Length > TelemetryPayloadParser.MaxRegistryIdLength || deviceId.Length > TelemetryPayloadParser.MaxRegistryIdLength)
        {
            detail = $"owner id and device id are registry ids of at most {TelemetryPayloadParser.MaxRegistryIdLength} characters";
            return false;
        }

        var kindText = parts[ranges[3]].ToString();
        var owners = kinds?.OwnersOf(kindText) ?? [];
        if (owners.Count == 0)
        {
            reason = QuarantineReasons.UnknownKind;
            detail = "unknown kind '" + kindText + "'";
            return false;
        }

        if (!owners.Contains(ownerKind))
        {
            reason = QuarantineReasons.UnknownKind;
            detail = $"kind '{kindText}' is not published under a {ownerKindText.ToString()}";
            return false;
        }

        parsed = new TelemetryTopic(ownerKind, ownerId.ToString(), deviceId.ToString(), kindText);
        return true;
    }
}
