namespace HohhotCluster.Telemetry.Traceability;

/// <summary>
/// The platform's identifiers in EPCIS documents: lots as <c>{base}lot/{kind}/{id}</c> (the epcClass of a quantity),
/// places as <c>{base}pasture/{id}</c> and <c>{base}plant/{id}</c>, tanker loads as bills of lading
/// <c>{base}tanker-load/{id}</c>. Ids are percent-encoded, so any lot id makes a valid URI. A partner's own
/// identifiers (LGTIN, SGLN, Digital Link) are kept whole as the lot or place id.
/// </summary>
public sealed class EpcisIds(string baseUri)
{
    public string Base { get; } = baseUri.EndsWith('/') ? baseUri : baseUri + "/";

    public string Lot(LotRef lot) => IsUri(lot.Id)
        ? lot.Id
        : $"{Base}lot/{lot.Kind}/{Uri.EscapeDataString(lot.Id)}";

    public string Pasture(string id) => Place("pasture", id);

    public string Plant(string id) => Place("plant", id);

    public string TankerLoad(string id) => IsUri(id)
        ? id
        : $"{Base}tanker-load/{Uri.EscapeDataString(id)}";

    /// <summary>The lot a URI names, when it is one of the platform's own.</summary>
    public LotRef? ParseLot(string uri)
    {
        var prefix = Base + "lot/";
        if (!uri.StartsWith(prefix, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = uri[prefix.Length..];
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash <= 0 || !LotKinds.IsKnown(rest[..slash]))
        {
            return null;
        }

        return new LotRef(rest[..slash], Uri.UnescapeDataString(rest[(slash + 1)..]));
    }

    /// <summary>A place id from a URI: the platform's own id, or the whole URI for a partner's place.</summary>
    public string ParsePlace(string uri)
    {
        foreach (var kind in (string[])["pasture/", "plant/"])
        {
            if (uri.StartsWith(Base + kind, StringComparison.Ordinal))
            {
                return Uri.UnescapeDataString(uri[(Base.Length + kind.Length)..]);
            }
        }

        return uri;
    }

    public string ParseTankerLoad(string uri) =>
        uri.StartsWith(Base + "tanker-load/", StringComparison.Ordinal) ? Uri.UnescapeDataString(uri[(Base.Length + 12)..]) : uri;

    private static bool IsUri(string id) => id.Contains(':', StringComparison.Ordinal) && Uri.IsWellFormedUriString(id, UriKind.Absolute);

    private string Place(string kind, string id) => IsUri(id)
        ? id
        : $"{Base}{kind}/{Uri.EscapeDataString(id)}";
}
