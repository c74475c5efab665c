using Dapper;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.Traceability.Tanker;

/// <summary>
/// The one owner of <c>tanker_log_reading</c> (migration 0103): stores readings once per message key, and publishes
/// the road of a load (<see cref="TankerRoad"/>) joined with the chain's pickups and receipt by load id, for the
/// trace, the EPCIS export and the audits' alert rule. Nobody else reads the table.
/// </summary>
public sealed class TankerLogStore(NpgsqlDataSource dataSource, IOptions<TraceabilityOptions> options)
{
    private const string InsertSql =
        """
        insert into tanker_log_reading (device_id, boot_epoch, seq, tanker_load_id, plant_id, at, latitude_deg, longitude_deg, speed_kmh, tanker_plate, compartments, temperatures_c)
        values (@DeviceId, @BootEpoch, @Seq, @Load, @Plant, @At, @Lat, @Lon, @Speed, @Plate, @Compartments, @Temperatures)
        on conflict do nothing
        """;

    /// <summary>Stores the readings in one transaction; a key already stored is a duplicate and changes nothing.</summary>
    public Task<ApplyOutcome[]> ApplyAsync(IReadOnlyList<(ReadingKey Key, DateTimeOffset At, string PlantId, TankerLogRecord Record)> readings, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            var outcomes = new ApplyOutcome[readings.Count];
            for (var i = 0; i < readings.Count; i++)
            {
                var (key, at, plant, record) = readings[i];
                var compartments = new short[record.Compartments.Count];
                var temperatures = new double[record.Compartments.Count];
                for (var c = 0; c < compartments.Length; c++)
                {
                    compartments[c] = (short)record.Compartments[c].Compartment;
                    temperatures[c] = record.Compartments[c].TemperatureC;
                }

                var inserted = await connection.ExecuteAsync(new CommandDefinition(InsertSql, new
                {
                    key.DeviceId, key.BootEpoch, Seq = key.Sequence, Load = record.TankerLoadId, Plant = plant, At = at.UtcDateTime,
                    Lat = record.Position.LatitudeDeg, Lon = record.Position.LongitudeDeg, Speed = record.SpeedKmh, Plate = record.TankerPlate,
                    Compartments = compartments, Temperatures = temperatures,
                }, transaction, cancellationToken: ct));
                outcomes[i] = inserted == 0 ? ApplyOutcome.Duplicate : ApplyOutcome.Applied;
            }

            await transaction.CommitAsync(ct);
            return outcomes;
        }, cancellationToken);

    /// <summary>The plant that weighed the load in (its receipt's plant), or null while no receipt is stored.</summary>
    public Task<string?> ReceivedByAsync(string tankerLoadId, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return await connection.QuerySingleOrDefaultAsync<string?>(new CommandDefinition(
                "select plant_id from trace_lot where kind = 'receipt' and lot_id = @tankerLoadId", new { tankerLoadId }, cancellationToken: ct));
        }, cancellationToken);

    /// <summary>
    /// The road of each named load that has a pickup, a receipt or a reading (others are absent from the answer):
    /// three indexed reads in one round trip.
    /// </summary>
    public Task<IReadOnlyDictionary<string, TankerRoad>> RoadsAsync(IReadOnlyCollection<string> tankerLoadIds, CancellationToken cancellationToken) =>
        RoadsAsync(tankerLoadIds, null, cancellationToken);

    /// <summary>
    /// As <see cref="RoadsAsync(IReadOnlyCollection{string}, CancellationToken)"/>, with intake times the caller knows
    /// ahead of the chain (an intake observed in the batch the chain observer is writing): a load without a stored
    /// receipt ends its route there.
    /// </summary>
    public Task<IReadOnlyDictionary<string, TankerRoad>> RoadsAsync(
        IReadOnlyCollection<string> tankerLoadIds, IReadOnlyDictionary<string, DateTimeOffset>? intakesAhead, CancellationToken cancellationToken) =>
        PostgresRetry.RunAsync<IReadOnlyDictionary<string, TankerRoad>>(async ct =>
        {
            var roads = new Dictionary<string, TankerRoad>(StringComparer.Ordinal);
            if (tankerLoadIds.Count == 0)
            {
                return roads;
            }

            var ids = tankerLoadIds.ToArray();
            var readings = new Dictionary<string, List<TankerLogEntry>>(StringComparer.Ordinal);
            var pickups = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
            var receipts = new Dictionary<string, (DateTimeOffset? At, string? Plant)>(StringComparer.Ordinal);
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            await using var batch = new NpgsqlBatch(connection)
            {
                BatchCommands =
                {
                    new NpgsqlBatchCommand(
                        """
                        select device_id, boot_epoch, seq, tanker_load_id, plant_id, at, latitude_deg, longitude_deg, speed_kmh, tanker_plate, compartments, temperatures_c
                        from tanker_log_reading where tanker_load_id = any($1) order by tanker_load_id, at, seq
                        """) { Parameters = { new() { Value = ids } } },
                    new NpgsqlBatchCommand(
                        """
                        select l.lot_id, min(e.at) from trace_lot l join trace_edge e on e.child = l.id
                        where l.kind = 'tanker_load' and l.lot_id = any($1) and e.at is not null group by l.lot_id
                        """) { Parameters = { new() { Value = ids } } },
                    new NpgsqlBatchCommand("select lot_id, at, plant_id from trace_lot where kind = 'receipt' and lot_id = any($1)")
                        { Parameters = { new() { Value = ids } } },
                },
            };
            await using (var reader = await batch.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    var load = reader.GetString(3);
                    var compartments = reader.GetFieldValue<short[]>(10);
                    var temperatures = reader.GetFieldValue<double[]>(11);
                    var values = new CompartmentTemperature[compartments.Length];
                    for (var c = 0; c < values.Length; c++)
                    {
                        values[c] = new CompartmentTemperature(compartments[c], temperatures[c]);
                    }

                    (readings.TryGetValue(load, out var list) ? list : readings[load] = []).Add(new TankerLogEntry(
                        reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), load, reader.GetString(4),
                        new DateTimeOffset(reader.GetDateTime(5), TimeSpan.Zero),
                        new GeoPosition(reader.GetDouble(6), reader.GetDouble(7)),
                        reader.IsDBNull(8) ? null : reader.GetDouble(8),
                        reader.IsDBNull(9) ? null : reader.GetString(9),
                        values));
                }

                await reader.NextResultAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    pickups[reader.GetString(0)] = new DateTimeOffset(reader.GetDateTime(1), TimeSpan.Zero);
                }

                await reader.NextResultAsync(ct);
                while (await reader.ReadAsync(ct))
                {
                    receipts[reader.GetString(0)] = (reader.IsDBNull(1) ? null : new DateTimeOffset(reader.GetDateTime(1), TimeSpan.Zero),
                        reader.IsDBNull(2) ? null : reader.GetString(2));
                }
            }

            var limits = options.Value.TankerLog.Limits;
            foreach (var id in ids)
            {
                var hasReadings = readings.TryGetValue(id, out var list);
                var hasPickup = pickups.TryGetValue(id, out var pickedUp);
                var hasReceipt = receipts.TryGetValue(id, out var receipt);
                DateTimeOffset? ahead = intakesAhead is not null && intakesAhead.TryGetValue(id, out var at) ? at : null;
                if (hasReadings || hasPickup || hasReceipt || ahead is not null)
                {
                    roads[id] = TankerRoad.Summarise(id, list ?? [], hasPickup ? pickedUp : null, receipt.At ?? ahead, receipt.Plant, limits);
                }
            }

            return roads;
        }, cancellationToken);
}
