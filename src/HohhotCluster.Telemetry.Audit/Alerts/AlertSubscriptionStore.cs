using Dapper;
using HohhotCluster.Telemetry.Storage;
using Npgsql;

namespace HohhotCluster.Telemetry.Audit.Alerts;

public static class AlertChannels
{
    public const string Webhook = "webhook";
    public const string Email = "email";
}

public sealed record AlertSubscription
{
    public long Id { get; init; }
    public string OrganisationId { get; init; } = "";
    public string Channel { get; init; } = "";
    public string Target { get; init; } = "";
    public string? Secret { get; init; }
    public string[] Kinds { get; init; } = [];
    public string MinSeverity { get; init; } = "warning";
    public int? EscalateAfterMinutes { get; init; }
    public bool SeesCity { get; init; }
    public string[] CountyIds { get; init; } = [];
    public string[] PastureIds { get; init; } = [];
    public string[] PlantIds { get; init; } = [];
    public string CreatedBy { get; init; } = "";
    public DateTime CreatedAt { get; init; }

    public static int Rank(string severity) => severity switch { "info" => 0, "warning" => 1, "critical" => 2, _ => -1 };

    /// <summary>This subscription wants this alert: its kind, at least its severity, in its organisation's sight.</summary>
    public bool Wants(AlertRow alert) =>
        (Kinds.Length == 0 || Array.IndexOf(Kinds, alert.Kind) >= 0)
        && Rank(alert.Severity) >= Rank(MinSeverity)
        && (SeesCity
            || (alert.CountyId is { } county && Array.IndexOf(CountyIds, county) >= 0)
            || (alert.PastureId is { } pasture && Array.IndexOf(PastureIds, pasture) >= 0)
            || (alert.PlantId is { } plant && Array.IndexOf(PlantIds, plant) >= 0));
}

/// <summary>The alert subscriptions and the notifications claimed for them (migration 0232).</summary>
public sealed class AlertSubscriptionStore(NpgsqlDataSource dataSource)
{
    private const string Columns =
        """
        id as Id, organisation_id as OrganisationId, channel as Channel, target as Target, secret as Secret, kinds as Kinds,
        min_severity as MinSeverity, escalate_after_minutes as EscalateAfterMinutes, sees_city as SeesCity, county_ids as CountyIds,
        pasture_ids as PastureIds, plant_ids as PlantIds, created_by as CreatedBy, created_at as CreatedAt
        """;

    public async Task<AlertSubscription> CreateAsync(AlertSubscription subscription, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        return await connection.QuerySingleAsync<AlertSubscription>(new CommandDefinition(
            $"""
            insert into alert_subscription (organisation_id, channel, target, secret, kinds, min_severity, escalate_after_minutes,
                sees_city, county_ids, pasture_ids, plant_ids, created_by, created_at)
            values (@OrganisationId, @Channel, @Target, @Secret, @Kinds, @MinSeverity, @EscalateAfterMinutes,
                @SeesCity, @CountyIds, @PastureIds, @PlantIds, @CreatedBy, @CreatedAt)
            returning {Columns}
            """, subscription, cancellationToken: cancellationToken));
    }

    /// <summary>An organisation's subscriptions, or every one (null).</summary>
    public Task<IReadOnlyList<AlertSubscription>> ListAsync(string? organisationId, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync<IReadOnlyList<AlertSubscription>>(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return (await connection.QueryAsync<AlertSubscription>(new CommandDefinition(
                $"select {Columns} from alert_subscription where @organisationId::text is null or organisation_id = @organisationId order by id",
                new { organisationId }, cancellationToken: ct))).AsList();
        }, cancellationToken);

    /// <summary>Deletes an organisation's subscription (any, for null); false when there is none.</summary>
    public async Task<bool> DeleteAsync(long id, string? organisationId, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            "delete from alert_subscription where id = @id and (@organisationId::text is null or organisation_id = @organisationId)",
            new { id, organisationId }, cancellationToken: cancellationToken)) == 1;
    }

    /// <summary>Claims the notification of (subscription, alert, trigger): true for the one host that may send it.</summary>
    public async Task<bool> ClaimAsync(long subscriptionId, long alertId, string trigger, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            """
            insert into alert_notification (subscription_id, alert_id, trigger, status, claimed_at) values (@subscriptionId, @alertId, @trigger, 'sending', @now)
            on conflict (subscription_id, alert_id, trigger) do nothing
            """, new { subscriptionId, alertId, trigger, now = now.UtcDateTime }, cancellationToken: cancellationToken)) == 1;
    }

    public async Task RecordOutcomeAsync(long subscriptionId, long alertId, string trigger, int attempts, string? error, DateTimeOffset now, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            update alert_notification set status = case when @error::text is null then 'sent' else 'failed' end, attempts = @attempts,
                last_error = coalesce(@error, ''), sent_at = case when @error::text is null then @now end
            where subscription_id = @subscriptionId and alert_id = @alertId and trigger = @trigger
            """, new { subscriptionId, alertId, trigger, attempts, error, now = now.UtcDateTime }, cancellationToken: cancellationToken));
    }

    /// <summary>Open alerts raised before <paramref name="raisedBefore"/> that nobody has acknowledged.</summary>
    public Task<IReadOnlyList<AlertRow>> UnacknowledgedAsync(DateTimeOffset raisedBefore, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync<IReadOnlyList<AlertRow>>(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return (await connection.QueryAsync<AlertRow>(new CommandDefinition(
                """
                select id as Id, alert_key as AlertKey, kind as Kind, severity as Severity, subject as Subject, pasture_id as PastureId,
                       plant_id as PlantId, county_id as CountyId, message as Message, since as Since, raised_at as RaisedAt,
                       updated_at as UpdatedAt, cleared_at as ClearedAt, clear_reason as ClearReason, readings::text as Readings
                from alert where cleared_at is null and acknowledged_at is null and raised_at < @raisedBefore
                order by id limit 1000
                """, new { raisedBefore = raisedBefore.UtcDateTime }, cancellationToken: ct))).AsList();
        }, cancellationToken);
}
