using System.Globalization;
using System.Net;
using System.Text;
using Orleans.Runtime;

namespace HohhotCluster.Telemetry.Storage.Cluster;

/// <summary>
/// The rules by which <see cref="PostgresMembershipTable"/> turns Orleans' etags and suspicions into columns: pure, so
/// they are tested without a database. An etag is the decimal text of a non-negative <c>bigint</c>; anything else can
/// match no row, so a write carrying it is refused (false), never thrown at the membership agent.
/// </summary>
public static class MembershipEtags
{
    /// <summary>The etag of a table version row or silo row that has just been created.</summary>
    public const long First = 0;

    public static string Format(long etag) => etag.ToString(CultureInfo.InvariantCulture);

    /// <summary>The stored etag an Orleans etag string stands for, or null when it can match none.</summary>
    public static long? Parse(string? etag) =>
        etag is { Length: > 0 and <= 19 } && long.TryParse(etag, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : null;

    /// <summary>
    /// Whether a write may move the table version: Orleans asks for its read version plus one, carrying the etag it read.
    /// A version that goes backwards, or an unreadable etag, is refused before the database is asked.
    /// </summary>
    public static bool IsWritable(Orleans.TableVersion requested) => requested.Version >= 0 && Parse(requested.VersionEtag) is not null;

    /// <summary>Suspicions as one text column: <c>silo;time|silo;time</c>, the silo as Orleans' parsable address, the time UTC in ISO 8601.</summary>
    public static string FormatSuspectTimes(IReadOnlyList<Tuple<SiloAddress, DateTime>>? suspectTimes)
    {
        if (suspectTimes is null || suspectTimes.Count == 0)
        {
            return "";
        }

        var text = new StringBuilder();
        foreach (var (silo, time) in suspectTimes)
        {
            if (text.Length > 0)
            {
                text.Append('|');
            }

            text.Append(silo.ToParsableString()).Append(';').Append(Utc(time).ToString("O", CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    public static List<Tuple<SiloAddress, DateTime>> ParseSuspectTimes(string text)
    {
        var result = new List<Tuple<SiloAddress, DateTime>>();
        if (text.Length == 0)
        {
            return result;
        }

        foreach (var entry in text.Split('|'))
        {
            var separator = entry.LastIndexOf(';');
            if (separator <= 0)
            {
                throw new FormatException($"cluster_silo.suspect_times holds an entry without its time: '{entry}'.");
            }

            var silo = SiloAddress.FromParsableString(entry[..separator]);
            var time = DateTime.Parse(entry[(separator + 1)..], CultureInfo.InvariantCulture, DateTimeStyles.RoundtripKind);
            result.Add(Tuple.Create(silo, Utc(time)));
        }

        return result;
    }

    /// <summary>Orleans hands UTC times, sometimes of kind Unspecified; PostgreSQL's timestamptz takes only UTC ones.</summary>
    public static DateTime Utc(DateTime time) => time.Kind switch
    {
        DateTimeKind.Utc => time,
        DateTimeKind.Local => time.ToUniversalTime(),
        _ => DateTime.SpecifyKind(time, DateTimeKind.Utc),
    };

    /// <summary>The address column: the silo's IP address as text (IPv4 or IPv6).</summary>
    public static string Address(SiloAddress silo) => silo.Endpoint.Address.ToString();

    public static SiloAddress Silo(string address, int port, int generation) =>
        SiloAddress.New(new IPEndPoint(IPAddress.Parse(address), port), generation);
}
