using System.Reflection;
using Dapper;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace HohhotCluster.Telemetry.Storage;

/// <summary>An assembly whose embedded <c>Migrations/NNNN_name.sql</c> scripts belong to the schema.</summary>
public sealed record MigrationSource(Assembly Assembly);

/// <summary>
/// Applies the embedded <c>Migrations/NNNN_name.sql</c> scripts of every registered <see cref="MigrationSource"/>
/// in version order, each in its own transaction, under an advisory lock so that two silos starting together do
/// not race. Versions are global: storage owns 1-99, traceability 100-199, audits 200-299, identity 300-399.
/// Before it applies anything it checks the database's bookkeeping (<c>schema_migration</c>, owned here) against the
/// binary's scripts (<see cref="SchemaCheck"/>): an applied script whose text changed, or a database that holds a
/// migration this binary does not know, refuses the start with a <see cref="SchemaMismatchException"/>.
/// </summary>
public sealed partial class SchemaMigrator(NpgsqlDataSource dataSource, IEnumerable<MigrationSource> sources, ILogger<SchemaMigrator> logger)
{
    private const long AdvisoryLockKey = 0x486f68686f74; // "Hohhot"

    /// <summary>The release whose scripts were applied before checksums were recorded (<c>SchemaReleases/0.14.sha256</c>).</summary>
    public const string ChecksumBaselineRelease = "0.14";

    public static IReadOnlyList<SchemaMigration> LoadMigrations(IEnumerable<Assembly> assemblies)
    {
        var migrations = new List<SchemaMigration>();
        foreach (var assembly in assemblies.Distinct())
        {
            LoadMigrations(assembly, migrations);
        }

        migrations.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 1; i < migrations.Count; i++)
        {
            if (migrations[i].Version == migrations[i - 1].Version)
            {
                throw new InvalidOperationException($"Migrations {migrations[i - 1].Name} and {migrations[i].Name} share version {migrations[i].Version}.");
            }
        }

        return migrations;
    }

    private static void LoadMigrations(Assembly assembly, List<SchemaMigration> migrations)
    {
        foreach (var resource in assembly.GetManifestResourceNames())
        {
            const string marker = ".Migrations.";
            var at = resource.IndexOf(marker, StringComparison.Ordinal);
            if (at < 0 || !resource.EndsWith(".sql", StringComparison.Ordinal))
            {
                continue;
            }

            var name = resource[(at + marker.Length)..^4];
            var underscore = name.IndexOf('_', StringComparison.Ordinal);
            if (underscore <= 0 || !int.TryParse(name.AsSpan(0, underscore), out var version))
            {
                throw new InvalidOperationException($"Migration '{resource}' must be named NNNN_description.sql.");
            }

            using var stream = assembly.GetManifestResourceStream(resource)!;
            using var reader = new StreamReader(stream);
            migrations.Add(new SchemaMigration(version, name, reader.ReadToEnd()));
        }
    }

    /// <summary>Checks the bookkeeping, records the checksums of scripts applied before they were recorded, applies the pending scripts.</summary>
    /// <returns>How many scripts were applied.</returns>
    public Task<int> MigrateAsync(CancellationToken cancellationToken = default) => RunAsync(apply: true, cancellationToken);

    /// <summary>
    /// The same checks without changing the schema (a host started with <c>Postgres:MigrateOnStart=false</c>): also
    /// refuses when scripts are pending, since this binary's code needs them. Records missing checksums like
    /// <see cref="MigrateAsync"/> (bookkeeping only).
    /// </summary>
    public Task VerifyAsync(CancellationToken cancellationToken = default) => RunAsync(apply: false, cancellationToken);

    private async Task<int> RunAsync(bool apply, CancellationToken cancellationToken)
    {
        var known = LoadMigrations(sources.Select(s => s.Assembly));
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "select pg_advisory_lock(@key)", new { key = AdvisoryLockKey }, cancellationToken: cancellationToken));
        try
        {
            // The bookkeeping table is the migrator's own, not a numbered script's: it must exist, with its checksum
            // column, before the scripts can be checked against it. Release 0.14 created it without that column.
            await connection.ExecuteAsync(new CommandDefinition(
                """
                create table if not exists schema_migration (
                    version    integer primary key,
                    name       text not null,
                    applied_at timestamptz not null default now());
                alter table schema_migration add column if not exists checksum text
                """, cancellationToken: cancellationToken));
            var applied = (await connection.QueryAsync<AppliedMigration>(new CommandDefinition(
                "select version as Version, name as Name, checksum as Checksum, applied_at as AppliedAt from schema_migration order by version",
                cancellationToken: cancellationToken))).AsList();

            var plan = SchemaCheck.Plan(known, applied, SchemaRelease.Load(ChecksumBaselineRelease));
            foreach (var backfill in plan.Backfills)
            {
                // Only where none is recorded yet: a second host doing the same under the lock changes nothing.
                await connection.ExecuteAsync(new CommandDefinition(
                    "update schema_migration set checksum = @checksum where version = @version and checksum is null",
                    new { version = backfill.Migration.Version, checksum = backfill.Migration.Checksum }, cancellationToken: cancellationToken));
                if (backfill.VerifiedAgainstRelease)
                {
                    LogBackfilled(backfill.Migration.Name, backfill.Migration.Checksum, ChecksumBaselineRelease);
                }
                else
                {
                    LogBackfilledUnverified(backfill.Migration.Name, backfill.Migration.Checksum, ChecksumBaselineRelease);
                }
            }

            if (!apply)
            {
                if (plan.Pending.Count > 0)
                {
                    throw new SchemaMismatchException(
                        $"The database lacks {plan.Pending.Count} schema migration(s) this binary needs ({string.Join(", ", plan.Pending.Select(m => m.Name))}) " +
                        "and Postgres:MigrateOnStart is false. Start one host with Postgres:MigrateOnStart=true (the default) to apply them.");
                }

                return 0;
            }

            foreach (var migration in plan.Pending)
            {
                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await connection.ExecuteAsync(new CommandDefinition(migration.Sql, transaction: transaction, cancellationToken: cancellationToken));
                await connection.ExecuteAsync(new CommandDefinition(
                    "insert into schema_migration (version, name, checksum) values (@version, @name, @checksum)",
                    new { version = migration.Version, name = migration.Name, checksum = migration.Checksum }, transaction, cancellationToken: cancellationToken));
                await transaction.CommitAsync(cancellationToken);
                LogApplied(migration.Version, migration.Name);
            }

            return plan.Pending.Count;
        }
        finally
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "select pg_advisory_unlock(@key)", new { key = AdvisoryLockKey }, cancellationToken: CancellationToken.None));
        }
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Applied schema migration {Version} ({Name})")]
    private partial void LogApplied(int version, string name);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information,
        Message = "Recorded the checksum {Checksum} of schema migration {Name}, applied before checksums were kept; its text is release {Release}'s")]
    private partial void LogBackfilled(string name, string checksum, string release);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning,
        Message = "Recorded the checksum {Checksum} of schema migration {Name}, applied before checksums were kept; release {Release} did not ship it, so its text could not be checked against a release")]
    private partial void LogBackfilledUnverified(string name, string checksum, string release);
}
