namespace HohhotCluster.Telemetry.Kinds;

/// <summary>Why a message was not accepted: a <see cref="QuarantineReasons"/> code and a human detail naming the field.</summary>
public readonly record struct Rejection(string Reason, string Detail);

/// <summary>The reasons a message is quarantined. Stable strings: they are stored, counted and shown to operators.</summary>
public static class QuarantineReasons
{
    /// <summary>Every reason below, e.g. for a counter that must show each one from 0 before its first quarantine.</summary>
    public static IReadOnlyList<string> All { get; } = [.. typeof(QuarantineReasons)
        .GetFields(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Static)
        .Where(f => f.IsLiteral && f.FieldType == typeof(string))
        .Select(f => (string)f.GetRawConstantValue()!)];

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
