namespace HohhotCluster.Telemetry.Traceability;

public enum CallerRole
{
    Unspecified = 0,
    /// <summary>Market supervision or the agriculture bureau: reads the chain of its plants (or all), writes nothing.</summary>
    Regulator = 1,
    /// <summary>A dairy processor: reads the lots its plants touched, writes for its plants.</summary>
    Processor = 2,
    /// <summary>The platform operator (and partner imports it runs): reads everything, writes lots it creates.</summary>
    Operator = 3,
    /// <summary>A pasture operator: reads its pastures' bulk-tank lots and the tanker loads they went into.</summary>
    PastureOperator = 4,
}

/// <summary>
/// What a caller may see and change of the chain, made by the API from the caller's verified token (never from a
/// request): the organisation writes are owned by, and the plants (or pastures) whose lots it sees; null plant and
/// pasture lists mean the whole chain.
/// </summary>
public sealed record CallerScope(CallerRole Role, string OrganisationId, IReadOnlyCollection<string>? PlantIds, IReadOnlyCollection<string>? PastureIds = null)
{
    public static readonly CallerScope Everything = new(CallerRole.Operator, "platform", null);

    /// <summary>A processor of these plants (tests and tools).</summary>
    public static CallerScope ProcessorOf(string organisationId, params string[] plantIds) => new(CallerRole.Processor, organisationId, plantIds);

    /// <summary>A regulator of the whole city.</summary>
    public static readonly CallerScope CityRegulator = new(CallerRole.Regulator, "regulator", null);

    public bool SeesAll => PlantIds is null && PastureIds is null;

    public bool MayWrite => Role is CallerRole.Processor or CallerRole.Operator;

    public bool SeesPlant(string? plantId) => SeesAll || (plantId is not null && PlantIds is { } plants && plants.Contains(plantId));

    public bool SeesPasture(string? pastureId) => SeesAll || (pastureId is not null && PastureIds is { } pastures && pastures.Contains(pastureId));

    /// <summary>The plant ids a query filters on; null means no filter.</summary>
    public string[]? PlantFilter => SeesAll ? null : [.. PlantIds ?? []];
}

/// <summary>What a trace or import refuses; the API turns each into its status code.</summary>
public abstract class TraceRefusal(string message) : Exception(message);

public sealed class LotNotFoundException(string message) : TraceRefusal(message);

public sealed class ScopeDeniedException(string message) : TraceRefusal(message);

public sealed class InvalidTraceRequestException(string message, IReadOnlyList<string>? problems = null) : TraceRefusal(message)
{
    public IReadOnlyList<string> Problems { get; } = problems ?? [message];
}

public sealed class TracePreconditionException(string message) : TraceRefusal(message);

/// <summary>The host is busy with work of this kind; the caller retries later.</summary>
public sealed class TraceBusyException(string message) : TraceRefusal(message);
