using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.TimeSeries;

namespace HohhotCluster.Telemetry.Traceability;

public sealed record TankerPickupRecord(string LotId, string TankerLoadId, double Kg, double? TemperatureC, string? TankerPlate, string? Driver, string? Permit, int? Compartment);

public sealed record SiloTransferRecord(string SiloBatchId, string? SiloId, IReadOnlyList<(string TankerLoadId, double Kg)> Receipts);

public sealed record ProductionRecord(string ProductLotId, string Product, string? Line, double OutputKg, IReadOnlyList<(string SiloBatchId, double Kg)> Silos)
{
    /// <summary>One of the shared vocabulary's categories (<see cref="YieldRange.Categories"/>), when the plant says.</summary>
    public string? ProductCategory { get; init; }

    /// <summary>The product's GTIN-14 (8-14 digits given, check digit verified, left-padded with zeros).</summary>
    public string? Gtin { get; init; }

    public DateOnly? BestBefore { get; init; }
}

/// <summary>What the three chain kinds share: storage keyed by the message key, and strict field readers.</summary>
public abstract class ChainRecordKind<TRecord>(ChainStore store) : TelemetryKind<TRecord>
    where TRecord : class
{
    protected const int MaxIdLength = BodyFields.MaxIdLength;

    /// <summary>A chain event is sent when the milk moves (a pickup, a transfer, a production run), never on a clock.</summary>
    public override ReportingCadence Cadence => ReportingCadence.EventDriven;

    protected ChainStore Store => store;

    public abstract ChainWrite ToWrite(Accepted<TRecord> record);

    public override Task<ApplyOutcome[]> ApplyAsync(IReadOnlyList<Accepted<TRecord>> records, CancellationToken cancellationToken)
    {
        var writes = new List<(ReadingKey, ChainWrite)>(records.Count);
        foreach (var record in records)
        {
            writes.Add((record.Key, ToWrite(record)));
        }

        return store.ApplyKeyedAsync(writes, cancellationToken);
    }

    /// <summary>Rejects a lot that exists under another owner: a gateway may not write into someone else's lot.</summary>
    protected async ValueTask<Rejection?> OwnedElsewhereAsync(LotRef lot, string ownerId, bool byPlant, string field, CancellationToken ct)
    {
        var owner = await store.FindOwnerAsync(lot, ct);
        var current = byPlant ? owner?.PlantId : owner?.PastureId;
        return current is not null && current != ownerId
            ? new Rejection(QuarantineReasons.InvalidField, $"{field}: {lot.Kind} '{lot.Id}' belongs to {(byPlant ? "plant" : "pasture")} '{current}'")
            : null;
    }

    /// <summary>A plant's output lot and its input lots must not belong to another plant.</summary>
    protected async ValueTask<Rejection?> PlantLotsOwnedElsewhereAsync(
        string plant, LotRef output, string outputField, string inputKind, IEnumerable<(string Id, double Kg)> inputs, string inputsField,
        CancellationToken cancellationToken)
    {
        if (await OwnedElsewhereAsync(output, plant, true, outputField, cancellationToken) is { } rejection)
        {
            return rejection;
        }

        foreach (var (id, _) in inputs)
        {
            if (await OwnedElsewhereAsync(new LotRef(inputKind, id), plant, true, inputsField, cancellationToken) is { } inputRejection)
            {
                return inputRejection;
            }
        }

        return null;
    }

    protected static bool TryId(JsonElement payload, string name, bool required, out string? value, ref Rejection rejection) =>
        BodyFields.TryId(payload, name, required, out value, ref rejection);

    /// <summary>A number in (min, max]: the chain's quantities and limits exclude their lower bound.</summary>
    protected static bool TryNumber(JsonElement payload, string name, bool required, double min, double max, out double? value, ref Rejection rejection) =>
        BodyFields.TryNumber(payload, name, required, min, max, minInclusive: false, out value, ref rejection);

    /// <summary>Reads a 1-64 item array of { idName: string, kg: number }.</summary>
    protected static bool TryInputs(JsonElement payload, string name, string idName, double maxKg, out List<(string, double)> inputs, ref Rejection rejection)
    {
        inputs = [];
        if (!payload.TryGetProperty(name, out var array) || array.ValueKind != JsonValueKind.Array)
        {
            rejection = new Rejection(QuarantineReasons.MissingField, $"{name} (an array) is required");
            return false;
        }

        if (array.GetArrayLength() is < 1 or > 64)
        {
            rejection = new Rejection(QuarantineReasons.InvalidField, $"{name} must have 1-64 items");
            return false;
        }

        var index = 0;
        foreach (var item in array.EnumerateArray())
        {
            if (item.ValueKind != JsonValueKind.Object
                || !TryId(item, idName, true, out var id, ref rejection)
                || !TryNumber(item, "kg", true, 0, maxKg, out var kg, ref rejection))
            {
                rejection = rejection.Reason is null
                    ? new Rejection(QuarantineReasons.InvalidField, $"{name}[{index}] must be an object with {idName} and kg")
                    : rejection with { Detail = $"{name}[{index}].{rejection.Detail}" };
                return false;
            }

            foreach (var (existing, _) in inputs)
            {
                if (existing == id)
                {
                    rejection = new Rejection(QuarantineReasons.InvalidField, $"{name}[{index}].{idName} '{id}' is listed twice");
                    return false;
                }
            }

            inputs.Add((id!, kg!.Value));
            index++;
        }

        return true;
    }
}

/// <summary>
/// <c>tanker_pickup</c>, published by the pasture gateway: the handover slip of one bulk-tank lot pumped into a tanker
/// load (plate, driver, transport permit, compartment, kg, temperature). The pasture owns it because the pasture knows
/// the lot id and weighs what leaves its tank; the plant only learns the tanker load at its weighbridge.
/// </summary>
public sealed class TankerPickupKind(ChainStore store) : ChainRecordKind<TankerPickupRecord>(store)
{
    public override string Name => "tanker_pickup";

    public override OwnerKind Owner => OwnerKind.Pasture;

    public override bool TryParse(JsonElement payload, ReadingKey key, DateTimeOffset eventTime, [NotNullWhen(true)] out TankerPickupRecord? record, out Rejection rejection)
    {
        record = null;
        rejection = default;
        if (!TryId(payload, "lotId", true, out var lot, ref rejection)
            || !TryId(payload, "tankerLoadId", true, out var load, ref rejection)
            || !TryNumber(payload, "kg", true, 0, 200_000, out var kg, ref rejection)
            || !TryNumber(payload, "temperatureC", false, -5.000001, 50, out var temperature, ref rejection)
            || !TryId(payload, "tankerPlate", false, out var plate, ref rejection)
            || !TryId(payload, "driver", false, out var driver, ref rejection)
            || !TryId(payload, "permit", false, out var permit, ref rejection)
            || !TryNumber(payload, "compartment", false, 0, 16, out var compartment, ref rejection))
        {
            return false;
        }

        if (compartment is { } number && number != Math.Floor(number))
        {
            rejection = new Rejection(QuarantineReasons.InvalidField, "compartment must be a whole number 1-16");
            return false;
        }

        record = new TankerPickupRecord(lot!, load!, kg!.Value, temperature, plate, driver, permit, compartment is { } c ? (int)c : null);
        return true;
    }

    public override ValueTask<Rejection?> CheckAsync(Accepted<TankerPickupRecord> record, CancellationToken cancellationToken)
    {
        var pickup = record.Record;
        return OwnedElsewhereAsync(new LotRef(LotKinds.BulkTank, pickup.LotId), record.Device.OwnerId, byPlant: false, "lotId", cancellationToken);
    }

    public override ChainWrite ToWrite(Accepted<TankerPickupRecord> record)
    {
        var pickup = record.Record;
        var details = new Dictionary<string, object>();
        if (pickup.Driver is not null)
        {
            details["driver"] = pickup.Driver;
        }

        if (pickup.Permit is not null)
        {
            details["permit"] = pickup.Permit;
        }

        var write = new ChainWrite();
        var lot = new LotNode { Kind = LotKinds.BulkTank, LotId = pickup.LotId, PastureId = record.Device.OwnerId };
        write.Lots.Add(lot);
        write.Lots.Add(new LotNode
        {
            Kind = LotKinds.TankerLoad,
            LotId = pickup.TankerLoadId,
            UnitId = pickup.TankerPlate,
            Details = JsonSerializer.Serialize(details),
        });
        write.Edges.Add(new EdgeWrite(lot.Ref, new LotRef(LotKinds.TankerLoad, pickup.TankerLoadId), pickup.Kg, record.EventTime, pickup.TemperatureC));
        return write;
    }

    public override void WritePoints(LineProtocolWriter writer, Accepted<TankerPickupRecord> record)
    {
        var pickup = record.Record;
        writer.Measurement("tanker_pickup", record.Key)
            .Tag("county", record.Device.CountyId).Tag("device", record.Key.DeviceId).Tag("pasture", record.Device.OwnerId)
            .Field("kg", pickup.Kg)
            .Field("temperature_c", pickup.TemperatureC)
            .Field("seq", record.Key.Sequence)
            .Timestamp(LineProtocolWriter.TimestampFor(record.EventTime, record.Key.Sequence));
    }
}

/// <summary><c>silo_transfer</c>, published by the plant: receipts (by tanker load) pumped into a silo batch, kg each.</summary>
public sealed class SiloTransferKind(ChainStore store) : ChainRecordKind<SiloTransferRecord>(store)
{
    public override string Name => "silo_transfer";

    public override OwnerKind Owner => OwnerKind.Plant;

    public override bool TryParse(JsonElement payload, ReadingKey key, DateTimeOffset eventTime, [NotNullWhen(true)] out SiloTransferRecord? record, out Rejection rejection)
    {
        record = null;
        rejection = default;
        if (!TryId(payload, "siloBatchId", true, out var batch, ref rejection)
            || !TryId(payload, "siloId", false, out var silo, ref rejection)
            || !TryInputs(payload, "receipts", "tankerLoadId", 60_000, out var receipts, ref rejection))
        {
            return false;
        }

        record = new SiloTransferRecord(batch!, silo, receipts);
        return true;
    }

    public override async ValueTask<Rejection?> CheckAsync(Accepted<SiloTransferRecord> record, CancellationToken cancellationToken)
    {
        var transfer = record.Record;
        return await PlantLotsOwnedElsewhereAsync(record.Device.OwnerId,
            new LotRef(LotKinds.SiloBatch, transfer.SiloBatchId), "siloBatchId", LotKinds.Receipt, transfer.Receipts, "receipts", cancellationToken);
    }

    public override ChainWrite ToWrite(Accepted<SiloTransferRecord> record)
    {
        var transfer = record.Record;
        var plant = record.Device.OwnerId;
        var write = new ChainWrite();
        // The batch holds the sum of everything pumped in (ChainStore keeps it), so several transfers may fill one batch.
        var batch = new LotNode { Kind = LotKinds.SiloBatch, LotId = transfer.SiloBatchId, PlantId = plant, UnitId = transfer.SiloId };
        write.Lots.Add(batch);
        foreach (var (load, kg) in transfer.Receipts)
        {
            // A receipt not yet weighed in is created owned by this plant; mass balance shows it as missing_weighbridge.
            var receipt = new LotNode { Kind = LotKinds.Receipt, LotId = load, PlantId = plant };
            write.Lots.Add(receipt);
            write.Edges.Add(new EdgeWrite(receipt.Ref, batch.Ref, kg, record.EventTime, null));
        }

        return write;
    }

    public override void WritePoints(LineProtocolWriter writer, Accepted<SiloTransferRecord> record)
    {
        var transfer = record.Record;
        double total = 0;
        foreach (var (_, kg) in transfer.Receipts)
        {
            total += kg;
        }

        writer.Measurement("silo_transfer", record.Key)
            .Tag("county", record.Device.CountyId).Tag("device", record.Key.DeviceId).Tag("plant", record.Device.OwnerId)
            .Field("kg", total)
            .Field("receipts", (long)transfer.Receipts.Count)
            .Field("seq", record.Key.Sequence)
            .Timestamp(LineProtocolWriter.TimestampFor(record.EventTime, record.Key.Sequence));
    }
}

/// <summary><c>production</c>, published by the plant: silo batches used (kg each) to make a product lot.</summary>
public sealed class ProductionKind(ChainStore store) : ChainRecordKind<ProductionRecord>(store)
{
    public override string Name => "production";

    public override OwnerKind Owner => OwnerKind.Plant;

    public override bool TryParse(JsonElement payload, ReadingKey key, DateTimeOffset eventTime, [NotNullWhen(true)] out ProductionRecord? record, out Rejection rejection)
    {
        record = null;
        rejection = default;
        if (!TryId(payload, "productLotId", true, out var lot, ref rejection)
            || !TryId(payload, "product", true, out var product, ref rejection)
            || !TryId(payload, "line", false, out var line, ref rejection)
            || !TryNumber(payload, "outputKg", true, 0, 1_000_000, out var output, ref rejection)
            || !TryInputs(payload, "silos", "siloBatchId", 1_000_000, out var silos, ref rejection))
        {
            return false;
        }

        if (!TryId(payload, "productCategory", false, out var category, ref rejection)
            || !TryId(payload, "gtin", false, out var gtin, ref rejection)
            || !TryId(payload, "bestBefore", false, out var bestBefore, ref rejection))
        {
            return false;
        }

        if (category is not null && Array.IndexOf(YieldRange.Categories, category) < 0)
        {
            rejection = new Rejection(QuarantineReasons.InvalidField, $"productCategory must be one of {string.Join(", ", YieldRange.Categories)}");
            return false;
        }

        string? gtin14 = null;
        if (gtin is not null && (gtin14 = Gtin14(gtin)) is null)
        {
            rejection = new Rejection(QuarantineReasons.InvalidField, "gtin must be a GTIN of 8, 12, 13 or 14 digits with a valid check digit");
            return false;
        }

        DateOnly? bestBeforeDate = null;
        if (bestBefore is not null)
        {
            if (!DateOnly.TryParseExact(bestBefore, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.None, out var date))
            {
                rejection = new Rejection(QuarantineReasons.InvalidField, "bestBefore must be a date as yyyy-MM-dd");
                return false;
            }

            bestBeforeDate = date;
        }

        record = new ProductionRecord(lot!, product!, line, output!.Value, silos) { ProductCategory = category, Gtin = gtin14, BestBefore = bestBeforeDate };
        return true;
    }

    /// <summary>A GTIN-8/12/13/14 as GTIN-14, or null when it is not digits or its check digit (GS1 mod 10) is wrong.</summary>
    public static string? Gtin14(string gtin)
    {
        if (gtin.Length is not (8 or 12 or 13 or 14) || !gtin.All(char.IsAsciiDigit))
        {
            return null;
        }

        var padded = gtin.PadLeft(14, '0');
        var sum = 0;
        for (var i = 0; i < 13; i++)
        {
            sum += (padded[i] - '0') * (i % 2 == 0 ? 3 : 1);
        }

        return (10 - (sum % 10)) % 10 == padded[13] - '0' ? padded : null;
    }

    public override async ValueTask<Rejection?> CheckAsync(Accepted<ProductionRecord> record, CancellationToken cancellationToken)
    {
        var production = record.Record;
        return await PlantLotsOwnedElsewhereAsync(record.Device.OwnerId,
            new LotRef(LotKinds.Product, production.ProductLotId), "productLotId", LotKinds.SiloBatch, production.Silos, "silos", cancellationToken);
    }

    public override ChainWrite ToWrite(Accepted<ProductionRecord> record)
    {
        var production = record.Record;
        var plant = record.Device.OwnerId;
        var write = new ChainWrite();
        var lot = new LotNode
        {
            Kind = LotKinds.Product, LotId = production.ProductLotId, PlantId = plant, UnitId = production.Line,
            Kg = production.OutputKg, At = record.EventTime, Product = production.Product,
            Details = JsonSerializer.Serialize(ProductDetails(production)),
        };
        write.Lots.Add(lot);
        foreach (var (batch, kg) in production.Silos)
        {
            var silo = new LotNode { Kind = LotKinds.SiloBatch, LotId = batch, PlantId = plant };
            write.Lots.Add(silo);
            write.Edges.Add(new EdgeWrite(silo.Ref, lot.Ref, kg, record.EventTime, null));
        }

        return write;
    }

    /// <summary>What a product lot keeps beside its columns: category, GTIN and best-before, when the plant gave them.</summary>
    public static Dictionary<string, string> ProductDetails(ProductionRecord production)
    {
        var details = new Dictionary<string, string>();
        if (production.ProductCategory is { } category)
        {
            details[ProductLotDetails.Category] = category;
        }

        if (production.Gtin is { } gtin)
        {
            details[ProductLotDetails.Gtin] = gtin;
        }

        if (production.BestBefore is { } date)
        {
            details[ProductLotDetails.BestBefore] = date.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture);
        }

        return details;
    }

    public override void WritePoints(LineProtocolWriter writer, Accepted<ProductionRecord> record)
    {
        var production = record.Record;
        writer.Measurement("production", record.Key)
            .Tag("county", record.Device.CountyId).Tag("device", record.Key.DeviceId).Tag("plant", record.Device.OwnerId)
            .Tag("line", production.Line)
            .Field("output_kg", production.OutputKg)
            .Field("seq", record.Key.Sequence)
            .Timestamp(LineProtocolWriter.TimestampFor(record.EventTime, record.Key.Sequence));
    }
}

/// <summary>The keys of a product lot's details (trace_lot.details) that the chain reads back.</summary>
public static class ProductLotDetails
{
    public const string Category = "productCategory";
    public const string Gtin = "gtin";
    public const string BestBefore = "bestBefore";

    public static string? Read(LotNode lot, string key)
    {
        try
        {
            using var document = JsonDocument.Parse(lot.Details);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty(key, out var value)
                && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
