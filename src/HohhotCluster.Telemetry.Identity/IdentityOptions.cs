using System.ComponentModel.DataAnnotations;

namespace HohhotCluster.Telemetry.Identity;

public sealed class IdentityOptions
{
    public const string Section = "Identity";

    /// <summary>The issuer written into the tokens this platform signs, and expected in the tokens it accepts.</summary>
    [Required]
    public string Issuer { get; set; } = "https://hohhot-telemetry.local/";

    /// <summary>The audience of the API's tokens.</summary>
    [Required]
    public string Audience { get; set; } = "hohhot-api";

    /// <summary>
    /// The PEM file of the RSA key that signs tokens. Created (mode 0600) at first start when it does not exist, so no
    /// installation shares a default key; every host of one platform reads the same file.
    /// </summary>
    public string SigningKeyFile { get; set; } = "";

    /// <summary>
    /// An external OpenID Connect provider's authority (e.g. https://login.example.com/realms/hohhot): tokens are then
    /// validated against its published keys and the embedded issuer is not used. Accounts must still exist here.
    /// </summary>
    public string Authority { get; set; } = "";

    [Range(typeof(TimeSpan), "00:01:00", "1.00:00:00")]
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a verified caller (account, organisation, holdings) is remembered before it is read again.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan CallerCacheLifetime { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>
    /// A file holding the first operator's password: at start, when no platform operator exists, the organisation
    /// <c>platform</c> and its admin <see cref="BootstrapOperatorAccount"/> are created with it. The deploy scripts
    /// generate the file; nothing ships a default.
    /// </summary>
    public string BootstrapOperatorPasswordFile { get; set; } = "";

    [Required]
    public string BootstrapOperatorAccount { get; set; } = "operator";

    [Range(typeof(TimeSpan), "1.00:00:00", "3650.00:00:00")]
    public TimeSpan AccessLogRetention { get; set; } = TimeSpan.FromDays(400);

    /// <summary>How long the access log gathers entries into one write (exports and traces are written at once).</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan AccessLogFlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Calls per second one account may make (a token bucket of twice this size).</summary>
    [Range(1, 1_000_000)]
    public int CallsPerSecond { get; set; } = 200;
}
