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
        a.updated_at as UpdatedAt, a.cleared_at as ClearedAt, a.clear_reason as ClearReason, a.readings::text as Readings
        """;

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

    private sealed record EventRow
    {
        public long EventId { get; init; }
        public string Change { get; init; } = "";
        public DateTime At { get; init; }
    }
}
