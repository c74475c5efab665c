using System.Globalization;
using Google.Protobuf;
using Grpc.Core;
using HohhotCluster.Telemetry.Audit.Alerts;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Identity;
using HohhotCluster.Telemetry.Reports;
using HohhotCluster.Telemetry.Protos.V1;
using ReportScope = HohhotCluster.Telemetry.Reports.ReportScope;
using ProtoScope = HohhotCluster.Telemetry.Protos.V1.ReportScope;

namespace HohhotCluster.Telemetry.Api;

/// <summary>The API's scope decision (<see cref="KnownScopes"/>) for the reports component.</summary>
public sealed class KnownScopesReportGuard(KnownScopes scopes) : IReportScopeGuard
{
    public ValueTask<bool> SeesAsync(Caller caller, ReportScope scope, CancellationToken cancellationToken) => scope.Kind switch
    {
        ReportScope.City => ValueTask.FromResult(caller.SeesCity),
        ReportScope.County => scopes.SeesAsync(caller, ScopeKind.County, scope.Id, cancellationToken),
        ReportScope.Pasture => scopes.SeesAsync(caller, ScopeKind.Pasture, scope.Id, cancellationToken),
        ReportScope.Plant => scopes.SeesAsync(caller, ScopeKind.Plant, scope.Id, cancellationToken),
        _ => ValueTask.FromResult(false),
    };
}

/// <summary>
/// Audit and KPI reports of the caller's organisation: rendered now (the dashboard's download), scheduled, run again
/// for a past period, and their runs. A KPI report is for those who may read KPIs (<see cref="AccessPolicy"/>'s
/// GetKpis row); what a report covers is decided as the Audit and KPI services decide it.
/// </summary>
public sealed class ReportGrpcService(ReportRunner runner, ReportStore store, TimeProvider clock) : ReportService.ReportServiceBase
{
    private const int MaxEmailAddresses = 20;

    public override async Task<ReportFile> RenderReport(RenderReportRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var scope = Guard(() => ReportScopes.Parse(request.Kind, request.Scope?.Kind ?? "", request.Scope?.Id ?? ""));
        RequireKpiReader(caller, request.Kind);
        var from = Date(request.FromDate, "from_date");
        var to = Date(request.ToDate, "to_date");
        var format = request.Format == ReportFormat.Csv ? ReportFileFormat.Csv : ReportFileFormat.Xlsx;
        var file = await GuardAsync(() => runner.RenderAsync(caller, request.Kind, scope, from, to, format,
            request.Table.Length == 0 ? null : request.Table, context.CancellationToken));
        return new ReportFile
        {
            FileName = file.FileName,
            ContentType = file.ContentType,
            Content = ByteString.CopyFrom(file.Content),
            Sha256 = file.Sha256,
            Rows = file.Rows,
        };
    }

    public override async Task<Protos.V1.ReportSchedule> CreateReportSchedule(CreateReportScheduleRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var scope = Guard(() => ReportScopes.Parse(request.Kind, request.Scope?.Kind ?? "", request.Scope?.Id ?? ""));
        RequireKpiReader(caller, request.Kind);
        var cadence = request.Cadence switch
        {
            ReportCadence.Daily => ReportCadences.Daily,
            ReportCadence.Weekly => ReportCadences.Weekly,
            _ => throw Invalid("cadence must be daily or weekly."),
        };
        if (request.LocalHour is < 0 or > 23)
        {
            throw Invalid("local_hour must be 0-23 (China Standard Time).");
        }

        if (cadence == ReportCadences.Weekly ? request.Weekday is < 1 or > 7 : request.Weekday != 0)
        {
            throw Invalid(cadence == ReportCadences.Weekly ? "weekday must be 1 (Monday) to 7 (Sunday) for a weekly schedule." : "weekday is for weekly schedules only.");
        }

        var formats = request.Formats.Count == 0 ? ["xlsx", "csv"] : request.Formats.Select(f => f switch
        {
            ReportFormat.Xlsx => "xlsx",
            ReportFormat.Csv => "csv",
            _ => throw Invalid("formats must be xlsx or csv."),
        }).Distinct(StringComparer.Ordinal).ToArray();
        if (request.WebhookUrl.Length > 0)
        {
            if (!NotificationTargets.IsWebhookUrl(request.WebhookUrl))
            {
                throw Invalid($"webhook_url '{TextLimits.Shorten(request.WebhookUrl, 128)}' is not an https:// URL (http:// only on a loopback address).");
            }

            if (request.WebhookSecret.Length is < 16 or > 256)
            {
                throw Invalid("webhook_secret must be 16-256 characters: the webhook's HMAC key.");
            }
        }
        else if (request.WebhookSecret.Length > 0)
        {
            throw Invalid("webhook_secret is for a webhook_url.");
        }

        if (request.EmailTo.Count > MaxEmailAddresses)
        {
            throw Invalid($"email_to holds at most {MaxEmailAddresses} addresses.");
        }

        foreach (var address in request.EmailTo)
        {
            if (!NotificationTargets.IsEmailAddress(address))
            {
                throw Invalid($"email_to '{TextLimits.Shorten(address, 128)}' is not an e-mail address.");
            }
        }

        // The scope is checked now as the caller sees it, and again at every run as the organisation then holds it.
        await GuardAsync(() => runner.CheckScopeAsync(caller, request.Kind, scope, context.CancellationToken));
        var created = await store.CreateScheduleAsync(new ReportScheduleRow
        {
            OrganisationId = caller.OrganisationId,
            Kind = request.Kind,
            Scope = scope?.ToString() ?? "",
            Cadence = cadence,
            LocalHour = request.LocalHour,
            Weekday = cadence == ReportCadences.Weekly ? request.Weekday : null,
            Formats = formats,
            WebhookUrl = request.WebhookUrl.Length > 0 ? request.WebhookUrl : null,
            WebhookSecret = request.WebhookUrl.Length > 0 ? request.WebhookSecret : null,
            EmailTo = [.. request.EmailTo.Distinct(StringComparer.OrdinalIgnoreCase)],
            CreatedBy = caller.AccountId,
            CreatedAt = clock.GetUtcNow().UtcDateTime,
        }, context.CancellationToken);
        return ToMessage(created);
    }

    public override async Task<ReportSchedules> ListReportSchedules(ListReportSchedulesRequest request, ServerCallContext context)
    {
        var reply = new ReportSchedules();
        reply.Schedules.AddRange((await store.ListSchedulesAsync(context.Caller().OrganisationId, context.CancellationToken)).Select(ToMessage));
        return reply;
    }

    public override async Task<DeleteReportScheduleReply> DeleteReportSchedule(DeleteReportScheduleRequest request, ServerCallContext context)
    {
        if (request.Id <= 0)
        {
            throw Invalid("id is required.");
        }

        var deleted = await store.DeleteScheduleAsync(request.Id, context.Caller().OrganisationId, clock.GetUtcNow(), context.CancellationToken);
        return deleted ? new DeleteReportScheduleReply { Deleted = true } : throw NoSchedule(request.Id);
    }

    public override async Task<Protos.V1.ReportRun> RunReport(RunReportRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var schedule = await OwnScheduleAsync(caller, request.ScheduleId, context.CancellationToken);
        var from = Date(request.FromDate, "from_date");
        var to = Date(request.ToDate, "to_date");
        var run = await GuardAsync(() => runner.RunNowAsync(schedule, from, to, caller.AccountId, context.CancellationToken));
        return ToMessage(run);
    }

    public override async Task<ReportRuns> ListReportRuns(ListReportRunsRequest request, ServerCallContext context)
    {
        var caller = context.Caller();
        var limit = request.Limit switch
        {
            0 => 50,
            < 0 or > 500 => throw Invalid("limit must be 1-500 (0 for 50)."),
            _ => request.Limit,
        };
        long? scheduleId = null;
        if (request.ScheduleId != 0)
        {
            scheduleId = (await OwnScheduleAsync(caller, request.ScheduleId, context.CancellationToken)).Id;
        }

        var reply = new ReportRuns();
        reply.Runs.AddRange((await store.ListRunsAsync(caller.OrganisationId, scheduleId, limit, context.CancellationToken)).Select(ToMessage));
        return reply;
    }

    private async Task<ReportScheduleRow> OwnScheduleAsync(Caller caller, long id, CancellationToken cancellationToken)
    {
        if (id <= 0)
        {
            throw Invalid("schedule_id is required.");
        }

        var schedule = await store.FindScheduleAsync(id, cancellationToken);
        return schedule is not null && schedule.OrganisationId == caller.OrganisationId ? schedule : throw NoSchedule(id);
    }

    /// <summary>KPIs are read by those the KPI service admits; a KPI report says no more than GetKpis would.</summary>
    private static void RequireKpiReader(Caller caller, string kind)
    {
        if (kind == ReportKinds.Kpi && !AccessPolicy.Rules["/hohhot.telemetry.v1.KpiService/GetKpis"].Allows(caller))
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, "kind: KPI reports are for regulators and the platform operator (as GetKpis)."));
        }
    }

    private static T Guard<T>(Func<T> action)
    {
        try
        {
            return action();
        }
        catch (ReportRequestException refused)
        {
            throw ToRpc(refused);
        }
    }

    private static async Task<T> GuardAsync<T>(Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (ReportRequestException refused)
        {
            throw ToRpc(refused);
        }
    }

    private static async Task GuardAsync(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (ReportRequestException refused)
        {
            throw ToRpc(refused);
        }
    }

    private static RpcException ToRpc(ReportRequestException refused) => new(new Status(refused.Refusal switch
    {
        ReportRefusal.NotFound => StatusCode.NotFound,
        ReportRefusal.PermissionDenied => StatusCode.PermissionDenied,
        ReportRefusal.FailedPrecondition => StatusCode.FailedPrecondition,
        _ => StatusCode.InvalidArgument,
    }, refused.Message));

    private static Protos.V1.ReportSchedule ToMessage(ReportScheduleRow row)
    {
        var scope = row.Scope.Length == 0 ? new ReportScope("", "") : ReportScope.Parse(row.Scope);
        var message = new Protos.V1.ReportSchedule
        {
            Id = row.Id,
            OrganisationId = row.OrganisationId,
            Kind = row.Kind,
            Scope = new ProtoScope { Kind = scope.Kind, Id = scope.Id },
            Cadence = row.Cadence == ReportCadences.Weekly ? ReportCadence.Weekly : ReportCadence.Daily,
            LocalHour = row.LocalHour,
            Weekday = row.Weekday ?? 0,
            WebhookUrl = row.WebhookUrl ?? "",
            CreatedAt = Instant(row.CreatedAt),
            CreatedBy = row.CreatedBy,
        };
        message.Formats.AddRange(row.Formats.Select(f => f == "csv" ? ReportFormat.Csv : ReportFormat.Xlsx));
        message.EmailTo.AddRange(row.EmailTo);
        return message;
    }

    private static Protos.V1.ReportRun ToMessage(ReportRunRow row)
    {
        var message = new Protos.V1.ReportRun
        {
            Id = row.Id,
            ScheduleId = row.ScheduleId ?? 0,
            OrganisationId = row.OrganisationId,
            Kind = row.Kind,
            FromDate = row.PeriodFrom.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            ToDate = row.PeriodTo.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            Status = row.Status,
            Attempts = row.Attempts,
            Digest = row.Digest,
            StartedAt = Instant(row.StartedAt),
            FinishedAt = row.FinishedAt is { } finished ? Instant(finished) : "",
            Trigger = row.Trigger,
            Error = row.Error,
        };
        message.Files.AddRange(row.FileList.Select(f => new ReportRunFile { FileName = f.FileName, ContentType = f.ContentType, Bytes = f.Bytes, Sha256 = f.Sha256, Path = f.Path }));
        message.Deliveries.AddRange(row.DeliveryList.Select(d => new ReportDelivery { Channel = d.Channel, Target = d.Target, Delivered = d.Delivered, Attempts = d.Attempts, Error = d.Error }));
        return message;
    }

    private static string Instant(DateTime utc) =>
        new DateTimeOffset(DateTime.SpecifyKind(utc, DateTimeKind.Utc)).ToOffset(ChinaTime.Offset).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);

    private static DateOnly Date(string text, string field) =>
        text.Length == 0 ? throw Invalid($"{field} is required (YYYY-MM-DD, China Standard Time).")
        : DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? date
            : throw Invalid($"{field} must be YYYY-MM-DD (China Standard Time).");

    private static RpcException NoSchedule(long id) => new(new Status(StatusCode.NotFound, $"No report schedule {id.ToString(CultureInfo.InvariantCulture)} of your organisation."));

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));
}
