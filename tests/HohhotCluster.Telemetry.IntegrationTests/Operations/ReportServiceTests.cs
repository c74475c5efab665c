using System.Globalization;
using System.Text;
using Grpc.Core;
using HohhotCluster.Telemetry.IntegrationTests.Identity;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.Telemetry.IntegrationTests.Operations;

/// <summary>
/// The ReportService through a real platform: the dashboard's download (RenderReport), schedules of an organisation
/// and a past period run on request, and the statuses a caller gets for bad input or a scope it does not hold.
/// </summary>
public sealed class ReportServiceTests(IdentityPlatform world) : IClassFixture<IdentityPlatform>
{
    private static readonly string From = ThroughputProbe.ChinaDay(14).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
    private static readonly string To = ThroughputProbe.ChinaDay(8).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private ReportService.ReportServiceClient As(string kind, string role) => new(world.Callers[(kind, role)].Channel);

    private static async Task<RpcException> Refused(Func<Task> call) => await Assert.ThrowsAsync<RpcException>(call);

    [Fact]
    public async Task RenderReport_answers_the_xlsx_and_csv_downloads_and_names_the_field_of_bad_input()
    {
        var reports = As("regulator", "viewer");
        var xlsx = await reports.RenderReportAsync(new RenderReportRequest { Kind = "audit", FromDate = From, ToDate = To });
        Assert.Equal("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", xlsx.ContentType);
        Assert.StartsWith("audit-city-", xlsx.FileName, StringComparison.Ordinal);
        Assert.Equal("PK\u0003\u0004", Encoding.ASCII.GetString(xlsx.Content.Span[..4]));
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(xlsx.Content.Span)), xlsx.Sha256);

        var csv = await reports.RenderReportAsync(new RenderReportRequest
        {
            Kind = "audit", Scope = new ReportScope { Kind = "plant", Id = world.Fleet.Plant }, FromDate = From, ToDate = To, Format = ReportFormat.Csv, Table = "failing_samples",
        });
        Assert.Equal("text/csv; charset=utf-8", csv.ContentType);
        Assert.EndsWith("-failing_samples.csv", csv.FileName, StringComparison.Ordinal);
        var text = Encoding.UTF8.GetString(csv.Content.Span);
        Assert.StartsWith("\uFEFFscope,sample_id,sample_kind,sampled_at,", text, StringComparison.Ordinal);

        var kind = await Refused(() => reports.RenderReportAsync(new RenderReportRequest { Kind = "milk", FromDate = From, ToDate = To }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, kind.StatusCode);
        Assert.Contains("kind 'milk'", kind.Status.Detail, StringComparison.Ordinal);
        var backwards = await Refused(() => reports.RenderReportAsync(new RenderReportRequest { Kind = "audit", FromDate = To, ToDate = From }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, backwards.StatusCode);
        Assert.Contains("to_date", backwards.Status.Detail, StringComparison.Ordinal);
        var missing = await Refused(() => reports.RenderReportAsync(new RenderReportRequest { Kind = "audit", ToDate = To }).ResponseAsync);
        Assert.Contains("from_date", missing.Status.Detail, StringComparison.Ordinal);
        var table = await Refused(() => reports.RenderReportAsync(new RenderReportRequest { Kind = "audit", FromDate = From, ToDate = To, Format = ReportFormat.Csv, Table = "nope" }).ResponseAsync);
        Assert.Contains("table 'nope'", table.Status.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_processor_downloads_only_its_plants_and_no_KPIs()
    {
        var processor = As("processor", "viewer");
        var own = await processor.RenderReportAsync(new RenderReportRequest { Kind = "audit", FromDate = From, ToDate = To, Format = ReportFormat.Csv });
        Assert.StartsWith($"audit-plant_{world.Fleet.Plant}-", own.FileName, StringComparison.Ordinal);

        var pasture = await Refused(() => processor.RenderReportAsync(new RenderReportRequest
        {
            Kind = "audit", Scope = new ReportScope { Kind = "pasture", Id = world.Fleet.PastureA }, FromDate = From, ToDate = To,
        }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, pasture.StatusCode);
        var city = await Refused(() => processor.RenderReportAsync(new RenderReportRequest { Kind = "audit", Scope = new ReportScope { Kind = "city" }, FromDate = From, ToDate = To }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, city.StatusCode);
        var kpis = await Refused(() => processor.RenderReportAsync(new RenderReportRequest { Kind = "kpi", FromDate = From, ToDate = To }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, kpis.StatusCode);
    }

    [Fact]
    public async Task A_schedule_is_its_organisations_own_and_runs_a_past_period_on_request()
    {
        var admin = As("processor", "admin");
        var badHook = await Refused(() => admin.CreateReportScheduleAsync(new CreateReportScheduleRequest
        {
            Kind = "audit", Cadence = ReportCadence.Daily, LocalHour = 6, WebhookUrl = "http://203.0.113.9/hook", WebhookSecret = "0123456789abcdef",
        }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, badHook.StatusCode);
        Assert.Contains("webhook_url", badHook.Status.Detail, StringComparison.Ordinal);
        var noWeekday = await Refused(() => admin.CreateReportScheduleAsync(new CreateReportScheduleRequest { Kind = "audit", Cadence = ReportCadence.Weekly, LocalHour = 6 }).ResponseAsync);
        Assert.Contains("weekday", noWeekday.Status.Detail, StringComparison.Ordinal);
        var hour = await Refused(() => admin.CreateReportScheduleAsync(new CreateReportScheduleRequest { Kind = "audit", Cadence = ReportCadence.Daily, LocalHour = 24 }).ResponseAsync);
        Assert.Contains("local_hour", hour.Status.Detail, StringComparison.Ordinal);
        var viewer = await Refused(() => As("processor", "viewer").CreateReportScheduleAsync(new CreateReportScheduleRequest { Kind = "audit", Cadence = ReportCadence.Daily }).ResponseAsync);
        Assert.Equal(StatusCode.PermissionDenied, viewer.StatusCode);

        // The test host has no SMTP relay: a schedule that would e-mail is refused up front, naming the field.
        var mail = await Refused(() => admin.CreateReportScheduleAsync(new CreateReportScheduleRequest
        {
            Kind = "audit", Cadence = ReportCadence.Daily, LocalHour = 6, EmailTo = { "qa@example.org" },
        }).ResponseAsync);
        Assert.Equal(StatusCode.FailedPrecondition, mail.StatusCode);
        Assert.Contains("email_to", mail.Status.Detail, StringComparison.Ordinal);

        var schedule = await admin.CreateReportScheduleAsync(new CreateReportScheduleRequest
        {
            Kind = "audit", Cadence = ReportCadence.Weekly, Weekday = 1, LocalHour = 6, Formats = { ReportFormat.Csv },
        });
        Assert.Equal(world.Organisations["processor"], schedule.OrganisationId);
        Assert.Contains((await As("processor", "viewer").ListReportSchedulesAsync(new ListReportSchedulesRequest())).Schedules, s => s.Id == schedule.Id);
        Assert.DoesNotContain((await As("regulator", "viewer").ListReportSchedulesAsync(new ListReportSchedulesRequest())).Schedules, s => s.Id == schedule.Id);

        var run = await As("processor", "editor").RunReportAsync(new RunReportRequest { ScheduleId = schedule.Id, FromDate = From, ToDate = To });
        Assert.Equal(("manual", From, To, "succeeded"), (run.Trigger, run.FromDate, run.ToDate, run.Status));
        Assert.All(run.Files, f => Assert.StartsWith($"audit-plant_{world.Fleet.Plant}-", f.FileName, StringComparison.Ordinal));
        Assert.Equal(2, run.Files.Count);
        Assert.All(run.Files, f => Assert.True(File.Exists(f.Path) && f.Path.StartsWith(world.Platform.ReportFolder, StringComparison.Ordinal), f.Path));
        Assert.Equal(["folder"], run.Deliveries.Select(d => d.Channel));
        Assert.Matches("^[0-9a-f]{64}$", run.Digest);
        Assert.Contains((await As("processor", "viewer").ListReportRunsAsync(new ListReportRunsRequest { ScheduleId = schedule.Id })).Runs, r => r.Id == run.Id && r.Digest == run.Digest);

        var other = await Refused(() => As("regulator", "editor").RunReportAsync(new RunReportRequest { ScheduleId = schedule.Id, FromDate = From, ToDate = To }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, other.StatusCode);
        Assert.True((await admin.DeleteReportScheduleAsync(new DeleteReportScheduleRequest { Id = schedule.Id })).Deleted);
        Assert.Equal(StatusCode.NotFound, (await Refused(() => admin.DeleteReportScheduleAsync(new DeleteReportScheduleRequest { Id = schedule.Id }).ResponseAsync)).StatusCode);
    }
}
