using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Ingestion;

public enum TelemetryKind
{
    Milking,
    BulkTank,
    PlantIntake,
}

/// <summary>
/// <c>hohhot/v1/{ownerKind}/{ownerId}/{deviceId}/{kind}</c> (see docs/mqtt-contract.md). <see cref="Kind"/> is the
/// topic's kind name; <see cref="CoreKind"/> is set for the kinds ingestion owns, null for an extension kind.
/// </summary>
public readonly record struct TelemetryTopic(OwnerKind OwnerKind, string OwnerId, string DeviceId, string Kind, TelemetryKind? CoreKind)
{
    public const string Prefix = "hohhot/v1/";
    public const string SubscriptionFilter = "hohhot/v1/#";

    public static string Format(OwnerKind ownerKind, string ownerId, string deviceId, TelemetryKind kind) =>
        $"{Prefix}{OwnerKinds.Name(ownerKind)}/{ownerId}/{deviceId}/{KindName(kind)}";

    public static string KindName(TelemetryKind kind) => kind switch
    {
        TelemetryKind.Milking => "milking",
        TelemetryKind.BulkTank => "bulk_tank",
        TelemetryKind.PlantIntake => "plant_intake",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    public static bool TryParse(string topic, out TelemetryTopic parsed, out string reason, out string detail) =>
        TryParse(topic, null, out parsed, out reason, out detail);

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

    /// <summary>How extension kinds are keyed: one kind name may have a handler per owner kind.</summary>
    public static string ExtensionKey(string kind, OwnerKind owner) => kind + "@" + OwnerKinds.Name(owner);

    /// <summary>Parses a topic; on failure returns the rejection reason (<c>unknown_topic</c> or <c>unknown_kind</c>).</summary>
    public static bool TryParse(
        string topic, IReadOnlyDictionary<string, IRecordKindHandler>? extensions, out TelemetryTopic parsed, out string reason, out string detail)
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
        OwnerKind ownerKind;
        if (ownerKindText.SequenceEqual("pasture"))
        {
            ownerKind = OwnerKind.Pasture;
        }
        else if (ownerKindText.SequenceEqual("plant"))
        {
            ownerKind = OwnerKind.Plant;
        }
        else if (ownerKindText.SequenceEqual("lab"))
        {
            ownerKind = OwnerKind.Lab;
        }
        else
        {
            detail = "owner kind must be pasture, plant or lab";
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
        TelemetryKind? core = kindText switch
        {
            "milking" => TelemetryKind.Milking,
            "bulk_tank" => TelemetryKind.BulkTank,
            "plant_intake" => TelemetryKind.PlantIntake,
            _ => null,
        };
        bool ownerMatches;
        if (core is { } coreKind)
        {
            ownerMatches = ownerKind == (coreKind == TelemetryKind.PlantIntake ? OwnerKind.Plant : OwnerKind.Pasture);
        }
        else if (extensions is not null &&
            (extensions.ContainsKey(ExtensionKey(kindText, OwnerKind.Pasture)) || extensions.ContainsKey(ExtensionKey(kindText, OwnerKind.Plant))
             || extensions.ContainsKey(ExtensionKey(kindText, OwnerKind.Lab))))
        {
            ownerMatches = extensions.ContainsKey(ExtensionKey(kindText, ownerKind));
        }
        else
        {
            reason = QuarantineReasons.UnknownKind;
            detail = "unknown kind '" + kindText + "'";
            return false;
        }

        if (!ownerMatches)
        {
            reason = QuarantineReasons.UnknownKind;
            detail = $"kind '{kindText}' is not published under a {ownerKindText.ToString()}";
            return false;
        }

        parsed = new TelemetryTopic(ownerKind, ownerId.ToString(), deviceId.ToString(), kindText, core);
        return true;
    }
}
