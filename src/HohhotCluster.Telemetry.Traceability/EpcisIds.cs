namespace HohhotCluster.Telemetry.Traceability;

/// <summary>
/// The platform's identifiers in EPCIS documents: lots as <c>{base}lot/{kind}/{id}</c> (the epcClass of a quantity),
/// places as <c>{base}pasture/{id}</c> and <c>{base}plant/{id}</c>, tanker loads as bills of lading
/// <c>{base}tanker-load/{id}</c>. Ids are percent-encoded, so any lot id makes a valid URI. A partner's own
/// identifiers (LGTIN, SGLN, Digital Link) are kept whole as the lot or place id.
/// <para>GS1 keys where the place has them (<see cref="TraceabilityOptions.Gs1Places"/>): the pasture or plant as an
/// SGLN <c>urn:epc:id:sgln:{prefix}.{location}.0</c>; a product lot with a GTIN of the plant's prefix as an LGTIN
/// <c>urn:epc:class:lgtin:{prefix}.{indicator+item}.{lot}</c>; a bulk-tank lot of a pasture with a milk item
/// reference as an LGTIN of that item. A lot id that is not a valid GS1 lot (1-20 of A-Z a-z 0-9 - . _) keeps its
/// private URI. Imports read these keys back to the place and lot.</para>
/// </summary>
public sealed class EpcisIds(string baseUri, IReadOnlyDictionary<string, Gs1Place>? gs1Places = null)
{
    private readonly IReadOnlyDictionary<string, Gs1Place> _gs1 = gs1Places ?? new Dictionary<string, Gs1Place>();

    public string Base { get; } = baseUri.EndsWith('/') ? baseUri : baseUri + "/";

    public string Lot(LotRef lot) => IsUri(lot.Id)
        ? lot.Id
        : $"{Base}lot/{lot.Kind}/{Uri.EscapeDataString(lot.Id)}";

    /// <summary>A lot with what is known of it: an LGTIN where its place has GS1 keys, else <see cref="Lot(LotRef)"/>.</summary>
    public string Lot(LotNode lot)
    {
        if (!IsUri(lot.LotId) && IsGs1Lot(lot.LotId))
        {
            if (lot.Kind == LotKinds.Product && lot.PlantId is { } plant && _gs1.TryGetValue(plant, out var keys)
                && ProductLotDetails.Read(lot, ProductLotDetails.Gtin) is { Length: 14 } gtin && gtin[1..].StartsWith(keys.CompanyPrefix, StringComparison.Ordinal))
            {
                return $"urn:epc:class:lgtin:{keys.CompanyPrefix}.{gtin[0]}{gtin[(1 + keys.CompanyPrefix.Length)..13]}.{lot.LotId}";
            }

            if (lot.Kind == LotKinds.BulkTank && lot.PastureId is { } pasture && _gs1.TryGetValue(pasture, out var farm)
                && farm.MilkItemReference is { Length: > 0 } item)
            {
                return $"urn:epc:class:lgtin:{farm.CompanyPrefix}.{item}.{lot.LotId}";
            }
        }

        return Lot(lot.Ref);
    }

    public string Pasture(string id) => _gs1.TryGetValue(id, out var keys) ? Sgln(keys) : Place("pasture", id);

    public string Plant(string id) => _gs1.TryGetValue(id, out var keys) ? Sgln(keys) : Place("plant", id);

    private static string Sgln(Gs1Place keys) => $"urn:epc:id:sgln:{keys.CompanyPrefix}.{keys.LocationReference}.0";

    private static bool IsGs1Lot(string id) =>
        id.Length is >= 1 and <= 20 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_');

    /// <summary>A registered device (a tanker's logger) as a sensor's deviceID: <c>{base}device/{id}</c>.</summary>
    public string Device(string id) => $"{Base}device/{Uri.EscapeDataString(id)}";

    public string TankerLoad(string id) => IsUri(id)
        ? id
        : $"{Base}tanker-load/{Uri.EscapeDataString(id)}";

    /// <summary>The lot a URI names, when it is one of the platform's own.</summary>
    public LotRef? ParseLot(string uri)
    {
        if (uri.StartsWith("urn:epc:class:lgtin:", StringComparison.Ordinal) && _gs1.Count > 0)
        {
            var parts = uri["urn:epc:class:lgtin:".Length..].Split('.', 3);
            if (parts.Length == 3)
            {
                foreach (var (_, keys) in _gs1)
                {
                    if (keys.CompanyPrefix == parts[0])
                    {
                        return new LotRef(keys.MilkItemReference == parts[1] ? LotKinds.BulkTank : LotKinds.Product, parts[2]);
                    }
                }
            }
        }

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
        foreach (var (place, keys) in _gs1)
        {
            if (uri == Sgln(keys))
            {
                return place;
            }
        }

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
