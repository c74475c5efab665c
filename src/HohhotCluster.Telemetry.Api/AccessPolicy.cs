using System.Collections.Frozen;
using HohhotCluster.Telemetry.Identity;

namespace HohhotCluster.Telemetry.Api;

/// <summary>
/// Which organisation kind may call which method, and from which role up: the table of docs/access.md, enforced by
/// <see cref="CallGuardInterceptor"/> before a service runs (a method without a row is refused to everybody; the
/// matrix test calls every method as every kind and role and compares with docs/access.md). What a permitted caller
/// then sees or changes is decided by the service from the caller's holdings.
/// </summary>
public static class AccessPolicy
{
    /// <summary>The minimum role per organisation kind; a kind not named may not call the method.</summary>
    public sealed record Rule(AccountRole? PastureOperator, AccountRole? Processor, AccountRole? Regulator, AccountRole? PlatformOperator)
    {
        public AccountRole? MinimumRole(OrganisationKind kind) => kind switch
        {
            OrganisationKind.PastureOperator => PastureOperator,
            OrganisationKind.Processor => Processor,
            OrganisationKind.Regulator => Regulator,
            OrganisationKind.PlatformOperator => PlatformOperator,
            _ => null,
        };

        public bool Allows(Caller caller) => MinimumRole(caller.Kind) is { } role && caller.Has(role);
    }

    private const AccountRole V = AccountRole.Viewer;
    private const AccountRole E = AccountRole.Editor;
    private const AccountRole A = AccountRole.Admin;
    private const string Prefix = "/hohhot.telemetry.v1.";

    private static readonly Rule Everyone = new(V, V, V, V);

    public static readonly FrozenDictionary<string, Rule> Rules = new Dictionary<string, Rule>
    {
        [Prefix + "ThroughputService/GetDailyThroughput"] = Everyone,
        [Prefix + "ThroughputService/GetThroughputHistory"] = Everyone,

        [Prefix + "RegistryService/UpsertRegistry"] = new(A, A, null, E),
        [Prefix + "RegistryService/ListCounties"] = Everyone,
        [Prefix + "RegistryService/ListPastures"] = Everyone,
        [Prefix + "RegistryService/ListHerds"] = Everyone,
        [Prefix + "RegistryService/ListPlants"] = Everyone,
        [Prefix + "RegistryService/ListLabs"] = new(null, null, V, V),
        [Prefix + "RegistryService/ListDevices"] = Everyone,
        [Prefix + "RegistryService/DeactivateDevice"] = new(A, A, null, E),
        [Prefix + "RegistryService/MoveDevice"] = new(null, null, null, E),
        [Prefix + "RegistryService/IssueGatewayCredential"] = new(A, A, null, A),
        [Prefix + "RegistryService/RotateGatewayCredential"] = new(A, A, null, A),
        [Prefix + "RegistryService/DisableGatewayCredential"] = new(A, A, null, A),
        [Prefix + "RegistryService/EnableGatewayCredential"] = new(A, A, null, A),
        [Prefix + "RegistryService/ListGatewayCredentials"] = new(V, V, null, V),

        [Prefix + "TraceabilityService/TraceBack"] = Everyone,
        [Prefix + "TraceabilityService/TraceForward"] = Everyone,
        [Prefix + "TraceabilityService/RecallImpact"] = new(null, V, V, V),
        [Prefix + "TraceabilityService/MassBalance"] = new(null, V, V, V),
        [Prefix + "TraceabilityService/ImportEpcis"] = new(null, E, null, E),
        [Prefix + "TraceabilityService/ExportEpcis"] = new(null, V, V, V),
        [Prefix + "TraceabilityService/DeclareRecall"] = new(null, E, null, E),

        [Prefix + "AuditService/GetPassRates"] = Everyone,
        [Prefix + "AuditService/ListFailingSamples"] = Everyone,
        [Prefix + "AuditService/GetTrend"] = Everyone,
        [Prefix + "AuditService/ExportCsv"] = Everyone,
        [Prefix + "AuditService/ListRuleVersions"] = Everyone,
        [Prefix + "AuditService/RejudgeSamples"] = new(null, null, E, A),

        [Prefix + "KpiService/GetKpis"] = new(null, null, V, V),

        [Prefix + "FeedingService/GetDailyFeeding"] = new(V, null, V, V),
        [Prefix + "FeedingService/ListFeedStocks"] = new(V, null, V, V),

        [Prefix + "SeriesService/GetSeries"] = Everyone,
        [Prefix + "AnimalService/ImportAnimals"] = new(E, null, null, E),
        [Prefix + "AnimalService/GetAnimal"] = new(V, null, V, V),
        [Prefix + "AnimalService/ListAnimals"] = new(V, null, V, V),
        [Prefix + "AnimalHealthService/ListImmunisations"] = new(V, null, V, V),
        [Prefix + "AnimalHealthService/ListWithoutValidImmunity"] = new(V, null, V, V),
        [Prefix + "AnimalMilkService/GetAnimalMilk"] = new(V, null, V, V),
        [Prefix + "AnimalMilkService/GetLactationCurve"] = new(V, null, V, V),
        [Prefix + "AnimalMilkService/GetHerdMilk"] = new(V, null, V, V),
        [Prefix + "AnimalMilkService/ListUnfitLots"] = new(V, null, V, V),

        [Prefix + "AlertService/ListAlerts"] = Everyone,
        [Prefix + "AlertService/SubscribeAlerts"] = Everyone,
        [Prefix + "AlertService/AcknowledgeAlert"] = new(E, E, E, E),
        [Prefix + "AlertService/AssignAlert"] = new(E, E, E, E),
        [Prefix + "AlertService/ResolveAlert"] = new(E, E, E, E),
        [Prefix + "AlertService/GetAlertHistory"] = Everyone,
        [Prefix + "AlertService/CreateAlertSubscription"] = new(A, A, A, A),
        [Prefix + "AlertService/ListAlertSubscriptions"] = Everyone,
        [Prefix + "AlertService/DeleteAlertSubscription"] = new(A, A, A, A),

        [Prefix + "ReportService/RenderReport"] = Everyone,
        [Prefix + "ReportService/CreateReportSchedule"] = new(A, A, A, A),
        [Prefix + "ReportService/ListReportSchedules"] = Everyone,
        [Prefix + "ReportService/DeleteReportSchedule"] = new(A, A, A, A),
        [Prefix + "ReportService/RunReport"] = new(E, E, E, E),
        [Prefix + "ReportService/ListReportRuns"] = Everyone,

        [Prefix + "IdentityService/WhoAmI"] = Everyone,
        [Prefix + "IdentityService/CreateOrganisation"] = new(null, null, null, A),
        [Prefix + "IdentityService/ListOrganisations"] = new(null, null, null, V),
        [Prefix + "IdentityService/GetOrganisation"] = Everyone,
        [Prefix + "IdentityService/AssignHoldings"] = new(null, null, null, A),
        [Prefix + "IdentityService/CreateAccount"] = new(A, A, A, A),
        [Prefix + "IdentityService/ListAccounts"] = new(A, A, A, A),
        [Prefix + "IdentityService/UpdateAccount"] = new(A, A, A, A),
        [Prefix + "IdentityService/RotateSecret"] = Everyone,
        [Prefix + "IdentityService/ListAccessLog"] = new(null, null, V, V),
    }.ToFrozenDictionary(StringComparer.Ordinal);

    /// <summary>
    /// Exports, traces and changes of gateway credentials: their access log row is committed before the answer leaves
    /// (never lost to a crash).
    /// </summary>
    public static readonly FrozenSet<string> AlwaysLogged = new[]
    {
        Prefix + "TraceabilityService/TraceBack",
        Prefix + "TraceabilityService/TraceForward",
        Prefix + "TraceabilityService/RecallImpact",
        Prefix + "TraceabilityService/MassBalance",
        Prefix + "TraceabilityService/ExportEpcis",
        Prefix + "TraceabilityService/DeclareRecall",
        Prefix + "AuditService/ExportCsv",
        Prefix + "ReportService/RenderReport",
        Prefix + "ReportService/RunReport",
        Prefix + "RegistryService/IssueGatewayCredential",
        Prefix + "RegistryService/RotateGatewayCredential",
        Prefix + "RegistryService/DisableGatewayCredential",
        Prefix + "RegistryService/EnableGatewayCredential",
    }.ToFrozenSet(StringComparer.Ordinal);

    /// <summary>Methods any caller may reach without a token: the standard gRPC health service.</summary>
    public static bool IsAnonymous(string method) => method.StartsWith("/grpc.health.v1.Health/", StringComparison.Ordinal);

    /// <summary>Server reflection: any authenticated caller (it lists the contract, nothing of the data).</summary>
    public static bool IsReflection(string method) => method.StartsWith("/grpc.reflection.", StringComparison.Ordinal);
}
