using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Traceability.Tanker;

/// <summary>
/// The body of a <c>tanker_log</c> message (docs/mqtt-contract.md), read strictly: every rule has its own rejection
/// naming the field, and nothing here touches a store.
/// </summary>
public static class TankerLogPayload
{
    public const int MaxIdLength = BodyFields.MaxIdLength;
    public const int MaxCompartments = 16;

    /// <summary>The same range as a pickup's or intake's temperature: below -5 °C the milk is frozen, above 50 °C the probe is broken.</summary>
    public const double MinTemperatureC = -5;
    public const double MaxTemperatureC = 50;

    /// <summary>Above any legal speed of a loaded tanker on Chinese roads (expressways: 100 km/h for lorries); a faster figure is a bad sensor.</summary>
    public const double MaxSpeedKmh = 200;

    public static bool TryParse(JsonElement body, [NotNullWhen(true)] out TankerLogRecord? record, out Rejection rejection)
    {
        record = null;
        rejection = default;
        if (!TryId(body, "tankerLoadId", required: true, out var load, ref rejection)
            || !TryId(body, "tankerPlate", required: false, out var plate, ref rejection)
            || !TryCompartments(body, out var compartments, ref rejection)
            || !TryNumber(body, "latitude", required: true, -90, 90, out var latitude, ref rejection)
            || !TryNumber(body, "longitude", required: true, -180, 180, out var longitude, ref rejection)
            || !TryNumber(body, "speedKmh", required: false, 0, MaxSpeedKmh, out var speed, ref rejection))
        {
            return false;
        }

        if (latitude == 0 && longitude == 0)
        {
            // What many GPS receivers report before their first fix: a point in the Gulf of Guinea, not a road in Hohhot.
            rejection = new Rejection(QuarantineReasons.InvalidField, "latitude, longitude: 0, 0 is a receiver without a fix, not a position");
            return false;
        }

        record = new TankerLogRecord(load!, plate, compartments, new GeoPosition(latitude!.Value, longitude!.Value), speed);
        return true;
    }

    private static bool TryCompartments(JsonElement body, out List<CompartmentTemperature> compartments, ref Rejection rejection)
    {
        compartments = [];
        if (!body.TryGetProperty("compartments", out var array) || array.ValueKind == JsonValueKind.Null)
        {
            rejection = new Rejection(QuarantineReasons.MissingField, "compartments (an array) is required");
            return false;
        }

        if (array.ValueKind != JsonValueKind.Array || array.GetArrayLength() is < 1 or > MaxCompartments)
        {
            rejection = new Rejection(QuarantineReasons.InvalidField, $"compartments must be an array of 1-{MaxCompartments} items");
            return false;
        }

        var index = 0;
        foreach (var item in array.EnumerateArray())
        {
            var at = $"compartments[{index}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                rejection = new Rejection(QuarantineReasons.InvalidField, $"{at} must be an object with compartment and temperatureC");
                return false;
            }

            if (!TryNumber(item, "compartment", required: true, 1, MaxCompartments, out var number, ref rejection)
                || !TryNumber(item, "temperatureC", required: true, MinTemperatureC, MaxTemperatureC, out var temperature, ref rejection))
            {
                rejection = rejection with { Detail = $"{at}.{rejection.Detail}" };
                return false;
            }

            if (number!.Value != Math.Floor(number.Value))
            {
                rejection = new Rejection(QuarantineReasons.InvalidField, $"{at}.compartment must be a whole number 1-{MaxCompartments}");
                return false;
            }

            var compartment = (int)number.Value;
            foreach (var existing in compartments)
            {
                if (existing.Compartment == compartment)
                {
                    rejection = new Rejection(QuarantineReasons.InvalidField, $"{at}.compartment {compartment} is listed twice");
                    return false;
                }
            }

            compartments.Add(new CompartmentTemperature(compartment, temperature!.Value));
            index++;
        }

        return true;
    }

    private static bool TryId(JsonElement body, string name, bool required, out string? value, ref Rejection rejection) =>
        BodyFields.TryId(body, name, required, out value, ref rejection);

    /// <summary>A JSON number in [min, max] (both inclusive).</summary>
    private static bool TryNumber(JsonElement body, string name, bool required, double min, double max, out double? value, ref Rejection rejection) =>
        BodyFields.TryNumber(body, name, required, min, max, minInclusive: true, out value, ref rejection);
}
