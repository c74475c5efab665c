namespace HohhotCluster.Telemetry.Traceability;

public enum CallerRole
{
    Unspecified = 0,
    /// <summary>Market supervision or the agriculture bureau: reads every lot, writes nothing.</summary>
    Regulator = 1,
    /// <summary>A dairy processor: reads the lots its plants touched, writes for its plants.</summary>
    Processor = 2,
    /// <summary>The platform operator (and partner imports it runs): reads and writes everything.</summary>
    Operator = 3,
}

/// <summary>
/// Who is asking. Until authentication arrives this comes from the request; every query takes it, so that swapping the
/// source for a verified token changes no query.
/// </summary>
public sealed record CallerScope(CallerRole Role, IReadOnlyList<string> PlantIds)
{
    public static readonly CallerScope Everything = new(CallerRole.Operator, []);

    public bool SeesAll => Role is CallerRole.Regulator or CallerRole.Operator;

    public bool MayWrite => Role is CallerRole.Processor or CallerRole.Operator;

    public bool SeesPlant(string? plantId) => SeesAll || (plantId is not null && PlantIds.Contains(plantId));

    /// <summary>The plant ids a query filters on; null means no filter.</summary>
    public string[]? PlantFilter => SeesAll ? null : [.. PlantIds];
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
