using Dapper;
using Npgsql;

namespace HohhotCluster.Telemetry.Storage;

/// <summary>Counties, pastures, herds, plants and devices in PostgreSQL.</summary>
public sealed class RegistryStore(NpgsqlDataSource dataSource)
{
    /// <summary>
    /// Inserts or updates every record of the batch in one transaction; returns nothing until it is committed. A herd
    /// registered to another pasture or a device registered to another owner is refused (<see cref="RegistryConflictException"/>):
    /// an upsert never moves one (<see cref="MoveDeviceAsync"/> does, as an explicit act).
    /// </summary>
    public async Task UpsertAsync(RegistryBatch batch, CancellationToken cancellationToken = default)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var movedHerd = (await connection.QueryAsync<(string Id, string PastureId)>(new CommandDefinition(
            """
            select h.id, h.pasture_id from herd h join unnest(@ids, @pastures) as n(id, pasture_id) on n.id = h.id
            where h.pasture_id <> n.pasture_id limit 1 for update of h
            """, new { ids = batch.Herds.Select(h => h.Id).ToArray(), pastures = batch.Herds.Select(h => h.PastureId).ToArray() },
            transaction, cancellationToken: cancellationToken))).ToList();
        if (movedHerd is [var herd, ..])
        {
            throw new RegistryConflictException($"Herd '{herd.Id}' is registered to pasture '{herd.PastureId}'; a herd is not moved by an upsert.");
        }

        var movedDevice = (await connection.QueryAsync<(string Id, string OwnerKind, string OwnerId)>(new CommandDefinition(
            """
            select d.id, d.owner_kind, d.owner_id from device d join unnest(@ids, @kinds, @owners) as n(id, owner_kind, owner_id) on n.id = d.id
            where d.owner_kind <> n.owner_kind or d.owner_id <> n.owner_id limit 1 for update of d
            """, new
            {
                ids = batch.Devices.Select(d => d.Id).ToArray(),
                kinds = batch.Devices.Select(d => d.OwnerKind).ToArray(),
                owners = batch.Devices.Select(d => d.OwnerId).ToArray(),
            }, transaction, cancellationToken: cancellationToken))).ToList();
        if (movedDevice is [var device, ..])
        {
            throw new RegistryConflictException(
                $"Device '{device.Id}' is registered to {device.OwnerKind} '{device.OwnerId}'; moving a device is an operator action (MoveDevice), never an upsert.");
        }

        await connection.ExecuteAsync(new CommandDefinition(
            """
            insert into county (id, name, name_zh, city) values (@Id, @Name, @NameZh, @City)
            on conflict (id) do update set name = excluded.name, name_zh = excluded.name_zh, city = excluded.city
            """, batch.Counties, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            """
            insert into pasture (id, county_id, name, species, capacity_head, milkings_per_day)
            values (@Id, @CountyId, @Name, @Species, @CapacityHead, @MilkingsPerDay)
            on conflict (id) do update set county_id = excluded.county_id, name = excluded.name, species = excluded.species,
                capacity_head = excluded.capacity_head, milkings_per_day = excluded.milkings_per_day
            """, batch.Pastures, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            """
            insert into herd (id, pasture_id, name) values (@Id, @PastureId, @Name)
            on conflict (id) do update set name = excluded.name
            """, batch.Herds, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            """
            insert into plant (id, county_id, name, daily_capacity_t, species)
            values (@Id, @CountyId, @Name, @DailyCapacityT, @Species)
            on conflict (id) do update set county_id = excluded.county_id, name = excluded.name,
                daily_capacity_t = excluded.daily_capacity_t, species = excluded.species
            """, batch.Plants, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            """
            insert into lab (id, county_id, name, regulator_org) values (@Id, @CountyId, @Name, @RegulatorOrg)
            on conflict (id) do update set county_id = excluded.county_id, name = excluded.name, regulator_org = excluded.regulator_org
            """, batch.Labs, transaction, cancellationToken: cancellationToken));
        await connection.ExecuteAsync(new CommandDefinition(
            """
            insert into device (id, owner_kind, owner_id, kind, herd_id) values (@Id, @OwnerKind, @OwnerId, @Kind, @HerdId)
            on conflict (id) do update set kind = excluded.kind, herd_id = excluded.herd_id
            """, batch.Devices, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
    }

    private const string DeviceContextSql =
        """
        select d.id as DeviceId, d.owner_kind as OwnerKind, d.owner_id as OwnerId, d.herd_id as HerdId,
               coalesce(p.county_id, pl.county_id, l.county_id) as CountyId
        from device d
        left join pasture p on d.owner_kind = 'pasture' and p.id = d.owner_id
        left join plant pl on d.owner_kind = 'plant' and pl.id = d.owner_id
        left join lab l on d.owner_kind = 'lab' and l.id = d.owner_id
        where coalesce(p.county_id, pl.county_id, l.county_id) is not null and d.deactivated_at is null
        """;

    public Task<DeviceContext?> FindDeviceAsync(string deviceId, CancellationToken cancellationToken = default) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return await connection.QuerySingleOrDefaultAsync<DeviceContext>(new CommandDefinition(
                DeviceContextSql + " and d.id = @deviceId", new { deviceId }, cancellationToken: ct));
        }, cancellationToken);

    /// <summary>Every registered device with its owner's county, and every herd: the hot path's snapshot of the registry.</summary>
    public Task<(IReadOnlyList<DeviceContext> Devices, IReadOnlyList<HerdRecord> Herds)> ReadDirectoryAsync(CancellationToken cancellationToken = default) =>
        PostgresRetry.RunAsync<(IReadOnlyList<DeviceContext>, IReadOnlyList<HerdRecord>)>(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var devices = (await connection.QueryAsync<DeviceContext>(new CommandDefinition(DeviceContextSql, cancellationToken: ct))).AsList();
            var herds = (await connection.QueryAsync<HerdRecord>(new CommandDefinition(
                "select id as Id, pasture_id as PastureId, name as Name from herd", cancellationToken: ct))).AsList();
            return (devices, herds);
        }, cancellationToken);

    public Task<HerdRecord?> FindHerdAsync(string herdId, CancellationToken cancellationToken = default) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return await connection.QuerySingleOrDefaultAsync<HerdRecord>(new CommandDefinition(
                "select id as Id, pasture_id as PastureId, name as Name from herd where id = @herdId",
                new { herdId }, cancellationToken: ct));
        }, cancellationToken);

    public Task<PastureRecord?> FindPastureAsync(string pastureId, CancellationToken cancellationToken = default) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return await connection.QuerySingleOrDefaultAsync<PastureRecord>(new CommandDefinition(
                """
                select id as Id, county_id as CountyId, name as Name, species as Species,
                       capacity_head as CapacityHead, milkings_per_day as MilkingsPerDay
                from pasture where id = @pastureId
                """, new { pastureId }, cancellationToken: ct));
        }, cancellationToken);

    public Task<PlantRecord?> FindPlantAsync(string plantId, CancellationToken cancellationToken = default) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return await connection.QuerySingleOrDefaultAsync<PlantRecord>(new CommandDefinition(
                """
                select id as Id, county_id as CountyId, name as Name, daily_capacity_t as DailyCapacityT, species as Species
                from plant where id = @plantId
                """, new { plantId }, cancellationToken: ct));
        }, cancellationToken);

    public Task<LabRecord?> FindLabAsync(string labId, CancellationToken cancellationToken = default) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return await connection.QuerySingleOrDefaultAsync<LabRecord>(new CommandDefinition(
                "select id as Id, county_id as CountyId, name as Name, regulator_org as RegulatorOrg from lab where id = @labId",
                new { labId }, cancellationToken: ct));
        }, cancellationToken);

    /// <summary>Labs in id order; <see cref="RegistryPage.ParentId"/> is a county; a regulator sees the labs it holds.</summary>
    public Task<IReadOnlyList<LabRecord>> ListLabsAsync(RegistryPage page, RegistryVisibility visibility, string? regulatorOrg, CancellationToken cancellationToken) =>
        ListAsync<LabRecord>(
            """
            select id as Id, county_id as CountyId, name as Name, regulator_org as RegulatorOrg
            from lab c where (@parent::text is null or county_id = @parent)
              and (@all or county_id = any(@counties) or regulator_org = @regulator)
            """, page, visibility, cancellationToken, regulatorOrg);

    public Task<bool> CountyExistsAsync(string countyId, CancellationToken cancellationToken = default) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "select exists (select 1 from county where id = @countyId)", new { countyId }, cancellationToken: ct));
        }, cancellationToken);

    /// <summary>Takes a device out of service; returns it, or null when there is no such device.</summary>
    public async Task<DeviceRecord?> DeactivateDeviceAsync(string deviceId, string reason, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<DeviceRecord>(new CommandDefinition(
            $"""
            update device set deactivated_at = coalesce(deactivated_at, now()), deactivation_reason = coalesce(deactivation_reason, @reason)
            where id = @deviceId returning {DeviceColumns}
            """, new { deviceId, reason }, cancellationToken: cancellationToken));
    }

    /// <summary>Moves a device to another owner (an explicit operator action); returns it, or null when there is no such device.</summary>
    public async Task<DeviceRecord?> MoveDeviceAsync(string deviceId, string ownerKind, string ownerId, string? herdId, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<DeviceRecord>(new CommandDefinition(
            $"""
            update device set owner_kind = @ownerKind, owner_id = @ownerId, herd_id = @herdId
            where id = @deviceId returning {DeviceColumns}
            """, new { deviceId, ownerKind, ownerId, herdId }, cancellationToken: cancellationToken));
    }

    public async Task<DeviceRecord?> GetDeviceAsync(string deviceId, CancellationToken cancellationToken)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        return await connection.QuerySingleOrDefaultAsync<DeviceRecord>(new CommandDefinition(
            $"select {DeviceColumns} from device where id = @deviceId", new { deviceId }, cancellationToken: cancellationToken));
    }

    private const string DeviceColumns =
        "id as Id, owner_kind as OwnerKind, owner_id as OwnerId, kind as Kind, herd_id as HerdId, deactivated_at as DeactivatedAt";

    public Task<IReadOnlyList<CountyRecord>> ListCountiesAsync(RegistryPage page, CancellationToken cancellationToken) =>
        ListAsync<CountyRecord>("select id as Id, name as Name, name_zh as NameZh, city as City from county c where true", page, null, cancellationToken);

    public Task<IReadOnlyList<PastureRecord>> ListPasturesAsync(RegistryPage page, RegistryVisibility visibility, CancellationToken cancellationToken) =>
        ListAsync<PastureRecord>(
            """
            select id as Id, county_id as CountyId, name as Name, species as Species, capacity_head as CapacityHead, milkings_per_day as MilkingsPerDay
            from pasture c where (@parent::text is null or county_id = @parent)
              and (@all or county_id = any(@counties) or id = any(@pastures))
            """, page, visibility, cancellationToken);

    public Task<IReadOnlyList<HerdRecord>> ListHerdsAsync(RegistryPage page, RegistryVisibility visibility, CancellationToken cancellationToken) =>
        ListAsync<HerdRecord>(
            """
            select c.id as Id, c.pasture_id as PastureId, c.name as Name
            from herd c join pasture p on p.id = c.pasture_id where (@parent::text is null or c.pasture_id = @parent)
              and (@all or p.county_id = any(@counties) or p.id = any(@pastures))
            """, page, visibility, cancellationToken);

    public Task<IReadOnlyList<PlantRecord>> ListPlantsAsync(RegistryPage page, RegistryVisibility visibility, CancellationToken cancellationToken) =>
        ListAsync<PlantRecord>(
            """
            select id as Id, county_id as CountyId, name as Name, daily_capacity_t as DailyCapacityT, species as Species
            from plant c where (@parent::text is null or county_id = @parent)
              and (@all or county_id = any(@counties) or id = any(@plants))
            """, page, visibility, cancellationToken);

    public Task<IReadOnlyList<DeviceRecord>> ListDevicesAsync(RegistryPage page, RegistryVisibility visibility, CancellationToken cancellationToken) =>
        ListAsync<DeviceRecord>(
            """
            select c.id as Id, c.owner_kind as OwnerKind, c.owner_id as OwnerId, c.kind as Kind, c.herd_id as HerdId, c.deactivated_at as DeactivatedAt
            from device c
            left join pasture p on c.owner_kind = 'pasture' and p.id = c.owner_id
            left join plant pl on c.owner_kind = 'plant' and pl.id = c.owner_id
            left join lab l on c.owner_kind = 'lab' and l.id = c.owner_id
            where (@parent::text is null or c.owner_id = @parent) and (@inactive or c.deactivated_at is null)
              and (@all or coalesce(p.county_id, pl.county_id, l.county_id) = any(@counties)
                   or (c.owner_kind = 'pasture' and c.owner_id = any(@pastures)) or (c.owner_kind = 'plant' and c.owner_id = any(@plants)))
            """, page, visibility, cancellationToken);

    /// <summary>One page in id order (keyset: the entries after <see cref="RegistryPage.AfterId"/>), filtered to what the caller may see.</summary>
    private async Task<IReadOnlyList<T>> ListAsync<T>(string sql, RegistryPage page, RegistryVisibility? visibility, CancellationToken cancellationToken, string? regulator = null)
    {
        visibility ??= RegistryVisibility.Everything;
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        var rows = await connection.QueryAsync<T>(new CommandDefinition(
            sql + " and c.id > @after and (@id::text is null or c.id = @id) order by c.id limit @limit",
            new
            {
                parent = page.ParentId,
                all = visibility.All,
                counties = visibility.CountyIds.ToArray(),
                pastures = visibility.PastureIds.ToArray(),
                plants = visibility.PlantIds.ToArray(),
                inactive = page.IncludeInactive || page.Id is not null,
                after = page.AfterId,
                id = page.Id,
                limit = page.Size,
                regulator,
            }, cancellationToken: cancellationToken));
        return rows.AsList();
    }
}
