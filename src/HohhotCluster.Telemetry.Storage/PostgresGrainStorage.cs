using System.Globalization;
using System.Text.Json;
using Dapper;
using Npgsql;
using Orleans.Runtime;
using Orleans.Storage;

namespace HohhotCluster.Telemetry.Storage;

/// <summary>
/// Orleans grain storage in PostgreSQL: the state as JSONB and a version number as the ETag.
/// A write carrying a stale ETag changes nothing and throws <see cref="InconsistentStateException"/>, so two
/// activations of one grain (for example during a silo failover) can never overwrite each other's totals.
/// Writes go through <see cref="GrainStateGroupCommit"/>: the grains persisting at the same moment share one statement.
/// </summary>
public sealed class PostgresGrainStorage(NpgsqlDataSource dataSource) : IGrainStorage, IAsyncDisposable
{
    private readonly GrainStateGroupCommit _writes = new(dataSource);

    /// <summary>The group commit every write goes through (its counters show how well writes are grouped).</summary>
    public GrainStateGroupCommit Writes => _writes;

    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict,
    };

    public async Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var row = await PostgresRetry.RunAsync(async ct =>
        {
            await using var connection = await dataSource.OpenConnectionAsync(ct);
            return await connection.QuerySingleOrDefaultAsync<(string State, long Version)?>(new CommandDefinition(
                "select state::text, version from grain_state where grain_type = @type and grain_id = @id",
                new { type = stateName, id = grainId.ToString() }, cancellationToken: ct));
        }, CancellationToken.None);

        if (row is { } stored)
        {
            grainState.State = JsonSerializer.Deserialize<T>(stored.State, JsonOptions)!;
            grainState.ETag = stored.Version.ToString(CultureInfo.InvariantCulture);
            grainState.RecordExists = true;
        }
        else
        {
            grainState.State = Activator.CreateInstance<T>();
            grainState.ETag = null;
            grainState.RecordExists = false;
        }
    }

    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var json = JsonSerializer.Serialize(grainState.State, JsonOptions);
        var id = grainId.ToString();
        long? expected = grainState.ETag is null ? null : long.Parse(grainState.ETag, CultureInfo.InvariantCulture);

        // A first write inserts only if nobody else created the row meanwhile; later ones update only the version read.
        var newVersion = await _writes.WriteAsync(stateName, id, json, expected) ?? throw Conflict(stateName, id, grainState.ETag);
        grainState.ETag = newVersion.ToString(CultureInfo.InvariantCulture);
        grainState.RecordExists = true;
    }

    public async Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        var id = grainId.ToString();
        if (grainState.ETag is not null)
        {
            await using var connection = await dataSource.OpenConnectionAsync();
            var deleted = await connection.ExecuteAsync(
                "delete from grain_state where grain_type = @type and grain_id = @id and version = @expected",
                new { type = stateName, id, expected = long.Parse(grainState.ETag, CultureInfo.InvariantCulture) });
            if (deleted == 0)
            {
                throw Conflict(stateName, id, grainState.ETag);
            }
        }

        grainState.State = Activator.CreateInstance<T>();
        grainState.ETag = null;
        grainState.RecordExists = false;
    }

    private static InconsistentStateException Conflict(string stateName, string grainId, string? etag) =>
        new($"Grain state '{stateName}' of {grainId} was changed by another writer (expected version {etag ?? "none"}).");

    public ValueTask DisposeAsync() => _writes.DisposeAsync();
}
