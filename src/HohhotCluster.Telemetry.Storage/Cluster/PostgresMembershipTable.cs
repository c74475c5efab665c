using Dapper;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Npgsql;
using Orleans;
using Orleans.Configuration;
using Orleans.Runtime;

namespace HohhotCluster.Telemetry.Storage.Cluster;

/// <summary>
/// Orleans' membership table on the platform's own schema (migration 0011): <c>cluster_membership_version</c> holds
/// the table version and its etag per cluster id, <c>cluster_silo</c> one row per silo incarnation. An insert or update
/// of a silo row and the move of the version row from the etag the caller read to the next are one transaction: the
/// version row's update waits for a concurrent writer's lock and then re-checks the etag, so of two writers that read
/// the same version exactly one commits, and the loser changes nothing. The I-am-alive heartbeat touches neither etag.
/// </summary>
public sealed partial class PostgresMembershipTable(NpgsqlDataSource dataSource, IOptions<ClusterOptions> cluster, ILogger<PostgresMembershipTable> logger)
    : IMembershipTable
{
    private const string SelectColumns = """
        s.address as Address, s.port as Port, s.generation as Generation, s.host_name as HostName, s.silo_name as SiloName,
        s.role_name as RoleName, s.status as Status, s.proxy_port as ProxyPort, s.update_zone as UpdateZone,
        s.fault_zone as FaultZone, s.suspect_times as SuspectTimes, s.start_time as StartTime,
        s.i_am_alive_time as IAmAliveTime, s.row_etag as RowEtag
        """;

    /// <summary>The cluster id whose rows this table reads and writes (Orleans' <c>ClusterOptions.ClusterId</c>).</summary>
    public string ClusterId => cluster.Value.ClusterId;

    public Task InitializeMembershipTable(bool tryInitTableVersion) => InitializeMembershipTableAsync(tryInitTableVersion, CancellationToken.None);

    public async Task InitializeMembershipTableAsync(bool tryInitTableVersion, CancellationToken cancellationToken)
    {
        if (!tryInitTableVersion)
        {
            return;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var created = await connection.ExecuteAsync(new CommandDefinition(
            "insert into cluster_membership_version (cluster_id, version, etag) values (@cluster, 0, @etag) on conflict (cluster_id) do nothing",
            new { cluster = ClusterId, etag = MembershipEtags.First }, cancellationToken: cancellationToken));
        if (created == 1)
        {
            LogTableCreated(ClusterId);
        }
    }

    public Task DeleteMembershipTableEntries(string clusterId) => DeleteMembershipTableEntriesAsync(clusterId, CancellationToken.None);

    public async Task DeleteMembershipTableEntriesAsync(string clusterId, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        // The silo rows go with their version row (on delete cascade).
        await connection.ExecuteAsync(new CommandDefinition(
            "delete from cluster_membership_version where cluster_id = @clusterId", new { clusterId }, cancellationToken: cancellationToken));
    }

    public Task CleanupDefunctSiloEntries(DateTimeOffset beforeDate) => CleanupDefunctSiloEntriesAsync(beforeDate, CancellationToken.None);

    /// <summary>Deletes the rows of dead silos last heard of (started or alive) before <paramref name="beforeDate"/>; a living silo's row is never deleted.</summary>
    public async Task CleanupDefunctSiloEntriesAsync(DateTimeOffset beforeDate, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var deleted = await connection.ExecuteAsync(new CommandDefinition(
            "delete from cluster_silo where cluster_id = @cluster and status = @dead and greatest(start_time, i_am_alive_time) < @before",
            new { cluster = ClusterId, dead = (short)SiloStatus.Dead, before = beforeDate.UtcDateTime }, cancellationToken: cancellationToken));
        if (deleted > 0)
        {
            LogDefunctDeleted(deleted, ClusterId);
        }
    }

    public Task<MembershipTableData> ReadRow(SiloAddress key) => ReadRowAsync(key, CancellationToken.None);

    public async Task<MembershipTableData> ReadRowAsync(SiloAddress key, CancellationToken cancellationToken)
    {
        // One statement is one snapshot: the row and the version are read atomically.
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<VersionRow, SiloRow?, (VersionRow, SiloRow?)>(new CommandDefinition(
            $"""
            select v.version as Version, v.etag as Etag, {SelectColumns}
            from cluster_membership_version v
            left join cluster_silo s on s.cluster_id = v.cluster_id and s.address = @address and s.port = @port and s.generation = @generation
            where v.cluster_id = @cluster
            """,
            new { cluster = ClusterId, address = MembershipEtags.Address(key), port = key.Endpoint.Port, generation = key.Generation },
            cancellationToken: cancellationToken), (v, s) => (v, s), splitOn: "Address");
        return ToTableData(rows);
    }

    public Task<MembershipTableData> ReadAll() => ReadAllAsync(CancellationToken.None);

    public async Task<MembershipTableData> ReadAllAsync(CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        var rows = await connection.QueryAsync<VersionRow, SiloRow?, (VersionRow, SiloRow?)>(new CommandDefinition(
            $"""
            select v.version as Version, v.etag as Etag, {SelectColumns}
            from cluster_membership_version v
            left join cluster_silo s on s.cluster_id = v.cluster_id
            where v.cluster_id = @cluster
            """,
            new { cluster = ClusterId }, cancellationToken: cancellationToken), (v, s) => (v, s), splitOn: "Address");
        return ToTableData(rows);
    }

    public Task<bool> InsertRow(MembershipEntry entry, TableVersion tableVersion) => InsertRowAsync(entry, tableVersion, CancellationToken.None);

    public async Task<bool> InsertRowAsync(MembershipEntry entry, TableVersion tableVersion, CancellationToken cancellationToken)
    {
        if (!MembershipEtags.IsWritable(tableVersion))
        {
            return false;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (!await MoveVersionAsync(connection, transaction, tableVersion, cancellationToken))
        {
            return false;
        }

        var inserted = await connection.ExecuteAsync(new CommandDefinition(
            """
            insert into cluster_silo (cluster_id, address, port, generation, host_name, silo_name, role_name, status, proxy_port,
                update_zone, fault_zone, suspect_times, start_time, i_am_alive_time, row_etag)
            values (@cluster, @address, @port, @generation, @hostName, @siloName, @roleName, @status, @proxyPort,
                @updateZone, @faultZone, @suspectTimes, @startTime, @iAmAliveTime, @rowEtag)
            on conflict (cluster_id, address, port, generation) do nothing
            """,
            Parameters(entry, MembershipEtags.First), transaction, cancellationToken: cancellationToken));
        if (inserted == 0)
        {
            // The silo is already in the table: the version moves back with the rollback.
            await transaction.RollbackAsync(cancellationToken);
            return false;
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public Task<bool> UpdateRow(MembershipEntry entry, string etag, TableVersion tableVersion) => UpdateRowAsync(entry, etag, tableVersion, CancellationToken.None);

    public async Task<bool> UpdateRowAsync(MembershipEntry entry, string etag, TableVersion tableVersion, CancellationToken cancellationToken)
    {
        if (!MembershipEtags.IsWritable(tableVersion) || MembershipEtags.Parse(etag) is not { } rowEtag)
        {
            return false;
        }

        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (!await MoveVersionAsync(connection, transaction, tableVersion, cancellationToken))
        {
            return false;
        }

        var parameters = Parameters(entry, rowEtag);
        var updated = await connection.ExecuteAsync(new CommandDefinition(
            """
            update cluster_silo set host_name = @hostName, silo_name = @siloName, role_name = @roleName, status = @status,
                proxy_port = @proxyPort, update_zone = @updateZone, fault_zone = @faultZone, suspect_times = @suspectTimes,
                start_time = @startTime, i_am_alive_time = greatest(i_am_alive_time, @iAmAliveTime), row_etag = row_etag + 1
            where cluster_id = @cluster and address = @address and port = @port and generation = @generation and row_etag = @rowEtag
            """,
            parameters, transaction, cancellationToken: cancellationToken));
        if (updated == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return false;
        }

        await transaction.CommitAsync(cancellationToken);
        return true;
    }

    public Task UpdateIAmAlive(MembershipEntry entry) => UpdateIAmAliveAsync(entry, CancellationToken.None);

    /// <summary>The heartbeat: only the I-am-alive time moves (never backwards); both etags stay as they are.</summary>
    public async Task UpdateIAmAliveAsync(MembershipEntry entry, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            update cluster_silo set i_am_alive_time = greatest(i_am_alive_time, @aliveAt)
            where cluster_id = @cluster and address = @address and port = @port and generation = @generation
            """,
            new
            {
                cluster = ClusterId,
                address = MembershipEtags.Address(entry.SiloAddress),
                port = entry.SiloAddress.Endpoint.Port,
                generation = entry.SiloAddress.Generation,
                aliveAt = MembershipEtags.Utc(entry.IAmAliveTime),
            }, cancellationToken: cancellationToken));
    }

    /// <summary>
    /// Moves the version row from the etag the caller read to the next, setting the version Orleans asks for. A concurrent
    /// writer holding the row makes this wait; once it commits, the etag no longer matches and nothing is updated.
    /// </summary>
    private async Task<bool> MoveVersionAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, TableVersion tableVersion, CancellationToken cancellationToken)
    {
        var moved = await connection.ExecuteAsync(new CommandDefinition(
            """
            update cluster_membership_version set version = @version, etag = etag + 1, changed_at = now()
            where cluster_id = @cluster and etag = @etag
            """,
            new { cluster = ClusterId, version = tableVersion.Version, etag = MembershipEtags.Parse(tableVersion.VersionEtag) },
            transaction, cancellationToken: cancellationToken));
        if (moved == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            LogVersionConflict(ClusterId, tableVersion.VersionEtag);
            return false;
        }

        return true;
    }

    private object Parameters(MembershipEntry entry, long rowEtag) => new
    {
        cluster = ClusterId,
        address = MembershipEtags.Address(entry.SiloAddress),
        port = entry.SiloAddress.Endpoint.Port,
        generation = entry.SiloAddress.Generation,
        hostName = entry.HostName ?? "",
        siloName = entry.SiloName ?? "",
        roleName = entry.RoleName ?? "",
        status = (short)entry.Status,
        proxyPort = entry.ProxyPort,
        updateZone = entry.UpdateZone,
        faultZone = entry.FaultZone,
        suspectTimes = MembershipEtags.FormatSuspectTimes(entry.SuspectTimes),
        startTime = MembershipEtags.Utc(entry.StartTime),
        iAmAliveTime = MembershipEtags.Utc(entry.IAmAliveTime),
        rowEtag,
    };

    private static MembershipTableData ToTableData(IEnumerable<(VersionRow Version, SiloRow? Silo)> rows)
    {
        TableVersion? version = null;
        var members = new List<Tuple<MembershipEntry, string>>();
        foreach (var (versionRow, silo) in rows)
        {
            version ??= new TableVersion(versionRow.Version, MembershipEtags.Format(versionRow.Etag));
            if (silo is not null)
            {
                members.Add(Tuple.Create(silo.ToEntry(), MembershipEtags.Format(silo.RowEtag)));
            }
        }

        // A cluster id without its version row yet (not initialised): an empty table at version 0.
        return new MembershipTableData(members, version ?? new TableVersion(0, MembershipEtags.Format(MembershipEtags.First)));
    }

    private sealed record VersionRow(int Version, long Etag);

    private sealed class SiloRow
    {
        public string Address { get; init; } = "";
        public int Port { get; init; }
        public int Generation { get; init; }
        public string HostName { get; init; } = "";
        public string SiloName { get; init; } = "";
        public string RoleName { get; init; } = "";
        public short Status { get; init; }
        public int ProxyPort { get; init; }
        public int UpdateZone { get; init; }
        public int FaultZone { get; init; }
        public string SuspectTimes { get; init; } = "";
        public DateTime StartTime { get; init; }
        public DateTime IAmAliveTime { get; init; }
        public long RowEtag { get; init; }

        public MembershipEntry ToEntry() => new()
        {
            SiloAddress = MembershipEtags.Silo(Address, Port, Generation),
            HostName = HostName,
            SiloName = SiloName,
            RoleName = RoleName,
            Status = (SiloStatus)Status,
            ProxyPort = ProxyPort,
            UpdateZone = UpdateZone,
            FaultZone = FaultZone,
            SuspectTimes = MembershipEtags.ParseSuspectTimes(SuspectTimes),
            StartTime = MembershipEtags.Utc(StartTime),
            IAmAliveTime = MembershipEtags.Utc(IAmAliveTime),
        };
    }

    [LoggerMessage(EventId = 1500, Level = LogLevel.Information, Message = "Cluster membership table created for cluster {ClusterId}")]
    private partial void LogTableCreated(string clusterId);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "Deleted {Count} defunct silo rows of cluster {ClusterId}")]
    private partial void LogDefunctDeleted(int count, string clusterId);

    [LoggerMessage(EventId = 1502, Level = LogLevel.Debug, Message = "Membership write of cluster {ClusterId} lost the race on table etag {Etag}")]
    private partial void LogVersionConflict(string clusterId, string etag);
}
