using System.Globalization;
using System.Text.Json;
using HohhotCluster.Telemetry.Audit.Alerts;
using HohhotCluster.Telemetry.Identity;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Reports;

/// <summary>The JSON a report webhook receives: the run, its period and every file (base64), signed like alert notifications.</summary>
public sealed record ReportNotification(long RunId, long? ScheduleId, string OrganisationId, string Kind, string From, string To, string Digest,
    IReadOnlyList<string> Scopes, IReadOnlyList<NotifiedReportFile> Files);

public sealed record NotifiedReportFile(string FileName, string ContentType, string Sha256, string ContentBase64);

/// <summary>
/// Renders reports (for a download) and runs a schedule's report for a period: built from the Audit component's
/// answers, written in each of the schedule's formats to the report folder, delivered to the schedule's webhook and
/// e-mail addresses through the platform's <see cref="NotificationSender"/> (retried with backoff), and recorded.
/// </summary>
public sealed partial class ReportRunner(
    ReportBuilder builder,
    ReportScopes scopes,
    ReportStore store,
    IdentityStore identity,
    NotificationSender sender,
    IOptions<ReportOptions> options,
    TimeProvider clock,
    ILogger<ReportRunner> logger)
{
    /// <summary>The longest period a report covers (a year and a day).</summary>
    public const int MaxPeriodDays = 366;

    public static void CheckPeriod(DateOnly from, DateOnly to)
    {
        if (to < from)
        {
            throw new ReportRequestException(ReportRefusal.InvalidArgument, "to_date must not be before from_date.");
        }

        if (to.DayNumber - from.DayNumber >= MaxPeriodDays)
        {
            throw new ReportRequestException(ReportRefusal.InvalidArgument, $"The period is at most {MaxPeriodDays} days.");
        }
    }

    /// <summary>A report's content for the caller, now: XLSX (every table) or one CSV table (null: the kind's first).</summary>
    public async Task<RenderedReport> RenderAsync(Caller caller, string kind, ReportScope? scope, DateOnly from, DateOnly to, ReportFileFormat format,
        string? table, CancellationToken cancellationToken)
    {
        CheckPeriod(from, to);
        if (table is not null && format == ReportFileFormat.Csv && !ReportBuilder.TablesOf(kind).Contains(table))
        {
            throw new ReportRequestException(ReportRefusal.InvalidArgument,
                $"table '{ReportScopes.Shorten(table)}' is not a table of a {kind} report ({string.Join(", ", ReportBuilder.TablesOf(kind))}).");
        }

        var covered = await scopes.ResolveAsync(caller, kind, scope, cancellationToken);
        var content = await builder.BuildAsync(new ReportRequest(kind, covered, from, to), cancellationToken);
        return format == ReportFileFormat.Xlsx
            ? await ReportWriters.XlsxAsync(content, cancellationToken)
            : ReportWriters.Csv(content, content.Table(table ?? ReportBuilder.TablesOf(kind)[0]));
    }

    /// <summary>Refuses a scope (or holdings) the caller could not have reported on, as a render would.</summary>
    public async Task CheckScopeAsync(Caller caller, string kind, ReportScope? scope, CancellationToken cancellationToken) =>
        await scopes.ResolveAsync(caller, kind, scope, cancellationToken);

    /// <summary>Runs a claimed run (<paramref name="runId"/>) of the schedule for the period, to its end; answers the recorded run.</summary>
    public async Task<ReportRunRow> RunAsync(long runId, ReportScheduleRow schedule, DateOnly from, DateOnly to, CancellationToken cancellationToken)
    {
        var files = new List<ReportFileRecord>();
        var deliveries = new List<ReportDeliveryRecord>();
        IReadOnlyList<ReportScope> covered = [];
        var digest = "";
        string status;
        string error;
        try
        {
            var organisation = await identity.GetOrganisationAsync(schedule.OrganisationId, cancellationToken);
            if (organisation is null || organisation.DeactivatedAt is not null)
            {
                throw new ReportRequestException(ReportRefusal.FailedPrecondition, $"Organisation '{schedule.OrganisationId}' no longer exists or is deactivated.");
            }

            var caller = ReportScopes.CallerOf(organisation, "report-schedule:" + schedule.Id.ToString(CultureInfo.InvariantCulture));
            var requested = schedule.Scope.Length == 0 ? null : ReportScope.Parse(schedule.Scope);
            covered = await scopes.ResolveAsync(caller, schedule.Kind, requested, cancellationToken);
            var content = await builder.BuildAsync(new ReportRequest(schedule.Kind, covered, from, to), cancellationToken);
            digest = ReportWriters.Digest(content);
            var rendered = new List<RenderedReport>();
            foreach (var format in schedule.Formats)
            {
                if (format == "xlsx")
                {
                    rendered.Add(await ReportWriters.XlsxAsync(content, cancellationToken));
                }
                else
                {
                    foreach (var table in content.Tables)
                    {
                        rendered.Add(ReportWriters.Csv(content, table));
                    }
                }
            }

            var folder = Path.Combine(options.Value.ResolvedFolder, Safe(schedule.OrganisationId), runId.ToString(CultureInfo.InvariantCulture));
            Directory.CreateDirectory(folder);
            foreach (var file in rendered)
            {
                var path = Path.Combine(folder, file.FileName);
                await File.WriteAllBytesAsync(path, file.Content, cancellationToken);
                files.Add(new ReportFileRecord(file.FileName, file.ContentType, file.Content.LongLength, file.Sha256, path));
            }

            deliveries.Add(new ReportDeliveryRecord("folder", folder, true, 1, ""));
            var period = $"{Day(from)}..{Day(to)}";
            if (schedule.WebhookUrl is { } url)
            {
                var body = JsonSerializer.Serialize(new ReportNotification(runId, schedule.Id, schedule.OrganisationId, schedule.Kind, Day(from), Day(to), digest,
                    covered.Select(s => s.ToString()).ToList(),
                    rendered.Select(f => new NotifiedReportFile(f.FileName, f.ContentType, f.Sha256, Convert.ToBase64String(f.Content))).ToList()), ReportStore.Json);
                var (attempts, failure) = await sender.WithRetriesAsync(ct => sender.PostSignedAsync(url, schedule.WebhookSecret ?? "", body, ct),
                    (attempt, e) => LogRetrying(runId, "webhook", attempt, e), cancellationToken);
                deliveries.Add(new ReportDeliveryRecord("webhook", url, failure is null, attempts, failure ?? ""));
            }

            if (schedule.EmailTo.Length > 0)
            {
                var (attempts, failure) = await sender.WithRetriesAsync(ct => sender.SendMailAsync(schedule.EmailTo,
                        $"[hohhot] {schedule.Kind} report {period} ({string.Join(", ", covered.Select(s => s.ToString()))})",
                        $"The {schedule.Kind} report of {schedule.OrganisationId} for {period}: {content.Rows.ToString(CultureInfo.InvariantCulture)} rows, digest {digest}.\n",
                        rendered.Select(f => new MailAttachment(f.FileName, f.ContentType, f.Content)).ToList(), ct),
                    (attempt, e) => LogRetrying(runId, "email", attempt, e), cancellationToken);
                deliveries.Add(new ReportDeliveryRecord("email", string.Join(", ", schedule.EmailTo), failure is null, attempts, failure ?? ""));
            }

            var failed = deliveries.Where(d => !d.Delivered).ToList();
            status = failed.Count == 0 ? "succeeded" : "failed";
            error = string.Join("; ", failed.Select(d => $"{d.Channel}: {d.Error}"));
        }
        catch (ReportRequestException refused)
        {
            status = "failed";
            error = refused.Message;
        }

        await store.FinishAsync(runId, covered.Select(s => s.ToString()).ToList(), status, digest, files, deliveries, error, clock.GetUtcNow(), cancellationToken);
        if (status == "succeeded")
        {
            LogRan(runId, schedule.Id, Day(from), Day(to), files.Count);
        }
        else
        {
            LogRunFailed(runId, schedule.Id, Day(from), Day(to), error);
        }

        return await store.FindRunAsync(runId, cancellationToken) ?? throw new InvalidOperationException($"Report run {runId} vanished.");
    }

    /// <summary>Runs the schedule's report for a past period now, again if it ran before (a run of its own, trigger manual).</summary>
    public async Task<ReportRunRow> RunNowAsync(ReportScheduleRow schedule, DateOnly from, DateOnly to, string requestedBy, CancellationToken cancellationToken)
    {
        CheckPeriod(from, to);
        if (to >= Contracts.ChinaTime.Today(clock))
        {
            throw new ReportRequestException(ReportRefusal.InvalidArgument, "to_date must be a past day (China Standard Time): a period is reported once it is over.");
        }

        var runId = await store.StartManualAsync(schedule, from, to, requestedBy, clock.GetUtcNow(), cancellationToken);
        return await RunAsync(runId, schedule, from, to, cancellationToken);
    }

    private static string Day(DateOnly day) => day.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);

    private static string Safe(string id) => new(id.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray());

    [LoggerMessage(EventId = 5501, Level = LogLevel.Information, Message = "Report run {RunId} of schedule {ScheduleId} for {From}..{To}: {Files} files written and delivered")]
    private partial void LogRan(long runId, long scheduleId, string from, string to, int files);

    [LoggerMessage(EventId = 5502, Level = LogLevel.Error, Message = "Report run {RunId} of schedule {ScheduleId} for {From}..{To} failed: {Error}")]
    private partial void LogRunFailed(long runId, long scheduleId, string from, string to, string error);

    [LoggerMessage(EventId = 5503, Level = LogLevel.Warning, Message = "Report run {RunId}: {Channel} delivery failed (attempt {Attempt}): {Error}; retrying")]
    private partial void LogRetrying(long runId, string channel, int attempt, string error);
}
