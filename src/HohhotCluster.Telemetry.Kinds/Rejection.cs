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

    // The animal registry's (src/HohhotCluster.Telemetry.Animals, docs/animals.md "Rules").

    /// <summary>An animal event for an ear tag the registry does not hold (its birth, arrival or import comes first).</summary>
    public const string UnknownAnimal = "unknown_animal";

    /// <summary>A birth, arrival or import of an ear tag already registered alive (or a birth of a departed one).</summary>
    public const string AnimalAlreadyRegistered = "animal_already_registered";

    /// <summary>A calf's ear tag whose county code is not the county of the pasture it was born on.</summary>
    public const string TagCountyMismatch = "tag_county_mismatch";

    /// <summary>An ear tag's species code (or the animal's ICAR specie) is not the pasture's species.</summary>
    public const string SpeciesMismatch = "species_mismatch";

    /// <summary>An event of an animal that has departed (off farm).</summary>
    public const string AnimalDeparted = "animal_departed";

    /// <summary>An event of an animal that has died.</summary>
    public const string AnimalDead = "animal_dead";

    /// <summary>An event from a pasture for an animal registered alive on another.</summary>
    public const string AnimalNotOnPasture = "animal_not_on_pasture";

    /// <summary>A calving or dry-off of an animal not registered as female.</summary>
    public const string AnimalNotFemale = "animal_not_female";

    /// <summary>A dry-off of an animal not in milk.</summary>
    public const string AnimalNotLactating = "animal_not_lactating";

    /// <summary>An event older than the animal's newest one: the registry takes an animal's events in time order.</summary>
    public const string AnimalEventOutOfOrder = "animal_event_out_of_order";

    /// <summary>A <c>supervisory</c> quality sample from a device of the audited party (a pasture or plant), not a regulator's lab.</summary>
    public const string SupervisoryNotFromLab = "supervisory_not_from_lab";

    /// <summary>Its key's boot epoch was forgotten, or it falls in a closed hole: nobody can tell whether it was counted.</summary>
    public const string UnverifiableKey = "unverifiable_key";

    /// <summary>Its key was first received with another body: both digests are in the detail, neither store changed.</summary>
    public const string ConflictingDuplicate = "conflicting_duplicate";

    /// <summary>It failed its batch, alone, time after time, with no store away: the error is in the detail.</summary>
    public const string ProcessingFailed = "processing_failed";
}
