using Dapper;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;
using Npgsql;

namespace HohhotCluster.Telemetry.Traceability;

/// <summary>Milk moving from one lot into another, by natural keys; <see cref="Authoritative"/> edges overwrite kg.</summary>
public sealed record EdgeWrite(LotRef Parent, LotRef Child, double Kg, DateTimeOffset? At, double? TemperatureC, bool Authoritative = true);

/// <summary>Lots and edges written together: one record's worth of chain.</summary>
public sealed class ChainWrite
{
    public List<LotNode> Lots { get; } = [];
    public List<EdgeWrite> Edges { get; } = [];
    public List<(LotRef Lot, string EventId, string? BizStep, string? Disposition, DateTimeOffset At)> LotEvents { get; } = [];

    /// <summary>An EPCIS import's organisation: every lot this write creates is <c>epcis</c> and owned by it.</summary>
    public string? ImportedBy { get; init; }

    /// <summary>The imported event this write comes from: its new edges and lots remember it, so a retraction removes them.</summary>
    public string? EpcisEventId { get; set; }
}

/// <summary>
/// Writes the chain. Lots are upserted by (kind, lot id): the owner fields (pasture, plant) keep their first value, so a
/// later message cannot move a lot to another owner; measurements take the newest non-null value, so a placeholder
/// made by an early edge is completed when its own record arrives. Every write is idempotent.
/// </summary>
public sealed class ChainStore(NpgsqlDataSource dataSource)
{
    private const string UpsertLotSql =
        """
        insert into trace_lot as t (kind, lot_id, pasture_id, plant_id, unit_id, kg, temperature_c, at, accepted, product, details, source, owner_organisation, epcis_event_id)
        values (@Kind, @LotId, @PastureId, @PlantId, @UnitId, @Kg, @TemperatureC, @At, @Accepted, @Product, @Details::jsonb, @Source, @Owner, @EventId)
        on conflict (kind, lot_id) do update set
            pasture_id = coalesce(t.pasture_id, excluded.pasture_id),
            plant_id = coalesce(t.plant_id, excluded.plant_id),
            unit_id = coalesce(excluded.unit_id, t.unit_id),
            kg = coalesce(excluded.kg, t.kg),
            temperature_c = coalesce(excluded.temperature_c, t.temperature_c),
            at = coalesce(excluded.at, t.at),
            accepted = coalesce(excluded.accepted, t.accepted),
            product = coalesce(excluded.product, t.product),
            details = t.details || excluded.details
        returning id
        """;

    public NpgsqlDataSource DataSource => dataSource;

    /// <summary>Applies writes in one transaction; returns false for each write whose key was already applied.</summary>
    public Task<ApplyOutcome[]> ApplyKeyedAsync(IReadOnlyList<(ReadingKey Key, ChainWrite Write)> writes, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            var outcomes = new ApplyOutcome[writes.Count];
            var changed = new HashSet<long>();
            for (var i = 0; i < writes.Count; i++)
            {
                var (key, write) = writes[i];
                var inserted = await connection.ExecuteAsync(new CommandDefinition(
                    "insert into trace_applied (device_id, boot_epoch, seq) values (@DeviceId, @BootEpoch, @Sequence) on conflict do nothing",
                    new { key.DeviceId, key.BootEpoch, key.Sequence }, transaction, cancellationToken: ct));
                if (inserted == 0)
                {
                    outcomes[i] = ApplyOutcome.Duplicate;
                    continue;
                }

                await WriteAsync(connection, transaction, write, ct, changed);
                outcomes[i] = ApplyOutcome.Applied;
            }

            await ChainLineage.RefreshAsync(connection, transaction, changed, ct);
            await transaction.CommitAsync(ct);
            return outcomes;
        }, cancellationToken);

    /// <summary>Applies writes that are idempotent by their natural keys (the telemetry observer's).</summary>
    public Task ApplyAsync(IReadOnlyList<ChainWrite> writes, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            var changed = new HashSet<long>();
            foreach (var write in writes)
            {
                await WriteAsync(connection, transaction, write, ct, changed);
            }

            await ChainLineage.RefreshAsync(connection, transaction, changed, ct);
            await transaction.CommitAsync(ct);
            return 0;
        }, cancellationToken);

    /// <summary>
    /// Writes one record's lots and edges. The product lots below its edges have their lineage recomputed here, or,
    /// when <paramref name="lineageChanges"/> is given, the edges' children are added to it and the caller refreshes
    /// the lineage once for all its writes before it commits (<see cref="ChainLineage.RefreshAsync"/>).
    /// </summary>
    public static async Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, ChainWrite write, CancellationToken ct, HashSet<long>? lineageChanges = null)
    {
        var keys = new Dictionary<LotRef, long>();
        foreach (var lot in write.Lots)
        {
            keys[lot.Ref] = await UpsertLotAsync(connection, transaction, lot, write, ct);
        }

        var touchedLoads = new HashSet<long>();
        var children = new HashSet<long>();
        foreach (var edge in write.Edges)
        {
            var parent = keys.TryGetValue(edge.Parent, out var p) ? p : keys[edge.Parent] = await UpsertLotAsync(connection, transaction, Placeholder(edge.Parent, write), write, ct);
            var child = keys.TryGetValue(edge.Child, out var c) ? c : keys[edge.Child] = await UpsertLotAsync(connection, transaction, Placeholder(edge.Child, write), write, ct);
            await connection.ExecuteAsync(new CommandDefinition(
                edge.Authoritative
                    ? """
                      insert into trace_edge (parent, child, kg, at, temperature_c, epcis_event_id) values (@parent, @child, @Kg, @at, @TemperatureC, @eventId)
                      on conflict (child, parent) do update set kg = excluded.kg,
                          at = coalesce(excluded.at, trace_edge.at), temperature_c = coalesce(excluded.temperature_c, trace_edge.temperature_c)
                      """
                    : "insert into trace_edge (parent, child, kg, at, temperature_c, epcis_event_id) values (@parent, @child, @Kg, @at, @TemperatureC, @eventId) on conflict do nothing",
                new { parent, child, edge.Kg, at = edge.At?.ToUniversalTime(), edge.TemperatureC, eventId = write.EpcisEventId }, transaction, cancellationToken: ct));
            children.Add(child);
            if (edge.Child.Kind is LotKinds.TankerLoad or LotKinds.SiloBatch)
            {
                touchedLoads.Add(child);
            }
        }

        // The product lots below the new or changed edges have their lineage recomputed in this transaction.
        if (lineageChanges is null)
        {
            await ChainLineage.RefreshAsync(connection, transaction, children, ct);
        }
        else
        {
            lineageChanges.UnionWith(children);
        }

        // A tanker load and a silo batch hold what was pumped into them: the sum of their in-edges, dated by the first.
        foreach (var load in touchedLoads)
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "update trace_lot set kg = (select sum(kg) from trace_edge where child = @load), at = coalesce(at, (select min(at) from trace_edge where child = @load)) where id = @load",
                new { load }, transaction, cancellationToken: ct));
        }

        foreach (var (lot, eventId, bizStep, disposition, at) in write.LotEvents)
        {
            var key = keys.TryGetValue(lot, out var k) ? k : keys[lot] = await UpsertLotAsync(connection, transaction, Placeholder(lot, write), write, ct);
            await connection.ExecuteAsync(new CommandDefinition(
                "insert into trace_lot_event (lot, event_id, biz_step, disposition, at) values (@key, @eventId, @bizStep, @disposition, @at) on conflict do nothing",
                new { key, eventId, bizStep, disposition, at = at.ToUniversalTime() }, transaction, cancellationToken: ct));
        }
    }

    private static LotNode Placeholder(LotRef lot, ChainWrite write) =>
        new() { Kind = lot.Kind, LotId = lot.Id, Source = write.ImportedBy is null ? "telemetry" : "epcis" };

    private static Task<long> UpsertLotAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, LotNode lot, ChainWrite write, CancellationToken ct) =>
        connection.ExecuteScalarAsync<long>(new CommandDefinition(UpsertLotSql, new
        {
            lot.Kind,
            lot.LotId,
            lot.PastureId,
            lot.PlantId,
            lot.UnitId,
            lot.Kg,
            lot.TemperatureC,
            At = lot.At?.ToUniversalTime(),
            lot.Accepted,
            lot.Product,
            lot.Details,
            // A lot an import creates is epcis, whatever the event's mapping said (the write knows it is an import).
            Source = write.ImportedBy is null ? lot.Source : "epcis",
            Owner = write.ImportedBy,
            EventId = write.EpcisEventId,
        }, transaction, cancellationToken: ct));

    /// <summary>
    /// Loads a chain of new lots and their edges in bulk (a benchmark's year, a backfill): binary COPY of the lots,
    /// the edges by natural keys through a temporary table, tanker loads and silo batches summed from their in-edges
    /// as <see cref="WriteAsync"/> does, the lineage rebuilt set-wise, then ANALYZE. Every lot must be new (a natural
    /// key already held fails the load: it is not an upsert), and every edge must name lots of this load or already held.
    /// Returns the lots, edges and lineage rows written.
    /// </summary>
    public async Task<(long Lots, long Edges, long Lineage)> BulkLoadAsync(IEnumerable<LotNode> lots, IEnumerable<EdgeWrite> edges, CancellationToken ct)
    {
        await using var connection = await dataSource.OpenConnectionAsync(ct);
        long lotCount = 0, edgeCount = 0;
        await using (var copy = await connection.BeginBinaryImportAsync(
            "copy trace_lot (kind, lot_id, pasture_id, plant_id, unit_id, kg, temperature_c, at, accepted, product, details, source) from stdin (format binary)", ct))
        {
            foreach (var lot in lots)
            {
                await copy.StartRowAsync(ct);
                await copy.WriteAsync(lot.Kind, NpgsqlTypes.NpgsqlDbType.Text, ct);
                await copy.WriteAsync(lot.LotId, NpgsqlTypes.NpgsqlDbType.Text, ct);
                await WriteOrNullAsync(copy, lot.PastureId, NpgsqlTypes.NpgsqlDbType.Text, ct);
                await WriteOrNullAsync(copy, lot.PlantId, NpgsqlTypes.NpgsqlDbType.Text, ct);
                await WriteOrNullAsync(copy, lot.UnitId, NpgsqlTypes.NpgsqlDbType.Text, ct);
                await WriteOrNullAsync(copy, lot.Kg, NpgsqlTypes.NpgsqlDbType.Double, ct);
                await WriteOrNullAsync(copy, lot.TemperatureC, NpgsqlTypes.NpgsqlDbType.Double, ct);
                await WriteOrNullAsync(copy, lot.At?.ToUniversalTime(), NpgsqlTypes.NpgsqlDbType.TimestampTz, ct);
                await WriteOrNullAsync(copy, lot.Accepted, NpgsqlTypes.NpgsqlDbType.Boolean, ct);
                await WriteOrNullAsync(copy, lot.Product, NpgsqlTypes.NpgsqlDbType.Text, ct);
                await copy.WriteAsync(lot.Details, NpgsqlTypes.NpgsqlDbType.Jsonb, ct);
                await copy.WriteAsync(lot.Source, NpgsqlTypes.NpgsqlDbType.Text, ct);
                lotCount++;
            }

            await copy.CompleteAsync(ct);
        }

        await using (var create = new NpgsqlCommand(
            "create temporary table bulk_edge (parent_kind text, parent_id text, child_kind text, child_id text, kg float8, at timestamptz, temperature_c float8) on commit drop",
            connection))
        {
            await using var transaction = await connection.BeginTransactionAsync(ct);
            create.Transaction = transaction;
            await create.ExecuteNonQueryAsync(ct);
            await using (var copy = await connection.BeginBinaryImportAsync(
                "copy bulk_edge (parent_kind, parent_id, child_kind, child_id, kg, at, temperature_c) from stdin (format binary)", ct))
            {
                foreach (var edge in edges)
                {
                    await copy.StartRowAsync(ct);
                    await copy.WriteAsync(edge.Parent.Kind, NpgsqlTypes.NpgsqlDbType.Text, ct);
                    await copy.WriteAsync(edge.Parent.Id, NpgsqlTypes.NpgsqlDbType.Text, ct);
                    await copy.WriteAsync(edge.Child.Kind, NpgsqlTypes.NpgsqlDbType.Text, ct);
                    await copy.WriteAsync(edge.Child.Id, NpgsqlTypes.NpgsqlDbType.Text, ct);
                    await copy.WriteAsync(edge.Kg, NpgsqlTypes.NpgsqlDbType.Double, ct);
                    await WriteOrNullAsync(copy, edge.At?.ToUniversalTime(), NpgsqlTypes.NpgsqlDbType.TimestampTz, ct);
                    await WriteOrNullAsync(copy, edge.TemperatureC, NpgsqlTypes.NpgsqlDbType.Double, ct);
                    edgeCount++;
                }

                await copy.CompleteAsync(ct);
            }

            await using var insert = new NpgsqlCommand(
                """
                analyze trace_lot;
                insert into trace_edge (parent, child, kg, at, temperature_c)
                select p.id, c.id, b.kg, b.at, b.temperature_c
                from bulk_edge b
                join trace_lot p on p.kind = b.parent_kind and p.lot_id = b.parent_id
                join trace_lot c on c.kind = b.child_kind and c.lot_id = b.child_id;
                update trace_lot t set kg = s.kg, at = coalesce(t.at, s.at)
                from (select e.child, sum(e.kg) as kg, min(e.at) as at from trace_edge e group by e.child) s
                where s.child = t.id and t.kind in ('tanker_load', 'silo_batch') and t.kg is distinct from s.kg;
                """, connection, transaction);
            insert.CommandTimeout = 0;
            await insert.ExecuteNonQueryAsync(ct);
            await transaction.CommitAsync(ct);
        }

        await using (var analyze = new NpgsqlCommand("analyze trace_lot; analyze trace_edge", connection))
        {
            analyze.CommandTimeout = 0;
            await analyze.ExecuteNonQueryAsync(ct);
        }

        var lineage = await ChainLineage.RebuildAllAsync(connection, 2_000, ct);
        return (lotCount, edgeCount, lineage);
    }

    private static Task WriteOrNullAsync<T>(NpgsqlBinaryImporter copy, T? value, NpgsqlTypes.NpgsqlDbType type, CancellationToken ct) =>
        value is null ? copy.WriteNullAsync(ct) : copy.WriteAsync(value, type, ct);

    /// <summary>The owner of an existing lot (pasture for bulk-tank lots, plant for plant-side lots), or null.</summary>
    public Task<LotOwner?> FindOwnerAsync(LotRef lot, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return await connection.QuerySingleOrDefaultAsync<LotOwner>(new CommandDefinition(
                "select pasture_id as PastureId, plant_id as PlantId from trace_lot where kind = @Kind and lot_id = @Id",
                new { lot.Kind, lot.Id }, cancellationToken: ct));
        }, cancellationToken);
}

public sealed record LotOwner(string? PastureId, string? PlantId);
