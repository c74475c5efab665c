namespace HohhotCluster.Telemetry.Kinds;

/// <summary>Who owns a device and its topics: the second segment of <c>hohhot/v1/{ownerKind}/...</c>.</summary>
public enum OwnerKind
{
    Pasture,
    Plant,

    /// <summary>A regulator's testing laboratory: publishes supervisory quality samples only.</summary>
    Lab,
}

public static class OwnerKinds
{
    /// <summary>Every owner kind, in declaration order.</summary>
    public static IReadOnlyList<OwnerKind> All { get; } = Enum.GetValues<OwnerKind>();

    /// <summary>The owner kind's topic segment and registry name: <c>pasture</c>, <c>plant</c> or <c>lab</c>.</summary>
    public static string Name(OwnerKind kind) => kind switch
    {
        OwnerKind.Pasture => "pasture",
        OwnerKind.Plant => "plant",
        OwnerKind.Lab => "lab",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>The owner kind a topic segment or registry name names, or false.</summary>
    public static bool TryParse(ReadOnlySpan<char> name, out OwnerKind kind)
    {
        foreach (var candidate in All)
        {
            if (name.SequenceEqual(Name(candidate)))
            {
                kind = candidate;
                return true;
            }
        }

        kind = default;
        return false;
    }
}
