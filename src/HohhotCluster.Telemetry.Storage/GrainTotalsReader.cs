using System.Text.Json;
using Dapper;
using HohhotCluster.Telemetry.Contracts;
using Npgsql;

namespace HohhotCluster.Telemetry.Storage;

/// <summary>The state names under which owning grains store their totals (also the first part of a member key).</summary>
public static class GrainStateNames
{
    public const string Herd = "herd";
    public const string Pasture = "pasture";
    public const string Plant = "plant";
}

/// <summary>One owning grain's committed daily totals, as a rollup member, with the version of the state they are from.</summary>
public sealed record StoredMemberTotals(string MemberKey, Dictionary<DateOnly, DailyTotals> Days, long Revision);

/// <summary>
/// Reads the committed daily totals of herds, pastures and plants straight from their stored grain state, so a
/// rollup can rebuild itself without calling (and so without waiting on) the grains it sums.
/// </summary>
/// <summary>Where a rollup rebuilds itself from on activation: its members' committed totals.</summary>
public interface IMemberTotalsReader
{
    /// <summary>Members of a rollup key: <c>city</c>, <c>county:{id}</c> or <c>pasture:{id}</c>.</summary>
    Task<IReadOnlyList<StoredMemberTotals>> ReadMembersAsync(string rollupKey, CancellationToken cancellationToken = default);
}

public sealed class GrainTotalsReader(NpgsqlDataSource dataSource) : IMemberTotalsReader
{
    /// <summary>Members of a rollup key: <c>city</c>, <c>county:{id}</c> or <c>pasture:{id}</c>.</summary>
    public Task<IReadOnlyList<StoredMemberTotals>> ReadMembersAsync(string rollupKey, CancellationToken cancellationToken = default)
    {
        string? county = null, pasture = null;
        if (rollupKey.StartsWith("county:", StringComparison.Ordinal))
        {
            county = rollupKey["county:".Length..];
        }
        else if (rollupKey.StartsWith("pasture:", StringComparison.Ordinal))
        {
            pasture = rollupKey["pasture:".Length..];
        }
        else if (rollupKey != RollupKeys.City)
        {
            throw new ArgumentException($"Unknown rollup key '{rollupKey}'.", nameof(rollupKey));
        }

        return PostgresRetry.RunAsync<IReadOnlyList<StoredMemberTotals>>(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            var rows = await connection.QueryAsync<(string GrainType, string GrainId, string? Days, long Version)>(new CommandDefinition(
                """
                select grain_type, grain_id, (state -> 'days')::text, version
                from grain_state
                where grain_type = any(@types)
                  and (@county::text is null or state ->> 'countyId' = @county)
                  and (@pasture::text is null or state ->> 'pastureId' = @pasture)
                """,
                new { types = new[] { GrainStateNames.Herd, GrainStateNames.Pasture, GrainStateNames.Plant }, county, pasture },
                cancellationToken: ct));
            var members = new List<StoredMemberTotals>();
            foreach (var (grainType, grainId, days, version) in rows)
            {
                // Orleans grain ids are "type/key".
                var slash = grainId.IndexOf('/', StringComparison.Ordinal);
                var key = slash >= 0 ? grainId[(slash + 1)..] : grainId;
                var parsed = days is null
                    ? []
                    : JsonSerializer.Deserialize<Dictionary<DateOnly, DailyTotals>>(days, PostgresGrainStorage.JsonOptions) ?? [];
                members.Add(new StoredMemberTotals(grainType + ":" + key, parsed, version));
            }

            return members;
        }, cancellationToken);
    }
}
