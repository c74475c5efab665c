using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace HohhotCluster.Telemetry.Storage;

/// <summary>One embedded migration script of this binary, with the SHA-256 of its text.</summary>
public sealed record SchemaMigration(int Version, string Name, string Sql)
{
    /// <summary>Lower-case hex SHA-256 of the script's UTF-8 text with CRLF line ends read as LF (a checkout's line ends do not change it).</summary>
    public string Checksum => ChecksumOf(Sql);

    public static string ChecksumOf(string sql) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql.Replace("\r\n", "\n", StringComparison.Ordinal))));
}

/// <summary>A row of <c>schema_migration</c>: a script the database holds; <see cref="Checksum"/> is null when it was applied before checksums were recorded.</summary>
public sealed record AppliedMigration(int Version, string Name, string? Checksum, DateTime AppliedAt);

/// <summary>A script applied before checksums were recorded, whose checksum is recorded now.</summary>
/// <param name="VerifiedAgainstRelease">Its text is the one the baseline release shipped (else that release did not ship it).</param>
public sealed record ChecksumBackfill(SchemaMigration Migration, bool VerifiedAgainstRelease);

/// <summary>What the migrator does with a database: scripts to apply, checksums to record.</summary>
public sealed record SchemaPlan(IReadOnlyList<SchemaMigration> Pending, IReadOnlyList<ChecksumBackfill> Backfills);

/// <summary>The database's schema and this binary's scripts disagree: the host must not start.</summary>
public sealed class SchemaMismatchException(string message) : InvalidOperationException(message);

/// <summary>
/// A released schema: the names and checksums of the scripts a release shipped (embedded
/// <c>SchemaReleases/{release}.sha256</c>, lines <c>sha256  NNNN_name</c>, <c>#</c> comments).
/// </summary>
public sealed class SchemaRelease
{
    private SchemaRelease(string name, IReadOnlyDictionary<string, string> checksums)
    {
        Name = name;
        Checksums = checksums;
    }

    public string Name { get; }

    /// <summary>Script name (<c>NNNN_description</c>) to its checksum.</summary>
    public IReadOnlyDictionary<string, string> Checksums { get; }

    public static SchemaRelease Parse(string name, string text)
    {
        var checksums = new Dictionary<string, string>(StringComparer.Ordinal);
        var lineNumber = 0;
        foreach (var raw in text.Split('\n'))
        {
            lineNumber++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }

            var parts = line.Split("  ", 2, StringSplitOptions.TrimEntries);
            if (parts.Length != 2 || parts[0].Length != 64 || !parts[0].All(c => c is (>= '0' and <= '9') or (>= 'a' and <= 'f')) || !checksums.TryAdd(parts[1], parts[0]))
            {
                throw new FormatException($"Schema release {name}, line {lineNumber}: expected '<lower-case hex sha256>  NNNN_name' once per script, got '{line}'.");
            }
        }

        return new SchemaRelease(name, checksums);
    }

    /// <summary>The release manifest embedded in this assembly.</summary>
    public static SchemaRelease Load(string release)
    {
        var resource = typeof(SchemaRelease).Assembly.GetManifestResourceNames()
            .SingleOrDefault(r => r.EndsWith($".SchemaReleases.{release}.sha256", StringComparison.Ordinal))
            ?? throw new InvalidOperationException($"No schema release manifest SchemaReleases/{release}.sha256 is embedded in {typeof(SchemaRelease).Assembly.GetName().Name}.");
        using var stream = typeof(SchemaRelease).Assembly.GetManifestResourceStream(resource)!;
        using var reader = new StreamReader(stream);
        return Parse(release, reader.ReadToEnd());
    }
}

/// <summary>
/// The rules the migrator holds a database to, without a database (unit-tested): every applied script must be one
/// this binary knows, under the same name and with the same text; a script applied before checksums were kept gets
/// its checksum recorded once, if its text is the one the baseline release shipped.
/// </summary>
public static class SchemaCheck
{
    public static SchemaPlan Plan(IReadOnlyList<SchemaMigration> known, IReadOnlyList<AppliedMigration> applied, SchemaRelease baseline)
    {
        var byVersion = known.ToDictionary(m => m.Version);
        var unknown = applied.Where(a => !byVersion.ContainsKey(a.Version)).ToList();
        if (unknown.Count > 0)
        {
            throw new SchemaMismatchException(
                $"The database holds {unknown.Count} schema migration(s) this binary does not know: " +
                string.Join(", ", unknown.Select(a => $"{a.Name} (applied {a.AppliedAt.ToString("u", CultureInfo.InvariantCulture)})")) +
                $". This binary is older than the schema (it knows migrations up to {(known.Count == 0 ? "none" : known[^1].Name)}). " +
                "Start the release that applied them, or a newer one; a schema is never migrated down, and an older binary would misread it. " +
                "To go back to an older release, restore the backup taken before the upgrade (deploy/RUNBOOK.md).");
        }

        var problems = new List<string>();
        var backfills = new List<ChecksumBackfill>();
        foreach (var row in applied)
        {
            var script = byVersion[row.Version];
            if (!string.Equals(row.Name, script.Name, StringComparison.Ordinal))
            {
                problems.Add($"migration {row.Version} was applied as {row.Name} but this binary's script {row.Version} is {script.Name}");
            }
            else if (row.Checksum is null)
            {
                if (baseline.Checksums.TryGetValue(script.Name, out var released) && !string.Equals(released, script.Checksum, StringComparison.Ordinal))
                {
                    problems.Add(
                        $"{script.Name} was applied before checksums were recorded, and its text is no longer the one release {baseline.Name} shipped " +
                        $"(release {baseline.Name}: {released}, this binary: {script.Checksum})");
                }
                else
                {
                    backfills.Add(new ChecksumBackfill(script, baseline.Checksums.ContainsKey(script.Name)));
                }
            }
            else if (!string.Equals(row.Checksum, script.Checksum, StringComparison.Ordinal))
            {
                problems.Add($"{script.Name} was applied with SHA-256 {row.Checksum}, but this binary's {script.Name}.sql has SHA-256 {script.Checksum}");
            }
        }

        if (problems.Count > 0)
        {
            throw new SchemaMismatchException(
                "An applied schema migration's script has changed; the database was built by other text than this binary's, so it refuses to start: " +
                string.Join("; ", problems) + ". " +
                "Fix: put the script back as it was released (git log -p on its file) and make the change a new migration with the next free number. " +
                "Only if the database already holds the changed script's effect, accept it with: update schema_migration set checksum = '<this binary's SHA-256>' where version = <N>.");
        }

        var appliedVersions = applied.Select(a => a.Version).ToHashSet();
        return new SchemaPlan(known.Where(m => !appliedVersions.Contains(m.Version)).ToList(), backfills);
    }
}
