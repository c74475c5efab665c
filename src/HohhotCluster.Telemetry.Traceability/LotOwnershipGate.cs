using Dapper;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Storage;
using Npgsql;

namespace HohhotCluster.Telemetry.Traceability;

/// <summary>
/// A collection may not name a bulk-tank lot that another pasture already holds: it would be counted as the sender's
/// production and overwrite the other pasture's lot. It is refused as <c>invalid_field</c> before any grain applies
/// it (the contract's rule, the same as for the traceability kinds). One query per batch with collections. Intakes
/// are not gated: tanker load ids are minted by each plant's own system, and refusing a second plant's intake of a
/// load id another plant used would lose a real intake from the plan's processing figure.
/// </summary>
public sealed class LotOwnershipGate(NpgsqlDataSource dataSource) : IAcceptedGate<BulkTankDraft>
{
    public async Task<IReadOnlyList<(int Index, Rejection Rejection)>> CheckAsync(IReadOnlyList<Accepted<BulkTankDraft>> records, CancellationToken cancellationToken)
    {
        var lots = new List<string>();
        foreach (var record in records)
        {
            if (record.Record is { Kind: BulkTankEventKind.Collection, LotId: { } lot })
            {
                lots.Add(lot);
            }
        }

        if (lots.Count == 0)
        {
            return [];
        }

        var owners = await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var rows = await connection.QueryAsync<(string LotId, string Pasture)>(new CommandDefinition(
                "select lot_id, coalesce(pasture_id, '') from trace_lot where kind = 'bulk_tank' and lot_id = any(@lots)",
                new { lots = lots.ToArray() }, cancellationToken: ct));
            return rows.ToDictionary(r => r.LotId, r => r.Pasture, StringComparer.Ordinal);
        }, cancellationToken);

        var refused = new List<(int, Rejection)>();
        for (var i = 0; i < records.Count; i++)
        {
            if (records[i].Record is { Kind: BulkTankEventKind.Collection, LotId: { } lot }
                && owners.TryGetValue(lot, out var pasture) && pasture.Length > 0 && pasture != records[i].Device.OwnerId)
            {
                refused.Add((i, new Rejection(QuarantineReasons.InvalidField, $"lotId '{TextLimits.Shorten(lot, 64)}' is a bulk-tank lot of another pasture")));
            }
        }

        return refused;
    }

}
