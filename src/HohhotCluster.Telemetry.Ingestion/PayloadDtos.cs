using System.Text.Json;
using System.Text.Json.Serialization;

namespace HohhotCluster.Telemetry.Ingestion;

// Wire shapes of docs/mqtt-contract.md. Every member is nullable so that a missing one is reported by name
// instead of failing deserialization as a whole.

internal sealed class MilkingPayload
{
    public string? DeviceId { get; set; }
    public long? BootEpoch { get; set; }
    public long? Seq { get; set; }
    public string? EventTime { get; set; }
    public string? HerdId { get; set; }
    public IcarMilkingVisit? Visit { get; set; }
}

internal sealed class IcarMilkingVisit
{
    public string? ResourceType { get; set; }
    public IcarIdentifier? Animal { get; set; }
    public string? MilkingStartingDateTime { get; set; }
    public IcarQuantity? MilkingDuration { get; set; }
    public IcarQuantity? MilkingMilkWeight { get; set; }
    public string? MilkingDeviceId { get; set; }
    public List<IcarMilkCharacteristic>? MilkCharacteristics { get; set; }
    public List<string?>? MilkingRemarks { get; set; }
}

internal sealed class IcarIdentifier
{
    public string? Id { get; set; }
    public string? Scheme { get; set; }
}

internal sealed class IcarQuantity
{
    public string? UnitCode { get; set; }
    public double? Value { get; set; }
}

internal sealed class IcarMilkCharacteristic
{
    public string? Characteristic { get; set; }
    public string? Value { get; set; }
    public string? Unit { get; set; }
}

internal sealed class BulkTankPayload
{
    public string? DeviceId { get; set; }
    public long? BootEpoch { get; set; }
    public long? Seq { get; set; }
    public string? EventTime { get; set; }
    public string? TankId { get; set; }
    public string? Event { get; set; }
    public double? VolumeL { get; set; }
    public double? TemperatureC { get; set; }
    public string? LotId { get; set; }
    public double? CollectedKg { get; set; }
    public string? TankerLoadId { get; set; }
}

internal sealed class PlantIntakePayload
{
    public string? DeviceId { get; set; }
    public long? BootEpoch { get; set; }
    public long? Seq { get; set; }
    public string? EventTime { get; set; }
    public string? TankerLoadId { get; set; }
    public string? TankerPlate { get; set; }
    public double? NetKg { get; set; }
    public double? TemperatureC { get; set; }
    public string? SiloId { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    NumberHandling = JsonNumberHandling.Strict,
    MaxDepth = TelemetryPayloadParser.MaxDepth,
    AllowTrailingCommas = false,
    ReadCommentHandling = JsonCommentHandling.Disallow)]
[JsonSerializable(typeof(MilkingPayload))]
[JsonSerializable(typeof(BulkTankPayload))]
[JsonSerializable(typeof(PlantIntakePayload))]
internal sealed partial class PayloadJsonContext : JsonSerializerContext;
