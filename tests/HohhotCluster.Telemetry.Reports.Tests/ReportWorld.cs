using HohhotCluster.Telemetry.Api;
using HohhotCluster.Telemetry.Audit.Alerts;
using HohhotCluster.Telemetry.Audit.Kpi;
using HohhotCluster.Telemetry.Audit.Quality;
using HohhotCluster.Telemetry.Audit.Rules;
using HohhotCluster.Telemetry.Audit.Tests;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Identity;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace HohhotCluster.Telemetry.Reports.Tests;

/// <summary>
/// A fresh PostgreSQL database (every component's migrations) with two counties, their pastures, plants and a
/// regulator's lab, a week of quality samples fed through the quality kinds' own handlers, and four organisations:
/// a city-wide regulator, county cB's regulator, a processor holding plant PL, a pasture operator holding PA.
/// The week reported is Monday 2 March to Sunday 8 March 2026 (China Standard Time).
/// </summary>
public sealed class ReportWorld : IAsyncLifetime
{
    public static readonly DateOnly WeekFrom = new(2026, 3, 2);
    public static readonly DateOnly WeekTo = new(2026, 3, 8);
    public const string Plate = "蒙A,1\"23";

    public NpgsqlDataSource DataSource { get; private set; } = null!;

    /// <summary>Wednesday 1 April 2026, 08:00 China time.</summary>
    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 4, 1, 0, 0, 0, TimeSpan.Zero));
    public AuditQueries Queries { get; private set; } = null!;
    public KpiCalculator Kpis { get; private set; } = null!;
    public IdentityStore Identity { get; private set; } = null!;
    public ReportStore Store { get; private set; } = null!;
    public ReportScopes Scopes { get; private set; } = null!;
    public string Folder { get; } = Path.Combine(Path.GetTempPath(), TestServers.UniqueName("reports"));

    public async Task InitializeAsync()
    {
        DataSource = await TestServers.CreateMigratedDatabaseAsync("reports",
            typeof(Traceability.ChainStore), typeof(Audit.AuditServiceCollectionExtensions), typeof(IdentityStore), typeof(ReportStore),
            typeof(Animals.AnimalRegistryStore));

        var registry = new RegistryStore(DataSource);
        await registry.UpsertAsync(new RegistryBatch
        {
            Counties = [new CountyRecord { Id = "cA", Name = "A" }, new CountyRecord { Id = "cB", Name = "B" }],
            Pastures =
            [
                new PastureRecord { Id = "PA", CountyId = "cA", Name = "PA", Species = "cow", CapacityHead = 1200 },
                new PastureRecord { Id = "PB", CountyId = "cB", Name = "PB", Species = "cow", CapacityHead = 600 },
            ],
            Plants =
            [
                new PlantRecord { Id = "PL", CountyId = "cA", Name = "PL", DailyCapacityT = 500 },
                new PlantRecord { Id = "PL2", CountyId = "cB", Name = "PL2", DailyCapacityT = 100 },
            ],
            Labs = [new LabRecord { Id = "LAB", CountyId = "cA", Name = "regulator's lab" }],
        });

        var meters = new Audit.AuditMetrics(new NoMeters());
        var alerts = new AlertStore(DataSource, meters);
        var quality = new QualityStore(DataSource, new RuleTableStore(DataSource), alerts, meters, Clock);
        var owners = new Audit.OwnerDirectory(registry, Clock);
        var pastureLab = new QualityKind(OwnerKind.Pasture, quality, owners, Clock);
        var plantLab = new QualityKind(OwnerKind.Plant, quality, owners, Clock);
        var regulatorLab = new QualityKind(OwnerKind.Lab, quality, owners, Clock);
        var feed = new HandlerFeed("-RPT");
        static DateTimeOffset Day(int day) => new(2026, 3, day, 9, 30, 0, TimeSpan.FromHours(8));
        static object N(string item, decimal value, string unit) => new { item, value, unit };
        static object Sample(string id, string kind, string lotKind, string lot, object[] items, string? plate = null) =>
            new { sampleId = id, sampleKind = kind, lot = new { kind = lotKind, id = lot }, tankerPlate = plate, items };

        // The week: R1 passes at PA; R2 fails protein at PB (supervisory); R3 fails total bacteria at plant PL (its
        // tanker's plate has a comma and a quote); R4 fails protein at plant PL2 (county cB); R5 passes at PL.
        // R6 falls on Tuesday 10 March, outside the week.
        await feed.SendAsync(pastureLab, "PA", "cA", Day(2), Sample("R1", "pasture_self_check", "bulk_tank_lot", "LA1", [N("protein", 3.2m, "g/100g"), N("fat", 3.8m, "%")]));
        await feed.SendAsync(regulatorLab, "LAB", "cA", Day(3),
            new { sampleId = "R2", sampleKind = "supervisory", pastureId = "PB", lot = new { kind = "bulk_tank_lot", id = "LB1" }, items = new[] { N("protein", 2.7m, "g/100g") } });
        await feed.SendAsync(plantLab, "PL", "cA", Day(4), Sample("R3", "plant_acceptance", "tanker_load", "TL1", [N("protein", 3.0m, "g/100g"), N("total_bacteria", 2_500_000m, "CFU/mL")], Plate));
        await feed.SendAsync(plantLab, "PL2", "cB", Day(5), Sample("R4", "plant_acceptance", "tanker_load", "TL2", [N("protein", 2.6m, "g/100g")]));
        await feed.SendAsync(plantLab, "PL", "cA", Day(6), Sample("R5", "plant_acceptance", "tanker_load", "TL3", [N("protein", 3.1m, "g/100g")]));
        await feed.SendAsync(pastureLab, "PA", "cA", Day(10), Sample("R6", "pasture_self_check", "bulk_tank_lot", "LA2", [N("protein", 2.5m, "g/100g")]));

        Queries = new AuditQueries(DataSource);
        Kpis = new KpiCalculator(DataSource, new NoMilk(), Queries, Options.Create(new Audit.AuditOptions()),
            new Animals.AnimalRegistryFigures(new Animals.AnimalRegistryStore(DataSource, TimeProvider.System), new Animals.AnimalHealthStore(DataSource),
                new Animals.AnimalBreedingStore(DataSource)));
        Identity = new IdentityStore(DataSource);
        Store = new ReportStore(DataSource);
        Scopes = new ReportScopes(new KnownScopesReportGuard(new KnownScopes(registry, Clock)));
        await Organisation("reg-city", OrganisationKind.Regulator, cityWide: true);
        await Organisation("reg-b", OrganisationKind.Regulator, counties: ["cB"]);
        await Organisation("proc", OrganisationKind.Processor, plants: ["PL"]);
        await Organisation("farm", OrganisationKind.PastureOperator, pastures: ["PA"]);
    }

    private async Task Organisation(string id, OrganisationKind kind, bool cityWide = false, string[]? pastures = null, string[]? plants = null, string[]? counties = null)
    {
        await Identity.CreateOrganisationAsync(new Organisation { Id = id, Kind = kind, Name = id, CityWide = cityWide }, default);
        if (pastures is not null || plants is not null || counties is not null)
        {
            await Identity.AssignHoldingsAsync(id, pastures ?? [], plants ?? [], counties ?? [], transfer: false, default);
        }
    }

    public async Task<Caller> CallerAsync(string organisationId) =>
        ReportScopes.CallerOf((await Identity.GetOrganisationAsync(organisationId, default))!, "tester@" + organisationId);

    public ReportBuilder Builder() => new(Queries, Kpis);

    /// <summary>A runner whose retries wait on the real clock (<paramref name="attempts"/> attempts, 20 ms apart at first) and whose periods follow <see cref="Clock"/>.</summary>
    public ReportRunner Runner(int attempts = 3, string smtpHost = "", int smtpPort = 25, TimeProvider? clock = null) =>
        new(Builder(), Scopes, Store, Identity,
            new NotificationSender(Options.Create(new AlertNotificationOptions
            {
                Attempts = attempts, FirstRetryDelay = TimeSpan.FromMilliseconds(20), RequestTimeout = TimeSpan.FromSeconds(10), SmtpHost = smtpHost, SmtpPort = smtpPort,
            }), TimeProvider.System),
            Options.Create(new ReportOptions { Folder = Folder }), clock ?? Clock, NullLogger<ReportRunner>.Instance);

    public ReportScheduler Scheduler(ReportRunner runner, TimeProvider clock) =>
        new(Store, runner, Options.Create(new ReportOptions { Folder = Folder }), clock, NullLogger<ReportScheduler>.Instance);

    public async Task DisposeAsync()
    {
        await DataSource.DisposeAsync();
        if (Directory.Exists(Folder))
        {
            Directory.Delete(Folder, recursive: true);
        }
    }

    private sealed class NoMilk : IMilkTotalsSource
    {
        public Task<DailyTotals> GetDayAsync(string rollupKey, DateOnly localDate) => Task.FromResult(default(DailyTotals));

        public Task<Dictionary<DateOnly, DailyTotals>> GetAllDaysAsync(string rollupKey) => Task.FromResult(new Dictionary<DateOnly, DailyTotals>());
    }

    private sealed class NoMeters : System.Diagnostics.Metrics.IMeterFactory
    {
        public System.Diagnostics.Metrics.Meter Create(System.Diagnostics.Metrics.MeterOptions options) => new(options);

        public void Dispose()
        {
        }
    }
}
