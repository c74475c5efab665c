using Dapper;
using HohhotCluster.Telemetry.Storage;
using Npgsql;

namespace HohhotCluster.Telemetry.Identity;

/// <summary>A change the identity store refuses, with a reason the API passes on.</summary>
public sealed class IdentityConflictException(string message) : Exception(message);

/// <summary>Organisations, what they hold, and accounts in PostgreSQL (migration 0300). The one owner of those tables.</summary>
public sealed class IdentityStore(NpgsqlDataSource dataSource)
{
    public async Task CreateOrganisationAsync(Organisation organisation, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "insert into organisation (id, kind, name, city_wide) values (@Id, @Kind, @Name, @CityWide)",
                new { organisation.Id, Kind = IdentityNames.Of(organisation.Kind), organisation.Name, organisation.CityWide },
                cancellationToken: cancellationToken));
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new IdentityConflictException($"An organisation '{organisation.Id}' exists already.");
        }
    }

    /// <summary>
    /// Gives the organisation these pastures, plants or counties. A pasture or plant another organisation holds is
    /// refused unless <paramref name="transfer"/> (an explicit operator action) says to move it.
    /// </summary>
    public async Task AssignHoldingsAsync(string organisationId, IReadOnlyList<string> pastureIds, IReadOnlyList<string> plantIds,
        IReadOnlyList<string> countyIds, bool transfer, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var kind = await connection.ExecuteScalarAsync<string?>(new CommandDefinition(
            "select kind from organisation where id = @organisationId for update", new { organisationId }, transaction, cancellationToken: cancellationToken))
            ?? throw new IdentityConflictException($"No organisation '{organisationId}'.");
        var orgKind = IdentityNames.OrganisationKindOf(kind);
        if (pastureIds.Count > 0 && orgKind != OrganisationKind.PastureOperator)
        {
            throw new IdentityConflictException("Only a pasture operator holds pastures.");
        }

        if (plantIds.Count > 0 && orgKind != OrganisationKind.Processor)
        {
            throw new IdentityConflictException("Only a processor holds plants.");
        }

        if (countyIds.Count > 0 && orgKind != OrganisationKind.Regulator)
        {
            throw new IdentityConflictException("Only a regulator holds counties.");
        }

        await HoldAsync(connection, transaction, "organisation_pasture", "pasture_id", "pasture", organisationId, pastureIds, transfer, cancellationToken);
        await HoldAsync(connection, transaction, "organisation_plant", "plant_id", "plant", organisationId, plantIds, transfer, cancellationToken);
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "insert into organisation_county (organisation_id, county_id) select @organisationId, unnest(@countyIds) on conflict do nothing",
                new { organisationId, countyIds = countyIds.ToArray() }, transaction, cancellationToken: cancellationToken));
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            throw new IdentityConflictException("A county named is not registered.");
        }

        await transaction.CommitAsync(cancellationToken);
    }

    private static async Task HoldAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string table, string column, string what,
        string organisationId, IReadOnlyList<string> ids, bool transfer, CancellationToken cancellationToken)
    {
        if (ids.Count == 0)
        {
            return;
        }

        var held = (await connection.QueryAsync<(string Id, string Organisation)>(new CommandDefinition(
            $"select {column}, organisation_id from {table} where {column} = any(@ids) for update",
            new { ids = ids.ToArray() }, transaction, cancellationToken: cancellationToken))).ToList();
        var foreign = held.Where(h => h.Organisation != organisationId).ToList();
        if (foreign.Count > 0 && !transfer)
        {
            throw new IdentityConflictException(
                $"The {what} '{foreign[0].Id}' belongs to organisation '{foreign[0].Organisation}'; moving it is an explicit transfer.");
        }

        try
        {
            await connection.ExecuteAsync(new CommandDefinition(
                $"""
                insert into {table} ({column}, organisation_id) select unnest(@ids), @organisationId
                on conflict ({column}) do update set organisation_id = excluded.organisation_id
                """, new { ids = ids.ToArray(), organisationId }, transaction, cancellationToken: cancellationToken));
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            throw new IdentityConflictException($"A {what} named is not registered.");
        }
    }

    public async Task<IReadOnlyList<Organisation>> ListOrganisationsAsync(CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        var rows = await connection.QueryAsync<OrganisationRow>(new CommandDefinition(OrganisationSql + " order by o.id", cancellationToken: cancellationToken));
        return rows.Select(r => r.ToOrganisation()).ToList();
    }

    public async Task<Organisation?> GetOrganisationAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<OrganisationRow>(new CommandDefinition(
            OrganisationSql + " where o.id = @id", new { id }, cancellationToken: cancellationToken));
        return row?.ToOrganisation();
    }

    private const string OrganisationSql =
        """
        select o.id as Id, o.kind as Kind, o.name as Name, o.city_wide as CityWide, o.created_at as CreatedAt, o.deactivated_at as DeactivatedAt,
               array(select pasture_id from organisation_pasture where organisation_id = o.id order by 1) as PastureIds,
               array(select plant_id from organisation_plant where organisation_id = o.id order by 1) as PlantIds,
               array(select county_id from organisation_county where organisation_id = o.id order by 1) as CountyIds
        from organisation o
        """;

    private sealed class OrganisationRow
    {
        public string Id { get; init; } = "";
        public string Kind { get; init; } = "";
        public string Name { get; init; } = "";
        public bool CityWide { get; init; }
        public DateTime CreatedAt { get; init; }
        public DateTime? DeactivatedAt { get; init; }
        public string[] PastureIds { get; init; } = [];
        public string[] PlantIds { get; init; } = [];
        public string[] CountyIds { get; init; } = [];

        public Organisation ToOrganisation() => new()
        {
            Id = Id,
            Kind = IdentityNames.OrganisationKindOf(Kind),
            Name = Name,
            CityWide = CityWide,
            CreatedAt = Utc(CreatedAt),
            DeactivatedAt = DeactivatedAt is { } d ? Utc(d) : null,
            PastureIds = PastureIds,
            PlantIds = PlantIds,
            CountyIds = CountyIds,
        };
    }

    public async Task CreateAccountAsync(Account account, string secretHash, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                insert into account (id, organisation_id, kind, role, display_name, secret_hash)
                values (@Id, @OrganisationId, @Kind, @Role, @DisplayName, @secretHash)
                """,
                new { account.Id, account.OrganisationId, Kind = IdentityNames.Of(account.Kind), Role = IdentityNames.Of(account.Role), account.DisplayName, secretHash },
                cancellationToken: cancellationToken));
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.UniqueViolation)
        {
            throw new IdentityConflictException($"An account '{account.Id}' exists already.");
        }
        catch (PostgresException exception) when (exception.SqlState == PostgresErrorCodes.ForeignKeyViolation)
        {
            throw new IdentityConflictException($"No organisation '{account.OrganisationId}'.");
        }
    }

    public async Task<IReadOnlyList<Account>> ListAccountsAsync(string? organisationId, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        var rows = await connection.QueryAsync<AccountRow>(new CommandDefinition(
            AccountSql + " where @organisationId::text is null or organisation_id = @organisationId order by id",
            new { organisationId }, cancellationToken: cancellationToken));
        return rows.Select(r => r.ToAccount()).ToList();
    }

    public async Task<(Account Account, string SecretHash)?> FindAccountAsync(string id, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        var row = await connection.QuerySingleOrDefaultAsync<AccountRow>(new CommandDefinition(
            AccountSql + " where id = @id", new { id }, cancellationToken: cancellationToken));
        return row is null ? null : (row.ToAccount(), row.SecretHash);
    }

    /// <summary>Replaces an account's secret; tokens issued before now stop being honoured. Returns when it changed (null: no such account).</summary>
    public async Task<DateTimeOffset?> SetSecretAsync(string id, string secretHash, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        var changed = await connection.ExecuteScalarAsync<DateTime?>(new CommandDefinition(
            "update account set secret_hash = @secretHash, secret_changed_at = clock_timestamp() where id = @id returning secret_changed_at",
            new { id, secretHash }, cancellationToken: cancellationToken));
        return changed is { } at ? Utc(at) : null;
    }

    public async Task<bool> UpdateAccountAsync(string id, AccountRole? role, bool? disabled, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        return await connection.ExecuteAsync(new CommandDefinition(
            """
            update account set role = coalesce(@role, role),
                disabled_at = case when @disabled is null then disabled_at when @disabled then coalesce(disabled_at, now()) else null end
            where id = @id
            """, new { id, role = role is { } r ? IdentityNames.Of(r) : null, disabled }, cancellationToken: cancellationToken)) == 1;
    }

    public async Task<bool> AnyOrganisationOfKindAsync(OrganisationKind kind, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        return await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
            "select exists (select 1 from organisation where kind = @kind)", new { kind = IdentityNames.Of(kind) }, cancellationToken: cancellationToken));
    }

    private const string AccountSql =
        """
        select id as Id, organisation_id as OrganisationId, kind as Kind, role as Role, display_name as DisplayName,
               secret_hash as SecretHash, secret_changed_at as SecretChangedAt, created_at as CreatedAt, disabled_at as DisabledAt
        from account
        """;

    private sealed class AccountRow
    {
        public string Id { get; init; } = "";
        public string OrganisationId { get; init; } = "";
        public string Kind { get; init; } = "";
        public string Role { get; init; } = "";
        public string DisplayName { get; init; } = "";
        public string SecretHash { get; init; } = "";
        public DateTime SecretChangedAt { get; init; }
        public DateTime CreatedAt { get; init; }
        public DateTime? DisabledAt { get; init; }

        public Account ToAccount() => new()
        {
            Id = Id,
            OrganisationId = OrganisationId,
            Kind = IdentityNames.AccountKindOf(Kind),
            Role = IdentityNames.RoleOf(Role),
            DisplayName = DisplayName,
            SecretChangedAt = Utc(SecretChangedAt),
            CreatedAt = Utc(CreatedAt),
            DisabledAt = DisabledAt is { } d ? Utc(d) : null,
        };
    }

    private static DateTimeOffset Utc(DateTime time) => new(DateTime.SpecifyKind(time, DateTimeKind.Utc));
}
