using System.Collections.Frozen;
using HohhotCluster.Telemetry.Identity;

namespace HohhotCluster.Telemetry.Reports;

/// <summary>
/// Whether a caller may see a registered county, pasture or plant: the API's own decision (Api's <c>KnownScopes</c>
/// behind it in the host), so a report never shows what the same caller's query would refuse.
/// </summary>
public interface IReportScopeGuard
{
    ValueTask<bool> SeesAsync(Caller caller, ReportScope scope, CancellationToken cancellationToken);
}

public enum ReportRefusal
{
    InvalidArgument,
    NotFound,
    PermissionDenied,
    FailedPrecondition,
}

/// <summary>A report request that cannot be answered, with why (the API maps <see cref="Refusal"/> to a status).</summary>
public sealed class ReportRequestException(ReportRefusal refusal, string message) : Exception(message)
{
    public ReportRefusal Refusal { get; } = refusal;
}

/// <summary>
/// Which scopes a report of an organisation covers: the one asked for, if the organisation sees it, or else
/// everything it holds (the city for the platform operator and a city-wide regulator, a regulator's counties, a
/// processor's plants, a pasture operator's pastures), as its holdings are when the report is built.
/// </summary>
public sealed class ReportScopes(IReportScopeGuard guard)
{
    /// <summary>The organisation as a caller of its own reports (scheduled runs have no account behind them).</summary>
    public static Caller CallerOf(Organisation organisation, string accountId) => new()
    {
        AccountId = accountId,
        OrganisationId = organisation.Id,
        Kind = organisation.Kind,
        Role = AccountRole.Viewer,
        CityWide = organisation.CityWide,
        PastureIds = organisation.PastureIds.ToFrozenSet(StringComparer.Ordinal),
        PlantIds = organisation.PlantIds.ToFrozenSet(StringComparer.Ordinal),
        CountyIds = organisation.CountyIds.ToFrozenSet(StringComparer.Ordinal),
    };

    /// <summary>Parses and checks a requested scope (kind empty: the holdings) against the report kind, before any data is read.</summary>
    public static ReportScope? Parse(string kind, string scopeKind, string scopeId)
    {
        if (Array.IndexOf(ReportKinds.All, kind) < 0)
        {
            throw new ReportRequestException(ReportRefusal.InvalidArgument, $"kind '{Shorten(kind)}' is not a report kind (audit or kpi).");
        }

        if (scopeKind.Length == 0)
        {
            return scopeId.Length == 0 ? null
                : throw new ReportRequestException(ReportRefusal.InvalidArgument, "scope.kind is required with scope.id.");
        }

        if (Array.IndexOf(ReportScope.Kinds, scopeKind) < 0)
        {
            throw new ReportRequestException(ReportRefusal.InvalidArgument, $"scope.kind '{Shorten(scopeKind)}' must be city, county, pasture or plant (or empty).");
        }

        if (scopeKind == ReportScope.City)
        {
            return ReportScope.WholeCity;
        }

        if (string.IsNullOrWhiteSpace(scopeId))
        {
            throw new ReportRequestException(ReportRefusal.InvalidArgument, $"scope.id is required for {scopeKind}.");
        }

        if (kind == ReportKinds.Kpi && scopeKind == ReportScope.Plant)
        {
            throw new ReportRequestException(ReportRefusal.InvalidArgument, "scope.kind: KPIs are measured for the city, a county or a pasture, not a plant.");
        }

        return new ReportScope(scopeKind, scopeId);
    }

    public async Task<IReadOnlyList<ReportScope>> ResolveAsync(Caller caller, string kind, ReportScope? requested, CancellationToken cancellationToken)
    {
        if (requested is not null)
        {
            if (requested.Kind == ReportScope.City)
            {
                return caller.SeesCity ? [requested]
                    : throw new ReportRequestException(ReportRefusal.PermissionDenied,
                        "The whole city is for the platform operator and city-wide regulators; ask for a county, pasture or plant of yours.");
            }

            return await guard.SeesAsync(caller, requested, cancellationToken) ? [requested]
                : throw new ReportRequestException(ReportRefusal.NotFound,
                    $"No {requested.Kind} '{Shorten(requested.Id)}' is registered that you may see.");
        }

        IReadOnlyList<ReportScope> held = caller switch
        {
            { SeesCity: true } => [ReportScope.WholeCity],
            { Kind: OrganisationKind.Regulator } => Of(ReportScope.County, caller.CountyIds),
            { Kind: OrganisationKind.Processor } => Of(ReportScope.Plant, caller.PlantIds),
            { Kind: OrganisationKind.PastureOperator } => Of(ReportScope.Pasture, caller.PastureIds),
            _ => [],
        };
        if (held.Count == 0)
        {
            throw new ReportRequestException(ReportRefusal.FailedPrecondition, $"Organisation '{caller.OrganisationId}' holds no county, pasture or plant to report on.");
        }

        if (kind == ReportKinds.Kpi && held[0].Kind == ReportScope.Plant)
        {
            throw new ReportRequestException(ReportRefusal.InvalidArgument, "kind: KPIs are measured for the city, a county or a pasture; a processor's plants have none.");
        }

        return held;
    }

    private static List<ReportScope> Of(string kind, FrozenSet<string> ids)
    {
        var scopes = new List<ReportScope>(ids.Count);
        foreach (var id in ids.Order(StringComparer.Ordinal))
        {
            scopes.Add(new ReportScope(kind, id));
        }

        return scopes;
    }

    internal static string Shorten(string text) => text.Length <= 64 ? text : text[..64] + "…";
}
