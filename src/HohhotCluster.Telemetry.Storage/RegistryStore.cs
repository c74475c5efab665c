using Dapper;
using Npgsql;

namespace HohhotCluster.Telemetry.Storage;

/// <summary>Counties, pastures, herds, plants and devices in PostgreSQL.</summary>
public sealed class RegistryStore(NpgsqlDataSource dataSource)
{
    /// <summary>Inserts or updates every record of the batch in one transaction; returns nothing until it is committed.</summary>
    public async Task UpsertAsync(RegistryBatch batch, CancellationToken cancellationToken = default)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
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
            on conflict (id) do update set pasture_id = excluded.pasture_id, name = excluded.name
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
            insert into device (id, owner_kind, owner_id, kind, herd_id) values (@Id, @OwnerKind, @OwnerId, @Kind, @HerdId)
            on conflict (id) do update set owner_kind = excluded.owner_kind, owner_id = excluded.owner_id,
                kind = excluded.kind, herd_id = excluded.herd_id
            """, batch.Devices, transaction, cancellationToken: cancellationToken));
        await transaction.CommitAsync(cancellationToken);
    }

    private const string DeviceContextSql =
        """
        select d.id as DeviceId, d.owner_kind as OwnerKind, d.owner_id as OwnerId, d.herd_id as HerdId,
               coalesce(p.county_id, pl.county_id) as CountyId
        from device d
        left join pasture p on d.owner_kind = 'pasture' and p.id = d.owner_id
        left join plant pl on d.owner_kind = 'plant' and pl.id = d.owner_id
        where coalesce(p.county_id, pl.county_id) is not null
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

    public Task<bool> CountyExistsAsync(string countyId, CancellationToken cancellationToken = default) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return await connection.ExecuteScalarAsync<bool>(new CommandDefinition(
                "select exists (select 1 from county where id = @countyId)", new { countyId }, cancellationToken: ct));
        }, cancellationToken);
}
