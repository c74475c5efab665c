using HohhotCluster.FirmwareSim.Fleet;

namespace HohhotCluster.FirmwareSim.Simulation;

internal enum SimEventType : byte
{
    Milking,
    TankLevel,
    TankCollection,
    PlantIntake,
}

internal enum MilkingRemark : byte
{
    None,
    /// <summary>Colostrum (first 7 days in milk): milked separately, never in the bulk tank.</summary>
    Colostrum,
    /// <summary>Animal under treatment or in its withdrawal period: milked separately.</summary>
    Withdrawal,
}

/// <summary>
/// One thing a device reports, in true simulated time. A compact struct: a city day holds about
/// 1.5 million of them, so payload bytes are written only when the event is published.
/// </summary>
internal struct SimEvent
{
    public long TimeMs;
    public long Order;
    public SimEventType Type;
    public int DeviceIndex;
    public int PastureIndex;
    public int AnimalIndex;
    public float Kg;
    public float DurationSec;
    public float Conductivity;
    public float TemperatureC;
    public float FatPercent;
    public float ProteinPercent;
    public float SccThousand;
    public float VolumeL;
    public MilkingRemark Remark;
    /// <summary><see cref="TankCollection"/> or <see cref="TankerLoad"/>.</summary>
    public object? Detail;
}

internal sealed class TankCollection
{
    public required Pasture Pasture { get; init; }
    public required Device Tank { get; init; }
    public required string LotId { get; init; }
    public required long TimeMs { get; init; }
    public required double Kg { get; init; }
    public required float TemperatureC { get; init; }
    public string? TankerLoadId { get; set; }
}

internal sealed class TankerLoad
{
    public required string Id { get; init; }
    public required Plant Plant { get; init; }
    public required Device Weighbridge { get; init; }
    public required List<TankCollection> Pickups { get; init; }
    public required long DeliveryMs { get; init; }
    public required double NetKg { get; init; }
    public required string Plate { get; init; }
    public required string SiloId { get; init; }
    public required float TemperatureC { get; init; }
}
