using Dapper;
using Npgsql;

namespace HohhotCluster.Telemetry.Storage;

/// <summary>A gateway's MQTT login as stored (migration 0006): the hash of its secret, never the secret.</summary>
public sealed class GatewayCredential
{
    /// <summary>The MQTT username.</summary>
    public string GatewayId { get; set; } = "";
    /// <summary><c>pasture</c>, <c>plant</c> or <c>lab</c>.</summary>
    public string OwnerKind { get; set; } = "";
    public string OwnerId { get; set; } = "";
    public string SecretHash { get; set; } = "";
    public DateTimeOffset SecretChangedAt { get; set; }
    public DateTimeOffset CreatedAt { get; set; }
    /// <summary>The account that issued it.</summary>
    public string CreatedBy { get; set; } = "";
    /// <summary>Set while the credential is disabled: the login is refused.</summary>
    public DateTimeOffset? DisabledAt { get; set; }
    public string? DisabledReason { get; set; }
}

/// <summary>A gateway id that is taken already: a credential is issued once, and its secret changed by rotation.</summary>
public sealed class GatewayCredentialConflictException(string gatewayId)
    : Exception($"Gateway id '{gatewayId}' is taken; a credential is issued once and its secret changed by rotating it.")
{
    public string GatewayId { get; } = gatewayId;
}

/// <summary>A gateway credential for a pasture or plant that is not registered.</summary>
public sealed class UnknownOwnerException(string ownerKind, string ownerId) : Exception($"No {ownerKind} '{ownerId}' is registered.")
{
    public string OwnerKind { get; } = ownerKind;
    public string OwnerId { get; } = ownerId;
}

/// <summary>
/// Gateway credentials in PostgreSQL, beside the devices they publish for: issued once for a registered pasture or
/// plant, rotated, disabled and enabled, never moved to another owner. Times come from <see cref="TimeProvider"/>.
/// </summary>
public sealed class GatewayCredentialStore(NpgsqlDataSource dataSource, TimeProvider clock)
{
    private const string Columns =
        """
        gateway_id as GatewayId, owner_kind as OwnerKind, owner_id as OwnerId, secret_hash as SecretHash,
        secret_changed_at as SecretChangedAt, created_at as CreatedAt, created_by as CreatedBy,
        disabled_at as DisabledAt, disabled_reason as DisabledReason
        """;

    /// <summary>The credential of this gateway id (enabled or not), or null.</summary>
    public Task<GatewayCredential?> FindAsync(string gatewayId, CancellationToken ct) =>
        PostgresRetry.RunAsync(async token =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(token);
            return await connection.QuerySingleOrDefaultAsync<GatewayCredential>(new CommandDefinition(
                $"select {Columns} from gateway_credential where gateway_id = @gatewayId", new { gatewayId }, cancellationToken: token));
        }, ct);

    /// <summary>
    /// Issues a credential for a registered pasture or plant (checked in the inserting statement). A gateway id that
    /// exists already, for whichever owner, is a <see cref="GatewayCredentialConflictException"/>; an owner that is not
    /// registered an <see cref="UnknownOwnerException"/>.
    /// </summary>
    public async Task<GatewayCredential> CreateAsync(string gatewayId, string ownerKind, string ownerId, string secretHash, string createdBy, CancellationToken ct)
    {
        if (ownerKind is not ("pasture" or "plant" or "lab"))
        {
            throw new ArgumentOutOfRangeException(nameof(ownerKind), ownerKind, "A gateway belongs to a pasture, a plant or a regulator's lab.");
        }

        var now = clock.GetUtcNow();
        await using var connection = await PostgresRetry.OpenAsync(dataSource, ct);
        var created = await connection.QuerySingleOrDefaultAsync<GatewayCredential>(new CommandDefinition(
            $"""
            insert into gateway_credential (gateway_id, owner_kind, owner_id, secret_hash, secret_changed_at, created_at, created_by)
            select @gatewayId, @ownerKind, @ownerId, @secretHash, @now, @now, @createdBy
            where case @ownerKind when 'pasture' then exists (select 1 from pasture where id = @ownerId)
                                  when 'lab' then exists (select 1 from lab where id = @ownerId)
                                  else exists (select 1 from plant where id = @ownerId) end
            on conflict (gateway_id) do nothing
            returning {Columns}
            """, new { gatewayId, ownerKind, ownerId, secretHash, now, createdBy }, cancellationToken: ct));
        if (created is not null)
        {
            return created;
        }

        var taken = await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "select exists (select 1 from gateway_credential where gateway_id = @gatewayId)", new { gatewayId }, cancellationToken: ct));
        throw taken ? new GatewayCredentialConflictException(gatewayId) : new UnknownOwnerException(ownerKind, ownerId);
    }

    /// <summary>Replaces the secret's hash (a disabled credential stays disabled); null when there is no such gateway.</summary>
    public Task<GatewayCredential?> RotateAsync(string gatewayId, string secretHash, CancellationToken ct) =>
        UpdateAsync("secret_hash = @secretHash, secret_changed_at = @now", gatewayId, new { gatewayId, secretHash, now = clock.GetUtcNow() }, ct);

    /// <summary>Refuses the gateway's login from now on; disabling a disabled one keeps its first time and reason. Null when there is no such gateway.</summary>
    public Task<GatewayCredential?> DisableAsync(string gatewayId, string reason, CancellationToken ct) =>
        UpdateAsync("disabled_at = coalesce(disabled_at, @now), disabled_reason = coalesce(disabled_reason, @reason)",
            gatewayId, new { gatewayId, reason, now = clock.GetUtcNow() }, ct);

    /// <summary>Lets a disabled gateway log in again (its secret unchanged); null when there is no such gateway.</summary>
    public Task<GatewayCredential?> EnableAsync(string gatewayId, CancellationToken ct) =>
        UpdateAsync("disabled_at = null, disabled_reason = null", gatewayId, new { gatewayId }, ct);

    private async Task<GatewayCredential?> UpdateAsync(string assignments, string gatewayId, object parameters, CancellationToken ct)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, ct);
        return await connection.QuerySingleOrDefaultAsync<GatewayCredential>(new CommandDefinition(
            $"update gateway_credential set {assignments} where gateway_id = @gatewayId returning {Columns}", parameters, cancellationToken: ct));
    }

    /// <summary>
    /// One page in gateway id order (the ones after <paramref name="afterGatewayId"/>), disabled ones included:
    /// of owners of <paramref name="ownerKind"/> (null: pastures and plants) whose id is one of
    /// <paramref name="ownerIds"/> (null: every owner).
    /// </summary>
    public Task<IReadOnlyList<GatewayCredential>> ListAsync(string? ownerKind, IReadOnlyCollection<string>? ownerIds, string? afterGatewayId, int size, CancellationToken ct) =>
        PostgresRetry.RunAsync<IReadOnlyList<GatewayCredential>>(async token =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(token);
            var rows = await connection.QueryAsync<GatewayCredential>(new CommandDefinition(
                $"""
                select {Columns} from gateway_credential
                where (@ownerKind::text is null or owner_kind = @ownerKind)
                  and (@allOwners or owner_id = any(@ownerIds))
                  and gateway_id > @after
                order by gateway_id limit @size
                """, new
                {
                    ownerKind,
                    allOwners = ownerIds is null,
                    ownerIds = ownerIds?.ToArray() ?? [],
                    after = afterGatewayId ?? "",
                    size,
                }, cancellationToken: token));
            return rows.AsList();
        }, ct);
}
