using Dapper;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Ingestion;
using HohhotCluster.Telemetry.Storage;
using Npgsql;

namespace HohhotCluster.Telemetry.Traceability;

/// <summary>
/// A collection may not name a bulk-tank lot that another pasture already holds, nor an intake a tanker load that
/// another plant already received: such a reading would be counted as the sender's production (or intake) and
/// overwrite the other owner's lot. It is refused as <c>invalid_field</c> before any grain applies it (the contract's
/// rule, the same as for the traceability kinds). One query per batch.
/// </summary>
public sealed class LotOwnershipGate(NpgsqlDataSource dataSource) : IAcceptedReadingGate
{
    public async Task<IReadOnlyList<(int Index, Rejection Rejection)>> CheckAsync(IReadOnlyList<object> readings, CancellationToken cancellationToken)
    {
        var kinds = new List<string>();
        var ids = new List<string>();
        for (var i = 0; i < readings.Count; i++)
        {
            switch (readings[i])
            {
                case BulkTankReading { Kind: BulkTankEventKind.Collection, LotId: { } lot }:
                    kinds.Add(LotKinds.BulkTank);
                    ids.Add(lot);
                    break;
                case PlantIntakeReading intake:
                    kinds.Add(LotKinds.Receipt);
                    ids.Add(intake.TankerLoadId);
                    break;
            }
        }

        if (ids.Count == 0)
        {
            return [];
        }

        var owners = await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var rows = await connection.QueryAsync<(string Kind, string LotId, string? Owner)>(new CommandDefinition(
                """
                select kind, lot_id, coalesce(case when kind = 'bulk_tank' then pasture_id else plant_id end, '') from trace_lot
                where (kind, lot_id) in (select * from unnest(@kinds::text[], @ids::text[]))
                """, new { kinds = kinds.ToArray(), ids = ids.ToArray() }, cancellationToken: ct));
            return rows.ToDictionary(r => (r.Kind, r.LotId), r => r.Owner);
        }, cancellationToken);

        var refused = new List<(int, Rejection)>();
        for (var i = 0; i < readings.Count; i++)
        {
            switch (readings[i])
            {
                case BulkTankReading { Kind: BulkTankEventKind.Collection, LotId: { } lot } collection
                    when owners.TryGetValue((LotKinds.BulkTank, lot), out var pasture) && pasture is { Length: > 0 } && pasture != collection.PastureId:
                    refused.Add((i, new Rejection(QuarantineReasons.InvalidField, $"lotId '{Short(lot)}' is a bulk-tank lot of another pasture")));
                    break;
                case PlantIntakeReading intake
                    when owners.TryGetValue((LotKinds.Receipt, intake.TankerLoadId), out var plant) && plant is { Length: > 0 } && plant != intake.PlantId:
                    refused.Add((i, new Rejection(QuarantineReasons.InvalidField, $"tankerLoadId '{Short(intake.TankerLoadId)}' was received by another plant")));
                    break;
            }
        }

        return refused;
    }

    private static string Short(string text) => text.Length <= 64 ? text : text[..63] + "…";
}
