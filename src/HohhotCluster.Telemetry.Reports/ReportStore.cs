using System.Text.Json;
using Dapper;
using HohhotCluster.Telemetry.Storage;
using Npgsql;

namespace HohhotCluster.Telemetry.Reports;

public static class ReportCadences
{
    public const string Daily = "daily";
    public const string Weekly = "weekly";
}

public sealed record ReportScheduleRow
{
    public long Id { get; init; }
    public string OrganisationId { get; init; } = "";
    public string Kind { get; init; } = "";

    /// <summary>Empty: everything the organisation holds when the report runs; else <see cref="ReportScope.ToString"/>'s form.</summary>
    public string Scope { get; init; } = "";
    public string Cadence { get; init; } = "";
    public int LocalHour { get; init; }

    /// <summary>Weekly: 1 Monday .. 7 Sunday.</summary>
    public int? Weekday { get; init; }
    public string[] Formats { get; init; } = [];
    public string? WebhookUrl { get; init; }
    public string? WebhookSecret { get; init; }
    public string[] EmailTo { get; init; } = [];
    public string CreatedBy { get; init; } = "";
    public DateTime CreatedAt { get; init; }
}

public sealed record ReportFileRecord(string FileName, string ContentType, long Bytes, string Sha256, string Path);

public sealed record ReportDeliveryRecord(string Channel, string Target, bool Delivered, int Attempts, string Error);

public sealed record ReportRunRow
{
    public long Id { get; init; }
    public long? ScheduleId { get; init; }
    public string OrganisationId { get; init; } = "";
    public string Kind { get; init; } = "";
    public string[] Scopes { get; init; } = [];
    public DateTime PeriodFrom { get; init; }
    public DateTime PeriodTo { get; init; }
    public string Trigger { get; init; } = "";
    public string Status { get; init; } = "";
    public int Attempts { get; init; }
    public string Digest { get; init; } = "";
    public string Files { get; init; } = "[]";
    public string Deliveries { get; init; } = "[]";
    public string Error { get; init; } = "";
    public string RequestedBy { get; init; } = "";
    public DateTime StartedAt { get; init; }
    public DateTime? FinishedAt { get; init; }

    public IReadOnlyList<ReportFileRecord> FileList => JsonSerializer.Deserialize<List<ReportFileRecord>>(Files, ReportStore.Json) ?? [];

    public IReadOnlyList<ReportDeliveryRecord> DeliveryList => JsonSerializer.Deserialize<List<ReportDeliveryRecord>>(Deliveries, ReportStore.Json) ?? [];
}

/// <summary>The report schedules and their runs (migration 0500), the one owner of those tables.</summary>
public sealed class ReportStore(NpgsqlDataSource dataSource)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private const string ScheduleColumns =
        """
        id as Id, organisation_id as OrganisationId, kind as Kind, scope as Scope, cadence as Cadence, local_hour as LocalHour,
        weekday as Weekday, formats as Formats, webhook_url as WebhookUrl, webhook_secret as WebhookSecret, email_to as EmailTo,
        created_by as CreatedBy, created_at as CreatedAt
        """;

    private const string RunColumns =
        """
        id as Id, schedule_id as ScheduleId, organisation_id as OrganisationId, kind as Kind, scopes as Scopes, period_from as PeriodFrom,
        period_to as PeriodTo, trigger as Trigger, status as Status, attempts as Attempts, digest as Digest, files::text as Files,
        deliveries::text as Deliveries, error as Error, requested_by as RequestedBy, started_at as StartedAt, finished_at as FinishedAt
        """;

    public async Task<ReportScheduleRow> CreateScheduleAsync(ReportScheduleRow schedule, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        return await connection.QuerySingleAsync<ReportScheduleRow>(new CommandDefinition(
            $"""
            insert into report_schedule (organisation_id, kind, scope, cadence, local_hour, weekday, formats, webhook_url, webhook_secret,
                email_to, created_by, created_at)
            values (@OrganisationId, @Kind, @Scope, @Cadence, @LocalHour, @Weekday, @Formats, @WebhookUrl, @WebhookSecret,
                @EmailTo, @CreatedBy, @CreatedAt)
            returning {ScheduleColumns}
            """, schedule, cancellationToken: cancellationToken));
    }

    /// <summary>The live schedules, of one organisation or (null) all.</summary>
    public async Task<IReadOnlyList<ReportScheduleRow>> ListSchedulesAsync(string? organisationId, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        return (await connection.QueryAsync<ReportScheduleRow>(new CommandDefinition(
            $"select {ScheduleColumns} from report_schedule where deleted_at is null and (@organisationId::text is null or organisation_id = @organisationId) order by id",
            new { organisationId }, cancellationToken: cancellationToken))).AsList();
    }

    public async Task<ReportScheduleRow?> FindScheduleAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<ReportScheduleRow>(new CommandDefinition(
            $"select {ScheduleColumns} from report_schedule where id = @id and deleted_at is null", new { id }, cancellationToken: cancellationToken));
    }

    public async Task<bool> DeleteScheduleAsync(long id, string organisationId, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            "update report_schedule set deleted_at = @at where id = @id and organisation_id = @organisationId and deleted_at is null",
            new { id, organisationId, at = at.UtcDateTime }, cancellationToken: cancellationToken)) == 1;
    }

    /// <summary>
    /// Claims a schedule's period: true when this caller is to run it (the first claim, or one left running by a host
    /// that stopped before <paramref name="staleBefore"/>), false when it ran or is running elsewhere.
    /// </summary>
    public async Task<long?> ClaimScheduledAsync(ReportScheduleRow schedule, DateOnly from, DateOnly to, DateTimeOffset now, DateTimeOffset staleBefore,
        CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<long?>(new CommandDefinition(
            """
            insert into report_run (schedule_id, organisation_id, kind, period_from, period_to, trigger, status, requested_by, started_at)
            values (@Id, @OrganisationId, @Kind, @from, @to, 'schedule', 'running', 'schedule', @now)
            on conflict (schedule_id, period_from) where trigger = 'schedule' do update
                set attempts = report_run.attempts + 1, started_at = excluded.started_at
                where report_run.status = 'running' and report_run.started_at < @staleBefore
            returning id
            """,
            new { schedule.Id, schedule.OrganisationId, schedule.Kind, from = from.ToDateTime(TimeOnly.MinValue), to = to.ToDateTime(TimeOnly.MinValue),
                now = now.UtcDateTime, staleBefore = staleBefore.UtcDateTime }, cancellationToken: cancellationToken));
    }

    public async Task<long> StartManualAsync(ReportScheduleRow schedule, DateOnly from, DateOnly to, string requestedBy, DateTimeOffset now,
        CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
            """
            insert into report_run (schedule_id, organisation_id, kind, period_from, period_to, trigger, status, requested_by, started_at)
            values (@Id, @OrganisationId, @Kind, @from, @to, 'manual', 'running', @requestedBy, @now)
            returning id
            """,
            new { schedule.Id, schedule.OrganisationId, schedule.Kind, from = from.ToDateTime(TimeOnly.MinValue), to = to.ToDateTime(TimeOnly.MinValue),
                requestedBy, now = now.UtcDateTime }, cancellationToken: cancellationToken));
    }

    public async Task FinishAsync(long runId, IReadOnlyList<string> scopes, string status, string digest, IReadOnlyList<ReportFileRecord> files,
        IReadOnlyList<ReportDeliveryRecord> deliveries, string error, DateTimeOffset at, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            update report_run set scopes = @scopes, status = @status, digest = @digest, files = @files::jsonb, deliveries = @deliveries::jsonb,
                error = @error, finished_at = @at
            where id = @runId
            """,
            new { runId, scopes = scopes.ToArray(), status, digest, files = JsonSerializer.Serialize(files, Json),
                deliveries = JsonSerializer.Serialize(deliveries, Json), error, at = at.UtcDateTime }, cancellationToken: cancellationToken));
    }

    /// <summary>The first day of the newest scheduled period claimed for the schedule (null: none yet).</summary>
    public async Task<DateOnly?> LastScheduledPeriodAsync(long scheduleId, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        var last = await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(
            "select max(period_from) from report_run where schedule_id = @scheduleId and trigger = 'schedule'", new { scheduleId },
            cancellationToken: cancellationToken));
        return last is { } day ? DateOnly.FromDateTime(day) : null;
    }

    public async Task<ReportRunRow?> FindRunAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<ReportRunRow>(new CommandDefinition(
            $"select {RunColumns} from report_run where id = @id", new { id }, cancellationToken: cancellationToken));
    }

    /// <summary>Newest first: an organisation's runs, of one schedule or (null) all.</summary>
    public async Task<IReadOnlyList<ReportRunRow>> ListRunsAsync(string organisationId, long? scheduleId, int limit, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        return (await connection.QueryAsync<ReportRunRow>(new CommandDefinition(
            $"""
            select {RunColumns} from report_run
            where organisation_id = @organisationId and (@scheduleId::bigint is null or schedule_id = @scheduleId)
            order by id desc limit @limit
            """, new { organisationId, scheduleId, limit }, cancellationToken: cancellationToken))).AsList();
    }
}
