using System.Text.Json;
using Dapper;
using HohhotCluster.Telemetry.Storage;
using Npgsql;

namespace HohhotCluster.Telemetry.Audit.Alerts;

public static class AlertKinds
{
    public const string QualityFailure = "quality_failure";
    public const string BulkTankTemperature = "bulk_tank_temperature";
    public const string TankerTemperature = "tanker_temperature";

    /// <summary>A tanker load longer above the road limit in transit than allowed (tanker_log readings).</summary>
    public const string TankerTransitTemperature = "tanker_transit_temperature";

    /// <summary>A tanker load's time from its first pickup to its intake outside the configured band.</summary>
    public const string TankerRouteTime = "tanker_route_time";
    public const string MastitisSuspicion = "mastitis_suspicion";
    public const string DeviceSilent = "device_silent";
    public const string SequenceGap = "sequence_gap";
    public const string ManureUtilisation = "manure_utilisation";
    public const string FeedLoadingDeviation = "feed_loading_deviation";
    public const string FeedRefusals = "feed_refusals";
    public const string FeedRationMismatch = "feed_ration_mismatch";
    public const string FeedStockLow = "feed_stock_low";

    /// <summary>Withdrawal milk or colostrum that reached a bulk tank (issue 17, <see cref="UnfitMilkAlerts"/>).</summary>
    public const string UnfitMilkInTank = "unfit_milk_in_tank";
}

/// <summary>A reading behind an alert: what was measured, when, by which message, against which limit.</summary>
[GenerateSerializer, Immutable, Alias("hohhot.audit.AlertReading")]
public sealed record AlertReading
{
    [Id(0)] public required DateTimeOffset At { get; init; }
    [Id(1)] public required string Name { get; init; }
    [Id(2)] public double? Value { get; init; }
    [Id(3)] public string? Text { get; init; }
    [Id(4)] public string Unit { get; init; } = "";
    [Id(5)] public string Limit { get; init; } = "";
    [Id(6)] public string Source { get; init; } = "";
}

/// <summary>An alert to raise: its key (kind + subject) makes raising idempotent while it is open.</summary>
[GenerateSerializer, Immutable, Alias("hohhot.audit.AlertDraft")]
public sealed record AlertDraft
{
    [Id(0)] public required string Key { get; init; }
    [Id(1)] public required string Kind { get; init; }
    [Id(2)] public required string Severity { get; init; }
    [Id(3)] public required string Subject { get; init; }
    [Id(4)] public string? PastureId { get; init; }
    [Id(5)] public string? PlantId { get; init; }
    [Id(6)] public string? CountyId { get; init; }
    [Id(7)] public required string Message { get; init; }
    [Id(8)] public required DateTimeOffset Since { get; init; }
    [Id(9)] public IReadOnlyList<AlertReading> Readings { get; init; } = [];
}

public sealed record AlertRow
{
    public long Id { get; init; }
    public string AlertKey { get; init; } = "";
    public string Kind { get; init; } = "";
    public string Severity { get; init; } = "";
    public string Subject { get; init; } = "";
    public string? PastureId { get; init; }
    public string? PlantId { get; init; }
    public string? CountyId { get; init; }
    public string Message { get; init; } = "";
    public DateTime Since { get; init; }
    public DateTime RaisedAt { get; init; }
    public DateTime UpdatedAt { get; init; }
    public DateTime? ClearedAt { get; init; }
    public string? ClearReason { get; init; }
    public string Readings { get; init; } = "[]";
    public DateTime? AcknowledgedAt { get; init; }
    public string? AcknowledgedBy { get; init; }
    public string? Assignee { get; init; }
    public DateTime? ResolvedAt { get; init; }
    public string? ResolvedBy { get; init; }
    public string? ResolutionNote { get; init; }

    public IReadOnlyList<AlertReading> ParseReadings() => JsonSerializer.Deserialize<List<AlertReading>>(Readings, AlertStore.Json) ?? [];
}

public sealed record AlertChange(long EventId, string Change, DateTime At, AlertRow Alert);

public sealed record AlertFilter
{
    public bool OpenOnly { get; init; }
    public string? Kind { get; init; }
    public string? CountyId { get; init; }
    public string? PastureId { get; init; }
    public string? PlantId { get; init; }
    public string? Subject { get; init; }
    public DateTimeOffset? RaisedFrom { get; init; }
    public DateTimeOffset? RaisedTo { get; init; }
    public int Limit { get; init; } = 500;
    /// <summary>The caller's sight: null for everything, else the alerts of these counties, pastures or plants only.</summary>
    public AlertVisibility? Visibility { get; init; }
}

/// <summary>What a caller may see of the alerts: those of its counties, its pastures or its plants.</summary>
public sealed record AlertVisibility(IReadOnlyCollection<string> CountyIds, IReadOnlyCollection<string> PastureIds, IReadOnlyCollection<string> PlantIds)
{
    public bool Sees(AlertRow row) =>
        (row.CountyId is { } county && CountyIds.Contains(county))
        || (row.PastureId is { } pasture && PastureIds.Contains(pasture))
        || (row.PlantId is { } plant && PlantIds.Contains(plant));
}

/// <summary>
/// Alerts in PostgreSQL. At most one open alert per key (a partial unique index), so raising is an idempotent
/// upsert that any silo may repeat; every raise, meaningful update and clear is also an <c>alert_event</c>, the
/// feed that subscribers stream from.
/// </summary>
public sealed class AlertStore(NpgsqlDataSource dataSource, AuditMetrics metrics)
{
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    private const string Columns =
        """
        a.id as Id, a.alert_key as AlertKey, a.kind as Kind, a.severity as Severity, a.subject as Subject, a.pasture_id as PastureId,
        a.plant_id as PlantId, a.county_id as CountyId, a.message as Message, a.since as Since, a.raised_at as RaisedAt,
        a.updated_at as UpdatedAt, a.cleared_at as ClearedAt, a.clear_reason as ClearReason, a.readings::text as Readings,
        a.acknowledged_at as AcknowledgedAt, a.acknowledged_by as AcknowledgedBy, a.assignee as Assignee, a.resolved_at as ResolvedAt,
        a.resolved_by as ResolvedBy, a.resolution_note as ResolutionNote
        """;

    private const string Sight = "(not @Restricted or a.county_id = any(@Counties) or a.pasture_id = any(@Pastures) or a.plant_id = any(@Plants))";

    public async Task RaiseAsync(AlertDraft draft, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        await RaiseAsync(connection, null, draft, now, cancellationToken);
    }

    /// <summary>Raises the alert, or updates the open one with this key when its severity or message changed.</summary>
    public async Task RaiseAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, AlertDraft draft, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var changes = await connection.QueryAsync<string>(new CommandDefinition(
            """
            with a as (
                insert into alert (alert_key, kind, severity, subject, pasture_id, plant_id, county_id, message, since, raised_at, updated_at, readings)
                values (@Key, @Kind, @Severity, @Subject, @PastureId, @PlantId, @CountyId, @Message, @Since, @now, @now, @Readings::jsonb)
                on conflict (alert_key) where cleared_at is null do update
                    set severity = excluded.severity, message = excluded.message, readings = excluded.readings, updated_at = excluded.updated_at
                    where alert.severity is distinct from excluded.severity or alert.message is distinct from excluded.message
                returning id, (xmax = 0) as inserted)
            insert into alert_event (alert_id, change, at)
            select id, case when inserted then 'raised' else 'updated' end, @now from a
            returning change
            """,
            new
            {
                draft.Key, draft.Kind, draft.Severity, draft.Subject, draft.PastureId, draft.PlantId, draft.CountyId, draft.Message,
                Since = draft.Since.UtcDateTime, now = now.UtcDateTime,
                Readings = JsonSerializer.Serialize(draft.Readings, Json),
            }, transaction, cancellationToken: cancellationToken));
        foreach (var change in changes)
        {
            if (change == "raised")
            {
                metrics.RecordAlertRaised(draft.Kind);
            }
        }
    }

    public async Task<int> ClearAsync(IReadOnlyList<string> keys, string reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        return await ClearAsync(connection, null, keys, reason, now, cancellationToken);
    }

    /// <summary>Clears the open alerts with these keys (none open: nothing happens).</summary>
    public async Task<int> ClearAsync(NpgsqlConnection connection, NpgsqlTransaction? transaction, IReadOnlyList<string> keys, string reason, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (keys.Count == 0)
        {
            return 0;
        }

        return await connection.ExecuteAsync(new CommandDefinition(
            """
            with c as (
                update alert set cleared_at = @now, clear_reason = @reason, updated_at = @now
                where alert_key = any(@keys) and cleared_at is null
                returning id)
            insert into alert_event (alert_id, change, at) select id, 'cleared', @now from c
            """, new { keys = keys.ToArray(), reason, now = now.UtcDateTime }, transaction, cancellationToken: cancellationToken));
    }

    /// <summary>Keys of the open alerts of a kind whose key starts with a prefix.</summary>
    public Task<IReadOnlyList<string>> OpenKeysAsync(string kind, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync<IReadOnlyList<string>>(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return (await connection.QueryAsync<string>(new CommandDefinition(
                "select alert_key from alert where kind = @kind and cleared_at is null", new { kind }, cancellationToken: ct))).AsList();
        }, cancellationToken);

    public Task<IReadOnlyList<AlertRow>> QueryAsync(AlertFilter filter, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync<IReadOnlyList<AlertRow>>(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return (await connection.QueryAsync<AlertRow>(new CommandDefinition(
                $"""
                select {Columns} from alert a
                where (not @OpenOnly or a.cleared_at is null)
                  and (@Kind::text is null or a.kind = @Kind)
                  and (@CountyId::text is null or a.county_id = @CountyId)
                  and (@PastureId::text is null or a.pasture_id = @PastureId)
                  and (@PlantId::text is null or a.plant_id = @PlantId)
                  and (@Subject::text is null or a.subject = @Subject)
                  and (@RaisedFrom::timestamptz is null or a.raised_at >= @RaisedFrom)
                  and (@RaisedTo::timestamptz is null or a.raised_at < @RaisedTo)
                  and (not @Restricted or a.county_id = any(@Counties) or a.pasture_id = any(@Pastures) or a.plant_id = any(@Plants))
                order by a.raised_at desc, a.id desc
                limit @Limit
                """,
                new
                {
                    filter.OpenOnly, filter.Kind, filter.CountyId, filter.PastureId, filter.PlantId, filter.Subject,
                    RaisedFrom = filter.RaisedFrom?.UtcDateTime, RaisedTo = filter.RaisedTo?.UtcDateTime, filter.Limit,
                    Restricted = filter.Visibility is not null,
                    Counties = filter.Visibility?.CountyIds.ToArray() ?? [],
                    Pastures = filter.Visibility?.PastureIds.ToArray() ?? [],
                    Plants = filter.Visibility?.PlantIds.ToArray() ?? [],
                }, cancellationToken: ct))).AsList();
        }, cancellationToken);

    /// <summary>Changes after <paramref name="afterEventId"/>, oldest first.</summary>
    public Task<IReadOnlyList<AlertChange>> ReadFeedAsync(long afterEventId, int limit, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync<IReadOnlyList<AlertChange>>(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var rows = await connection.QueryAsync<EventRow, AlertRow, AlertChange>(new CommandDefinition(
                $"""
                select e.id as EventId, e.change as Change, e.at as At, {Columns}
                from alert_event e join alert a on a.id = e.alert_id
                where e.id > @afterEventId order by e.id limit @limit
                """, new { afterEventId, limit }, cancellationToken: ct),
                (e, a) => new AlertChange(e.EventId, e.Change, e.At, a), splitOn: "Id");
            return rows.AsList();
        }, cancellationToken);

    /// <summary>The newest event id (the cursor a subscriber that wants only new changes starts from).</summary>
    public Task<long> LatestEventIdAsync(CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return await connection.ExecuteScalarAsync<long>(new CommandDefinition(
                "select coalesce(max(id), 0) from alert_event", cancellationToken: ct));
        }, cancellationToken);

    /// <summary>
    /// One workflow step on an alert the caller sees, in one transaction with its history row and its feed event:
    /// acknowledged (once), assigned (again to someone else), resolved (once, with a note; an open alert is cleared too).
    /// </summary>
    public async Task<AlertStepResult> ActAsync(AlertStep step, AlertVisibility? visibility, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var sight = SightOf(visibility);
        var current = await connection.QuerySingleOrDefaultAsync<AlertRow>(new CommandDefinition(
            $"select {Columns} from alert a where a.id = @Id and {Sight} for update",
            new { step.Id, sight.Restricted, sight.Counties, sight.Pastures, sight.Plants }, transaction, cancellationToken: cancellationToken));
        if (current is null)
        {
            return new AlertStepResult(AlertStepOutcome.NotFound, null, $"alert {step.Id} not found");
        }

        var refusal = step.Action switch
        {
            _ when current.ResolvedAt is { } resolved => $"alert {step.Id} was resolved by {current.ResolvedBy} at {resolved:O}",
            AlertActions.Acknowledged when current.AcknowledgedAt is { } acknowledged => $"alert {step.Id} was acknowledged by {current.AcknowledgedBy} at {acknowledged:O}",
            AlertActions.Assigned when current.Assignee == step.Assignee => $"alert {step.Id} is already assigned to {step.Assignee}",
            _ => null,
        };
        if (refusal is not null)
        {
            return new AlertStepResult(AlertStepOutcome.AlreadyDone, current, refusal);
        }

        var at = now.UtcDateTime;
        var update = step.Action switch
        {
            AlertActions.Acknowledged => "update alert set acknowledged_at = @at, acknowledged_by = @Account, updated_at = @at where id = @Id",
            AlertActions.Assigned => "update alert set assignee = @Assignee, updated_at = @at where id = @Id",
            AlertActions.Resolved =>
                """
                update alert set resolved_at = @at, resolved_by = @Account, resolution_note = @Note, updated_at = @at,
                    cleared_at = coalesce(cleared_at, @at), clear_reason = coalesce(clear_reason, 'resolved: ' || @Note)
                where id = @Id
                """,
            _ => throw new ArgumentOutOfRangeException(nameof(step), step.Action, "unknown alert action"),
        };
        var values = new { step.Id, step.Account, step.Organisation, step.Assignee, step.Note, step.Action, at };
        await connection.ExecuteAsync(new CommandDefinition(update, values, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            """
            insert into alert_action (alert_id, action, account_id, organisation_id, assignee, note, at)
            values (@Id, @Action, @Account, @Organisation, @Assignee, @Note, @at);
            insert into alert_event (alert_id, change, at) values (@Id, @Action, @at);
            """, values, transaction, cancellationToken: cancellationToken));
        var after = await connection.QuerySingleAsync<AlertRow>(new CommandDefinition(
            $"select {Columns} from alert a where a.id = @Id", new { step.Id }, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
        return new AlertStepResult(AlertStepOutcome.Done, after, "");
    }

    /// <summary>An alert the caller sees and its workflow steps, oldest first; null when it does not see it.</summary>
    public Task<(AlertRow Alert, IReadOnlyList<AlertActionRow> Actions)?> HistoryAsync(long id, AlertVisibility? visibility, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync<(AlertRow, IReadOnlyList<AlertActionRow>)?>(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var sight = SightOf(visibility);
            var alert = await connection.QuerySingleOrDefaultAsync<AlertRow>(new CommandDefinition(
                $"select {Columns} from alert a where a.id = @id and {Sight}",
                new { id, sight.Restricted, sight.Counties, sight.Pastures, sight.Plants }, cancellationToken: ct));
            if (alert is null)
            {
                return null;
            }

            var actions = (await connection.QueryAsync<AlertActionRow>(new CommandDefinition(
                """
                select action as Action, account_id as AccountId, organisation_id as OrganisationId, assignee as Assignee, note as Note, at as At
                from alert_action where alert_id = @id order by id
                """, new { id }, cancellationToken: ct))).AsList();
            return (alert, actions);
        }, cancellationToken);

    private static (bool Restricted, string[] Counties, string[] Pastures, string[] Plants) SightOf(AlertVisibility? visibility) =>
        (visibility is not null, visibility?.CountyIds.ToArray() ?? [], visibility?.PastureIds.ToArray() ?? [], visibility?.PlantIds.ToArray() ?? []);

    private sealed record EventRow
    {
        public long EventId { get; init; }
        public string Change { get; init; } = "";
        public DateTime At { get; init; }
    }
}

public static class AlertActions
{
    public const string Acknowledged = "acknowledged";
    public const string Assigned = "assigned";
    public const string Resolved = "resolved";
}

/// <summary>A workflow step asked for by an account (<see cref="AlertActions"/>).</summary>
public sealed record AlertStep(long Id, string Action, string Account, string Organisation, string? Assignee = null, string Note = "");

public enum AlertStepOutcome
{
    Done,
    NotFound,
    AlreadyDone,
}

public sealed record AlertStepResult(AlertStepOutcome Outcome, AlertRow? Alert, string Detail);

public sealed record AlertActionRow
{
    public string Action { get; init; } = "";
    public string AccountId { get; init; } = "";
    public string OrganisationId { get; init; } = "";
    public string? Assignee { get; init; }
    public string Note { get; init; } = "";
    public DateTime At { get; init; }
}
