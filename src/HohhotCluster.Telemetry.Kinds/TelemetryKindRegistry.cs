using System.Collections.Frozen;

namespace HohhotCluster.Telemetry.Kinds;

/// <summary>
/// Every registered <see cref="ITelemetryKind"/>, built once at start: the lookup by (name, owner kind) that topic
/// parsing and dispatch use, the names no kind may take, and each kind's reporting cadence. Refuses at start two
/// definitions of one (name, owner kind), a reserved name, and a name that is not a plain topic segment.
/// </summary>
public sealed class TelemetryKindRegistry
{
    /// <summary>The last topic segment of a gateway's batch message (<c>hohhot/v1/{ownerKind}/{ownerId}/batch</c>).</summary>
    public const string BatchTopicName = "batch";

    /// <summary>Names no kind may take: they mean something else in a topic's last segment.</summary>
    public static IReadOnlySet<string> ReservedNames { get; } = new HashSet<string>(StringComparer.Ordinal) { BatchTopicName };

    private readonly FrozenDictionary<(string Name, OwnerKind Owner), ITelemetryKind> _byNameAndOwner;
    private readonly FrozenDictionary<string, OwnerKind[]> _ownersByName;

    public TelemetryKindRegistry(IEnumerable<ITelemetryKind> kinds)
    {
        var byNameAndOwner = new Dictionary<(string, OwnerKind), ITelemetryKind>();
        var all = new List<ITelemetryKind>();
        foreach (var kind in kinds)
        {
            if (string.IsNullOrEmpty(kind.Name) || !kind.Name.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_'))
            {
                throw new InvalidOperationException(
                    $"Telemetry kind '{kind.Name}' ({kind.GetType().Name}): a kind name is a topic segment of lower-case letters, digits and '_'.");
            }

            if (ReservedNames.Contains(kind.Name))
            {
                throw new InvalidOperationException($"Telemetry kind '{kind.Name}' ({kind.GetType().Name}): the name is reserved.");
            }

            if (!byNameAndOwner.TryAdd((kind.Name, kind.Owner), kind))
            {
                var first = byNameAndOwner[(kind.Name, kind.Owner)];
                throw new InvalidOperationException(
                    $"Telemetry kind '{kind.Name}' for {OwnerKinds.Name(kind.Owner)} is defined twice ({first.GetType().Name}, {kind.GetType().Name}).");
            }

            all.Add(kind);
        }

        All = all;
        _byNameAndOwner = byNameAndOwner.ToFrozenDictionary();
        _ownersByName = all.GroupBy(k => k.Name, StringComparer.Ordinal)
            .ToFrozenDictionary(g => g.Key, g => g.Select(k => k.Owner).Order().ToArray(), StringComparer.Ordinal);
    }

    /// <summary>Every kind, in registration order.</summary>
    public IReadOnlyList<ITelemetryKind> All { get; }

    /// <summary>Every kind name, each once, in ordinal order.</summary>
    public IReadOnlyList<string> Names => [.. _ownersByName.Keys.Order(StringComparer.Ordinal)];

    /// <summary>The definition of <paramref name="name"/> under <paramref name="owner"/>'s topics, or false.</summary>
    public bool TryFind(string name, OwnerKind owner, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ITelemetryKind? kind) =>
        _byNameAndOwner.TryGetValue((name, owner), out kind);

    /// <summary>The owner kinds whose topics carry <paramref name="name"/> (empty: no such kind).</summary>
    public IReadOnlyList<OwnerKind> OwnersOf(string name) => _ownersByName.TryGetValue(name, out var owners) ? owners : [];

    /// <summary>The reporting cadence of <paramref name="name"/> under <paramref name="owner"/>, or null when there is no such kind.</summary>
    public ReportingCadence? CadenceOf(string name, OwnerKind owner) => TryFind(name, owner, out var kind) ? kind.Cadence : null;
}
