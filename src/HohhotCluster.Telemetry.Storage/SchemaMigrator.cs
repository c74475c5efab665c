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
/// not race. Versions are global: storage owns 1-99, traceability 100-199, audits 200-299.
/// </summary>
public sealed partial class SchemaMigrator(NpgsqlDataSource dataSource, IEnumerable<MigrationSource> sources, ILogger<SchemaMigrator> logger)
{
    private const long AdvisoryLockKey = 0x486f68686f74; // "Hohhot"

    public static IReadOnlyList<(int Version, string Name, string Sql)> LoadMigrations(IEnumerable<Assembly> assemblies)
    {
        var migrations = new List<(int, string, string)>();
        foreach (var assembly in assemblies.Distinct())
        {
            LoadMigrations(assembly, migrations);
        }

        migrations.Sort((a, b) => a.Item1.CompareTo(b.Item1));
        for (var i = 1; i < migrations.Count; i++)
        {
            if (migrations[i].Item1 == migrations[i - 1].Item1)
            {
                throw new InvalidOperationException($"Migrations {migrations[i - 1].Item2} and {migrations[i].Item2} share version {migrations[i].Item1}.");
            }
        }

        return migrations;
    }

    private static void LoadMigrations(Assembly assembly, List<(int, string, string)> migrations)
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
            migrations.Add((version, name, reader.ReadToEnd()));
        }
    }

    public async Task<int> MigrateAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            "select pg_advisory_lock(@key)", new { key = AdvisoryLockKey }, cancellationToken: cancellationToken));
        try
        {
            await connection.ExecuteAsync(new CommandDefinition(
                """
                create table if not exists schema_migration (
                    version    integer primary key,
                    name       text not null,
                    applied_at timestamptz not null default now())
                """, cancellationToken: cancellationToken));
            var applied = (await connection.QueryAsync<int>(new CommandDefinition(
                "select version from schema_migration", cancellationToken: cancellationToken))).ToHashSet();

            var count = 0;
            foreach (var (version, name, sql) in LoadMigrations(sources.Select(s => s.Assembly)))
            {
                if (applied.Contains(version))
                {
                    continue;
                }

                await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
                await connection.ExecuteAsync(new CommandDefinition(sql, transaction: transaction, cancellationToken: cancellationToken));
                await connection.ExecuteAsync(new CommandDefinition(
                    "insert into schema_migration (version, name) values (@version, @name)",
                    new { version, name }, transaction, cancellationToken: cancellationToken));
                await transaction.CommitAsync(cancellationToken);
                LogApplied(version, name);
                count++;
            }

            return count;
        }
        finally
        {
            await connection.ExecuteAsync(new CommandDefinition(
                "select pg_advisory_unlock(@key)", new { key = AdvisoryLockKey }, cancellationToken: CancellationToken.None));
        }
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Information, Message = "Applied schema migration {Version} ({Name})")]
    private partial void LogApplied(int version, string name);
}
