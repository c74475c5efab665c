namespace HohhotCluster.Telemetry.Ingestion;

public enum OwnerKind
{
    Pasture,
    Plant,

    /// <summary>A regulator's testing laboratory: publishes supervisory quality samples only.</summary>
    Lab,
}

public static class OwnerKinds
{
    /// <summary>The owner kind's topic segment and registry name: <c>pasture</c>, <c>plant</c> or <c>lab</c>.</summary>
    public static string Name(OwnerKind kind) => kind switch
    {
        OwnerKind.Pasture => "pasture",
        OwnerKind.Plant => "plant",
        OwnerKind.Lab => "lab",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}

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

/// <summary>The reasons a message is quarantined. Stable strings: they are stored, counted and shown to operators.</summary>
public static class QuarantineReasons
{
    public const string PayloadTooLarge = "payload_too_large";
    public const string InvalidUtf8 = "invalid_utf8";
    public const string MalformedJson = "malformed_json";
    public const string TooDeep = "too_deep";
    public const string UnknownTopic = "unknown_topic";
    public const string UnknownKind = "unknown_kind";
    public const string MissingField = "missing_field";
    public const string InvalidField = "invalid_field";
    public const string DeviceMismatch = "device_mismatch";
    public const string UnknownDevice = "unknown_device";
    public const string TopicOwnerMismatch = "topic_owner_mismatch";
    public const string UnknownHerd = "unknown_herd";
    public const string ClockSkew = "clock_skew";
    public const string TooLate = "too_late";
    public const string InfluxRejected = "influx_rejected";

    /// <summary>A <c>supervisory</c> quality sample from a device of the audited party (a pasture or plant), not a regulator's lab.</summary>
    public const string SupervisoryNotFromLab = "supervisory_not_from_lab";

    /// <summary>Its key's boot epoch was forgotten, or it falls in a closed hole: nobody can tell whether it was counted.</summary>
    public const string UnverifiableKey = "unverifiable_key";

    /// <summary>Its key was first received with another body: both digests are in the detail, neither store changed.</summary>
    public const string ConflictingDuplicate = "conflicting_duplicate";

    /// <summary>It failed its batch, alone, time after time, with no store away: the error is in the detail.</summary>
    public const string ProcessingFailed = "processing_failed";
}
