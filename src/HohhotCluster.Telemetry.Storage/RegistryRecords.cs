namespace HohhotCluster.Telemetry.Storage;

/// <summary>The registry's ids (counties, pastures, herds, plants, devices): what RegistryService accepts and what a payload may name.</summary>
public static class RegistryIds
{
    public const int MaxLength = 64;
}

public sealed record CountyRecord
{
    public required string Id { get; init; }
    public required string Name { get; init; }
    public string NameZh { get; init; } = "";
    public string City { get; init; } = "Hohhot";
}

public sealed record PastureRecord
{
    public required string Id { get; init; }
    public required string CountyId { get; init; }
    public required string Name { get; init; }
    /// <summary><c>cow</c> or <c>goat</c>.</summary>
    public required string Species { get; init; }
    public int CapacityHead { get; init; }
    public int MilkingsPerDay { get; init; } = 3;
}

public sealed record HerdRecord
{
    public required string Id { get; init; }
    public required string PastureId { get; init; }
    public string Name { get; init; } = "";
}

public sealed record PlantRecord
{
    public required string Id { get; init; }
    public required string CountyId { get; init; }
    public required string Name { get; init; }
    public decimal DailyCapacityT { get; init; }
    public string Species { get; init; } = "cow";
}

/// <summary>A regulator's testing laboratory (migration 0008): the owner of the devices that publish supervisory samples.</summary>
public sealed record LabRecord
{
    public required string Id { get; init; }
    public required string CountyId { get; init; }
    public required string Name { get; init; }

    /// <summary>The regulator organisation (identity) that holds the lab; null until one is named.</summary>
    public string? RegulatorOrg { get; init; }
}

public sealed record DeviceRecord
{
    public required string Id { get; init; }
    /// <summary><c>pasture</c>, <c>plant</c> or <c>lab</c>.</summary>
    public required string OwnerKind { get; init; }
    public required string OwnerId { get; init; }
    public required string Kind { get; init; }
    public string? HerdId { get; init; }
    public DateTime? DeactivatedAt { get; init; }
}

/// <summary>What of the registry a caller may list: everything, or what lies in these counties or belongs to these owners.</summary>
public sealed record RegistryVisibility(bool All, IReadOnlyCollection<string> CountyIds, IReadOnlyCollection<string> PastureIds, IReadOnlyCollection<string> PlantIds)
{
    public static readonly RegistryVisibility Everything = new(true, [], [], []);
}

/// <summary>A page of a registry list: entries after <see cref="AfterId"/> in id order, or just <see cref="Id"/>.</summary>
public sealed record RegistryPage
{
    public int Size { get; init; } = 100;
    public string AfterId { get; init; } = "";
    public string? Id { get; init; }
    public string? ParentId { get; init; }
    public bool IncludeInactive { get; init; }
}

/// <summary>A registry change refused because it would cross an owner, with a reason naming the record.</summary>
public sealed class RegistryConflictException(string message) : Exception(message);

public sealed record RegistryBatch
{
    public IReadOnlyList<CountyRecord> Counties { get; init; } = [];
    public IReadOnlyList<PastureRecord> Pastures { get; init; } = [];
    public IReadOnlyList<HerdRecord> Herds { get; init; } = [];
    public IReadOnlyList<PlantRecord> Plants { get; init; } = [];
    public IReadOnlyList<LabRecord> Labs { get; init; } = [];
    public IReadOnlyList<DeviceRecord> Devices { get; init; } = [];
}

/// <summary>What ingestion needs to know about a device: whose it is and where that owner sits.</summary>
public sealed record DeviceContext
{
    public required string DeviceId { get; init; }
    public required string OwnerKind { get; init; }
    public required string OwnerId { get; init; }
    public required string CountyId { get; init; }
    public string? HerdId { get; init; }
}
