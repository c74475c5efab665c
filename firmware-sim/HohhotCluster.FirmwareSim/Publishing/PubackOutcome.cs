namespace HohhotCluster.FirmwareSim.Publishing;

/// <summary>What a PUBACK's reason code says became of what was published (the platform's MQTT endpoint, or a site broker).</summary>
internal enum PubackOutcome
{
    /// <summary>Any code below 0x80: stored and counted, or a duplicate of the same body (a site broker's 0x10, no matching subscribers, too).</summary>
    Counted,

    /// <summary>0x99 on a publish of one reading: the platform holds it durably in quarantine. Not resent.</summary>
    Quarantined,

    /// <summary>0x99 on a batch of several readings: every item is durable, some are quarantined; which ones, the batch's halves are asked.</summary>
    PartlyQuarantined,

    /// <summary>0x97 (a device beyond its rate) or 0x96 (message rate too high): stored nowhere; kept and resent later, after a backoff.</summary>
    RateLimited,

    /// <summary>0x87 (a topic outside the gateway's owner) or any other refusal: stored nowhere, and resending would not help.</summary>
    Refused,
}

internal static class PubackCodes
{
    public const int PayloadFormatInvalid = 0x99;
    /// <summary>The platform's PUBACK for a device beyond its rate; as a DISCONNECT reason too (a quota the server enforces).</summary>
    public const int QuotaExceeded = 0x97;
    /// <summary>The platform's DISCONNECT reason for a gateway beyond its rate; taken as a PUBACK as well.</summary>
    public const int MessageRateTooHigh = 0x96;
    public const int NotAuthorized = 0x87;

    /// <summary>A DISCONNECT reason that asks the client to slow down before it reconnects.</summary>
    public static bool IsRateDisconnect(int reasonCode) => reasonCode is MessageRateTooHigh or QuotaExceeded;

    /// <summary>A PUBACK's reason code (0-255; the ledger's negative codes are no PUBACK) on a publish of one reading or of several.</summary>
    public static PubackOutcome Classify(int reasonCode, bool severalReadings) => reasonCode switch
    {
        < 0 => throw new ArgumentOutOfRangeException(nameof(reasonCode), reasonCode, "not a PUBACK reason code"),
        < 0x80 => PubackOutcome.Counted,
        PayloadFormatInvalid => severalReadings ? PubackOutcome.PartlyQuarantined : PubackOutcome.Quarantined,
        MessageRateTooHigh or QuotaExceeded => PubackOutcome.RateLimited,
        _ => PubackOutcome.Refused,
    };
}
