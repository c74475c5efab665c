using HohhotCluster.FirmwareSim.Fleet;

namespace HohhotCluster.FirmwareSim.Simulation;

internal enum SimEventType : byte
{
    Milking,
    TankLevel,
    TankCollection,
    PlantIntake,
    TankerPickup,
    SiloTransfer,
    Production,
    Quality,
    Manure,
    Health,
    Tmr,
    FeedStock,
    TankerLog,
    /// <summary>An animal's life event (<see cref="Animals.AnimalLifeEvent"/> in Detail).</summary>
    AnimalEvent,
    /// <summary>The pasture's milk line switched to this tank (bulk_tank <c>filling</c>): the milk poured from then on goes into it.</summary>
    TankFilling,
}

internal enum MilkingRemark : byte
{
    None,
    /// <summary>Colostrum (first 7 days in milk): milked separately, never in the bulk tank.</summary>
    Colostrum,
    /// <summary>Animal under treatment or in its withdrawal period: milked separately.</summary>
    Withdrawal,
    /// <summary>In its withdrawal period, but milked into the bulk tank (no remark): the platform must catch it from the registry.</summary>
    WithdrawalToTank,
    /// <summary>Colostrum milked into the bulk tank (no remark).</summary>
    ColostrumToTank,
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
    /// <summary><see cref="TankCollection"/> (collection, pickup), <see cref="TankerLoad"/> or one of the records in ChainRecords.cs.</summary>
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
    public required LotQuality Quality { get; init; }
    public string? TankerLoadId { get; set; }
    public TankerLoad? Load { get; set; }
    /// <summary>Milkings in the lot of an animal in its withdrawal period, and of colostrum (the lot must be flagged).</summary>
    public int WithdrawalMilkings { get; init; }
    public int ColostrumMilkings { get; init; }
    /// <summary>Place on the tanker's route (1-based): the compartment on the handover slip.</summary>
    public int Compartment { get; set; }
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
    public required AnimalSpecies Species { get; init; }
    public required string Driver { get; init; }
    public required string Permit { get; init; }
    /// <summary>kg picked up at the pastures (the pickups' sum); <see cref="NetKg"/> is what the weighbridge saw.</summary>
    public required double PickedUpKg { get; init; }
    /// <summary>Water added on the way (0 for an honest load), as a share of the milk.</summary>
    public double WaterShare { get; init; }
    public required LotQuality Quality { get; init; }
    /// <summary>Failed the plant's acceptance sample: weighed in, then sent back, never blended.</summary>
    public bool Rejected { get; set; }
}
