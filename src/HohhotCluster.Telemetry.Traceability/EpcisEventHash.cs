using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace HohhotCluster.Telemetry.Traceability;

/// <summary>
/// The EPCIS event hash of CBV 2.0 (the "EPCIS Event Hash ID", <c>ni:///sha-256;{hex}?ver=CBV2.0</c>): SHA-256 of a
/// pre-hash string built from the event's content, so the same event has the same id however it is serialised and any
/// change of content (600 -> 650 kg) gives another. Implemented from the rules of the algorithm's description:
/// <list type="bullet">
/// <item>fields in the canonical property order (eventType, eventTime, eventTimeZoneOffset, the EPC and quantity
/// lists, action, transformationID, bizStep, disposition, persistentDisposition, readPoint, bizLocation,
/// bizTransactionList, sourceList, destinationList, sensorElementList, ilmd, then user extensions), concatenated
/// without separators, each value as <c>key=value</c>, a parent as its bare key;</item>
/// <item>list items, and key-value groups of one level, sorted by ordinal (UTF-8 code) order; a type attribute
/// follows its value before sorting;</item>
/// <item>times in UTC with milliseconds and <c>Z</c>; numbers without trailing zeros; values trimmed;</item>
/// <item>bare CBV values (<c>receiving</c>), CBV URNs and CURIEs expanded to their web URIs
/// (<c>https://ref.gs1.org/cbv/BizStep-receiving</c>); EPC URNs (SGTIN, LGTIN, SGLN, SSCC) as canonical GS1 Digital
/// Link URIs on id.gs1.org;</item>
/// <item>ilmd and user extensions as <c>{namespace}localName=value</c>, namespaces from the document's @context, sorted.</item>
/// </list>
/// <c>eventID</c>, <c>recordTime</c> and <c>errorDeclaration</c> are not part of the content, so an error declaration
/// (the original event with an errorDeclaration added) has the hash of the event it retracts. Limits: EPC URNs of
/// other schemes (GRAI, GIAI, ...) are kept as given, and EPC pattern URNs are not converted.
/// </summary>
public static class EpcisEventHash
{
    public const string Version = "CBV2.0";
    private const string Cbv = "https://ref.gs1.org/cbv/";
    private const string Gs1Voc = "https://gs1.org/voc/";

    private static readonly string[] EpcLists = ["epcList", "parentID", "inputEPCList", "childEPCs"];
    private static readonly string[] QuantityLists = ["quantityList", "childQuantityList", "inputQuantityList"];
    private static readonly string[] SensorMetadataOrder = ["time", "startTime", "endTime", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "bizRules"];
    private static readonly string[] SensorReportOrder =
    [
        "type", "exception", "deviceID", "deviceMetadata", "rawData", "dataProcessingMethod", "time", "microorganism", "chemicalSubstance",
        "value", "component", "stringValue", "booleanValue", "hexBinaryValue", "uriValue", "minValue", "maxValue", "meanValue", "sDev",
        "percRank", "percValue", "uom", "coordinateReferenceSystem",
    ];

    private static readonly HashSet<string> Standard = new(StringComparer.Ordinal)
    {
        "type", "eventID", "eventTime", "eventTimeZoneOffset", "recordTime", "errorDeclaration", "certificationInfo",
        "epcList", "parentID", "inputEPCList", "childEPCs", "quantityList", "childQuantityList", "inputQuantityList", "outputEPCList",
        "outputQuantityList", "action", "transformationID", "bizStep", "disposition", "persistentDisposition", "readPoint", "bizLocation",
        "bizTransactionList", "sourceList", "destinationList", "sensorElementList", "ilmd", "@context",
    };

    /// <summary>The event's hash id, namespaces of compact names taken from <paramref name="prefixes"/> (prefix -> IRI).</summary>
    public static string Of(JsonElement e, IReadOnlyDictionary<string, string> prefixes) =>
        "ni:///sha-256;" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(PreHash(e, prefixes)))) + "?ver=" + Version;

    /// <summary>The prefixes a document's @context declares (string-valued members of its context objects).</summary>
    public static Dictionary<string, string> Prefixes(JsonElement document)
    {
        var prefixes = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["gs1"] = Gs1Voc, ["cbv"] = Cbv, ["epcis"] = "https://ref.gs1.org/epcis/", ["cbvmda"] = "urn:epcglobal:cbv:mda:",
        };
        if (document.ValueKind == JsonValueKind.Object && document.TryGetProperty("@context", out var context))
        {
            foreach (var item in context.ValueKind == JsonValueKind.Array ? context.EnumerateArray() : Enumerable.Repeat(context, 1))
            {
                if (item.ValueKind == JsonValueKind.Object)
                {
                    foreach (var p in item.EnumerateObject())
                    {
                        if (p.Value.ValueKind == JsonValueKind.String)
                        {
                            prefixes[p.Name] = p.Value.GetString()!;
                        }
                    }
                }
            }
        }

        return prefixes;
    }

    public static string PreHash(JsonElement e, IReadOnlyDictionary<string, string> prefixes)
    {
        var s = new StringBuilder();
        if (e.TryGetProperty("type", out var type))
        {
            s.Append("eventType=").Append(Trim(type));
        }

        if (e.TryGetProperty("eventTime", out var time))
        {
            s.Append("eventTime=").Append(Time(Trim(time)));
        }

        if (e.TryGetProperty("eventTimeZoneOffset", out var offset))
        {
            s.Append("eventTimeZoneOffset=").Append(Trim(offset));
        }

        foreach (var name in EpcLists)
        {
            AppendEpcs(s, e, name);
        }

        foreach (var name in QuantityLists)
        {
            AppendQuantities(s, e, name);
        }

        AppendEpcs(s, e, "outputEPCList");
        AppendQuantities(s, e, "outputQuantityList");
        if (e.TryGetProperty("action", out var action))
        {
            s.Append("action=").Append(Trim(action));
        }

        if (e.TryGetProperty("transformationID", out var transformation))
        {
            s.Append("transformationID=").Append(Id(Trim(transformation)));
        }

        if (e.TryGetProperty("bizStep", out var bizStep))
        {
            s.Append("bizStep=").Append(Vocabulary(Trim(bizStep), "BizStep-", prefixes));
        }

        if (e.TryGetProperty("disposition", out var disposition))
        {
            s.Append("disposition=").Append(Vocabulary(Trim(disposition), "Disp-", prefixes));
        }

        if (e.TryGetProperty("persistentDisposition", out var persistent) && persistent.ValueKind == JsonValueKind.Object)
        {
            s.Append("persistentDisposition");
            foreach (var which in (string[])["set", "unset"])
            {
                if (persistent.TryGetProperty(which, out var values) && values.ValueKind == JsonValueKind.Array)
                {
                    foreach (var v in values.EnumerateArray().Select(v => Vocabulary(Trim(v), "Disp-", prefixes)).Order(StringComparer.Ordinal))
                    {
                        s.Append(which).Append('=').Append(v);
                    }
                }
            }
        }

        foreach (var place in (string[])["readPoint", "bizLocation"])
        {
            if (e.TryGetProperty(place, out var location) && location.ValueKind == JsonValueKind.Object)
            {
                s.Append(place);
                if (location.TryGetProperty("id", out var id))
                {
                    s.Append("id=").Append(Id(Trim(id)));
                }

                s.Append(Extensions(location, ["id"], prefixes));
            }
        }

        AppendTyped(s, e, "bizTransactionList", "bizTransaction", "BTT-", prefixes);
        AppendTyped(s, e, "sourceList", "source", "SDT-", prefixes);
        AppendTyped(s, e, "destinationList", "destination", "SDT-", prefixes);
        AppendSensors(s, e, prefixes);
        if (e.TryGetProperty("ilmd", out var ilmd) && ilmd.ValueKind == JsonValueKind.Object)
        {
            s.Append("ilmd").Append(Extensions(ilmd, [], prefixes));
        }

        s.Append(Extensions(e, Standard, prefixes));
        return s.ToString();
    }

    private static void AppendEpcs(StringBuilder s, JsonElement e, string name)
    {
        if (!e.TryGetProperty(name, out var list))
        {
            return;
        }

        if (list.ValueKind == JsonValueKind.String)
        {
            s.Append(name).Append('=').Append(Id(Trim(list)));
            return;
        }

        if (list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
        {
            return;
        }

        s.Append(name);
        foreach (var epc in list.EnumerateArray().Select(v => Id(Trim(v))).Order(StringComparer.Ordinal))
        {
            s.Append("epc=").Append(epc);
        }
    }

    private static void AppendQuantities(StringBuilder s, JsonElement e, string name)
    {
        if (!e.TryGetProperty(name, out var list) || list.ValueKind != JsonValueKind.Array || list.GetArrayLength() == 0)
        {
            return;
        }

        var items = new List<string>();
        foreach (var q in list.EnumerateArray())
        {
            var item = new StringBuilder("quantityElement");
            if (q.TryGetProperty("epcClass", out var epcClass))
            {
                item.Append("epcClass=").Append(Id(Trim(epcClass)));
            }

            if (q.TryGetProperty("quantity", out var quantity))
            {
                item.Append("quantity=").Append(Number(quantity));
            }

            if (q.TryGetProperty("uom", out var uom))
            {
                item.Append("uom=").Append(Trim(uom));
            }

            items.Add(item.ToString());
        }

        s.Append(name);
        foreach (var item in items.Order(StringComparer.Ordinal))
        {
            s.Append(item);
        }
    }

    private static void AppendTyped(StringBuilder s, JsonElement e, string list, string item, string typePrefix, IReadOnlyDictionary<string, string> prefixes)
    {
        if (!e.TryGetProperty(list, out var entries) || entries.ValueKind != JsonValueKind.Array || entries.GetArrayLength() == 0)
        {
            return;
        }

        var items = new List<string>();
        foreach (var entry in entries.EnumerateArray())
        {
            if (entry.ValueKind != JsonValueKind.Object || !entry.TryGetProperty(item, out var value))
            {
                continue;
            }

            var text = $"{item}={Id(Trim(value))}";
            if (entry.TryGetProperty("type", out var type))
            {
                text += "type=" + Vocabulary(Trim(type), typePrefix, prefixes);
            }

            items.Add(text);
        }

        s.Append(list);
        foreach (var text in items.Order(StringComparer.Ordinal))
        {
            s.Append(text);
        }
    }

    private static void AppendSensors(StringBuilder s, JsonElement e, IReadOnlyDictionary<string, string> prefixes)
    {
        if (!e.TryGetProperty("sensorElementList", out var elements) || elements.ValueKind != JsonValueKind.Array || elements.GetArrayLength() == 0)
        {
            return;
        }

        var texts = new List<string>();
        foreach (var element in elements.EnumerateArray())
        {
            var text = new StringBuilder("sensorElement");
            if (element.TryGetProperty("sensorMetadata", out var metadata) && metadata.ValueKind == JsonValueKind.Object)
            {
                text.Append("sensorMetadata").Append(Ordered(metadata, SensorMetadataOrder, prefixes)).Append(Extensions(metadata, SensorMetadataOrder, prefixes));
            }

            if (element.TryGetProperty("sensorReport", out var reports) && reports.ValueKind == JsonValueKind.Array)
            {
                var reportTexts = reports.EnumerateArray()
                    .Select(r => "sensorReport" + Ordered(r, SensorReportOrder, prefixes) + Extensions(r, SensorReportOrder, prefixes))
                    .Order(StringComparer.Ordinal);
                foreach (var report in reportTexts)
                {
                    text.Append(report);
                }
            }

            text.Append(Extensions(element, ["sensorMetadata", "sensorReport"], prefixes));
            texts.Add(text.ToString());
        }

        s.Append("sensorElementList");
        foreach (var text in texts.Order(StringComparer.Ordinal))
        {
            s.Append(text);
        }
    }

    private static string Ordered(JsonElement o, string[] order, IReadOnlyDictionary<string, string> prefixes)
    {
        var s = new StringBuilder();
        foreach (var name in order)
        {
            if (!o.TryGetProperty(name, out var value))
            {
                continue;
            }

            var text = value.ValueKind switch
            {
                JsonValueKind.Number => Number(value),
                JsonValueKind.True => "true",
                JsonValueKind.False => "false",
                JsonValueKind.String when name is "time" or "startTime" or "endTime" => Time(Trim(value)),
                JsonValueKind.String when name is "type" or "exception" or "component" => Vocabulary(Trim(value), "", prefixes, Gs1Voc),
                JsonValueKind.String => Id(Trim(value)),
                _ => value.GetRawText(),
            };
            s.Append(name).Append('=').Append(text);
        }

        return s.ToString();
    }

    /// <summary>Members not in <paramref name="known"/>, as {namespace}local=value (nested objects inline), sorted.</summary>
    private static string Extensions(JsonElement o, IReadOnlyCollection<string> known, IReadOnlyDictionary<string, string> prefixes)
    {
        if (o.ValueKind != JsonValueKind.Object)
        {
            return "";
        }

        var parts = new List<string>();
        foreach (var p in o.EnumerateObject())
        {
            if (known.Contains(p.Name) || p.Name.StartsWith('@'))
            {
                continue;
            }

            parts.Add(Extension(ExpandName(p.Name, prefixes), p.Value, prefixes));
        }

        return string.Concat(parts.Order(StringComparer.Ordinal));
    }

    private static string Extension(string name, JsonElement value, IReadOnlyDictionary<string, string> prefixes) => value.ValueKind switch
    {
        JsonValueKind.Object => name + string.Concat(value.EnumerateObject().Where(c => !c.Name.StartsWith('@'))
            .Select(c => Extension(ExpandName(c.Name, prefixes), c.Value, prefixes)).Order(StringComparer.Ordinal)),
        JsonValueKind.Array => string.Concat(value.EnumerateArray().Select(v => Extension(name, v, prefixes)).Order(StringComparer.Ordinal)),
        JsonValueKind.Number => name + "=" + Number(value),
        JsonValueKind.String => name + "=" + Trim(value),
        JsonValueKind.True => name + "=true",
        JsonValueKind.False => name + "=false",
        _ => name,
    };

    private static string ExpandName(string name, IReadOnlyDictionary<string, string> prefixes)
    {
        var colon = name.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && prefixes.TryGetValue(name[..colon], out var iri) ? "{" + iri + "}" + name[(colon + 1)..] : name;
    }

    private static string Trim(JsonElement value) => value.ValueKind == JsonValueKind.String ? value.GetString()!.Trim() : value.GetRawText().Trim();

    /// <summary>UTC with milliseconds (the third decimal rounded half up) and Z.</summary>
    public static string Time(string text)
    {
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            return text;
        }

        var utc = time.ToUniversalTime();
        var ticks = utc.Ticks % TimeSpan.TicksPerMillisecond;
        utc = utc.AddTicks(-ticks + (ticks >= TimeSpan.TicksPerMillisecond / 2 ? TimeSpan.TicksPerMillisecond : 0));
        return utc.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
    }

    /// <summary>A number without trailing zeros (1.0 -> 1, 0.34340 -> 0.3434).</summary>
    public static string Number(JsonElement value)
    {
        var raw = value.ValueKind == JsonValueKind.String ? value.GetString()!.Trim() : value.GetRawText();
        if (decimal.TryParse(raw, NumberStyles.Float, CultureInfo.InvariantCulture, out var number))
        {
            var text = number.ToString(CultureInfo.InvariantCulture);
            return text.Contains('.', StringComparison.Ordinal) ? text.TrimEnd('0').TrimEnd('.') : text;
        }

        return raw;
    }

    /// <summary>A CBV value as its web URI: bare (receiving), URN (urn:epcglobal:cbv:bizstep:receiving) or CURIE (cbv:BizStep-receiving).</summary>
    private static string Vocabulary(string value, string webPrefix, IReadOnlyDictionary<string, string> prefixes, string barePrefix = Cbv)
    {
        if (value.StartsWith("urn:epcglobal:cbv:", StringComparison.Ordinal))
        {
            // urn:epcglobal:cbv:bizstep:receiving -> BizStep-receiving (the URN's kind names the web prefix).
            var rest = value["urn:epcglobal:cbv:".Length..];
            var colon = rest.IndexOf(':', StringComparison.Ordinal);
            return colon > 0 ? Cbv + (webPrefix.Length > 0 ? webPrefix : rest[..colon] + "-") + rest[(colon + 1)..] : value;
        }

        if (value.Contains("://", StringComparison.Ordinal) || value.StartsWith("urn:", StringComparison.Ordinal))
        {
            return value;
        }

        var c = value.IndexOf(':', StringComparison.Ordinal);
        if (c > 0 && prefixes.TryGetValue(value[..c], out var iri))
        {
            return iri + value[(c + 1)..];
        }

        return barePrefix + webPrefix + value;
    }

    /// <summary>An identifier as hashed: EPC URNs of GS1 keys as canonical GS1 Digital Link URIs, other URIs as given.</summary>
    public static string Id(string id)
    {
        if (id.StartsWith("urn:epc:id:", StringComparison.Ordinal) || id.StartsWith("urn:epc:class:", StringComparison.Ordinal))
        {
            return Gs1Keys.ToDigitalLink(id) ?? id;
        }

        if (id.StartsWith("https://", StringComparison.Ordinal) || id.StartsWith("http://", StringComparison.Ordinal))
        {
            return Gs1Keys.CanonicalDigitalLink(id) ?? id;
        }

        return id;
    }
}

/// <summary>GS1 keys in EPC URN and GS1 Digital Link form (GS1 EPC Tag Data Standard, GS1 Digital Link URI syntax).</summary>
public static class Gs1Keys
{
    /// <summary>GS1 mod-10 check digit of the digits given (the key without its check digit).</summary>
    public static int CheckDigit(string digits)
    {
        var sum = 0;
        for (var i = 0; i < digits.Length; i++)
        {
            // From the right, the digit next to the check digit weighs 3.
            sum += (digits[digits.Length - 1 - i] - '0') * (i % 2 == 0 ? 3 : 1);
        }

        return (10 - (sum % 10)) % 10;
    }

    /// <summary>GTIN-14 from an EPC company prefix and an indicator+item reference.</summary>
    public static string Gtin(string companyPrefix, string indicatorAndItem)
    {
        var body = indicatorAndItem[..1] + companyPrefix + indicatorAndItem[1..];
        return body + CheckDigit(body);
    }

    public static string Gln(string companyPrefix, string locationReference)
    {
        var body = companyPrefix + locationReference;
        return body + CheckDigit(body);
    }

    /// <summary>SGTIN, LGTIN, SGLN and SSCC URNs as canonical Digital Link URIs; null for other schemes or malformed URNs.</summary>
    public static string? ToDigitalLink(string urn)
    {
        var colon = urn.LastIndexOf(':');
        var scheme = urn[..colon];
        var parts = urn[(colon + 1)..].Split('.');
        bool Digits(params int[] indexes) => indexes.All(i => i < parts.Length && parts[i].Length > 0 && parts[i].All(char.IsAsciiDigit));
        switch (scheme)
        {
            case "urn:epc:id:sgtin" when parts.Length == 3 && Digits(0, 1) && parts[0].Length + parts[1].Length == 13:
                return $"https://id.gs1.org/01/{Gtin(parts[0], parts[1])}/21/{parts[2]}";
            case "urn:epc:class:lgtin" when parts.Length == 3 && Digits(0, 1) && parts[0].Length + parts[1].Length == 13:
                return $"https://id.gs1.org/01/{Gtin(parts[0], parts[1])}/10/{parts[2]}";
            case "urn:epc:id:sgln" when parts.Length == 3 && Digits(0) && (parts[1].Length == 0 || Digits(1)) && parts[0].Length + parts[1].Length == 12:
                var gln = Gln(parts[0], parts[1]);
                return parts[2] is "0" or "" ? $"https://id.gs1.org/414/{gln}" : $"https://id.gs1.org/414/{gln}/254/{parts[2]}";
            case "urn:epc:id:sscc" when parts.Length == 2 && Digits(0, 1) && parts[0].Length + parts[1].Length == 17:
                var body = parts[1][..1] + parts[0] + parts[1][1..];
                return $"https://id.gs1.org/00/{body}{CheckDigit(body)}";
            default:
                return null;
        }
    }

    /// <summary>A GS1 Digital Link URI on another domain, or with a query, as its constrained canonical form on id.gs1.org.</summary>
    public static string? CanonicalDigitalLink(string uri)
    {
        if (!Uri.TryCreate(uri, UriKind.Absolute, out var parsed))
        {
            return null;
        }

        var segments = parsed.AbsolutePath.Trim('/').Split('/');
        for (var i = 0; i + 1 < segments.Length; i++)
        {
            if (segments[i] is "00" or "01" or "253" or "255" or "401" or "402" or "414" or "417" or "8003" or "8004" or "8006" or "8010" or "8017" or "8018"
                && segments[i + 1].Length > 0 && segments[i + 1].All(char.IsAsciiDigit))
            {
                return "https://id.gs1.org/" + string.Join('/', segments[i..]);
            }
        }

        return null;
    }
}
