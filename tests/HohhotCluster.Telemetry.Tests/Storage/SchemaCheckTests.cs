using System.Security.Cryptography;
using System.Text;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Tests.Storage;

/// <summary>The migrator's rules on a database's bookkeeping, without a database (<see cref="SchemaCheck"/>).</summary>
public sealed class SchemaCheckTests
{
    private static readonly DateTime AppliedAt = new(2026, 11, 30, 8, 0, 0, DateTimeKind.Utc);

    private static readonly SchemaMigration Registry = new(1, "0001_registry", "create table device (id text primary key);\n");
    private static readonly SchemaMigration Quarantine = new(2, "0002_quarantine", "create table quarantine (id bigserial primary key);\n");
    private static readonly SchemaMigration Lots = new(100, "0100_trace_chain", "create table trace_lot (id text primary key);\n");

    private static SchemaRelease Release(params SchemaMigration[] shipped) =>
        SchemaRelease.Parse("0.14", "# test release\n" + string.Concat(shipped.Select(m => $"{m.Checksum}  {m.Name}\n")));

    private static AppliedMigration Applied(SchemaMigration migration, string? checksum) => new(migration.Version, migration.Name, checksum, AppliedAt);

    [Fact]
    public void Checksum_is_the_sha256_of_the_script_text_and_ignores_crlf_line_ends()
    {
        const string sql = "create table a (x int);\ncreate table b (y int);\n";
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql))), SchemaMigration.ChecksumOf(sql));
        Assert.Equal(SchemaMigration.ChecksumOf(sql), SchemaMigration.ChecksumOf(sql.Replace("\n", "\r\n", StringComparison.Ordinal)));
        Assert.NotEqual(SchemaMigration.ChecksumOf(sql), SchemaMigration.ChecksumOf(sql.Replace("int", "bigint", StringComparison.Ordinal)));
    }

    [Fact]
    public void Fresh_database_has_every_script_pending_in_version_order_and_nothing_to_record()
    {
        var plan = SchemaCheck.Plan([Registry, Quarantine, Lots], [], Release());
        Assert.Equal(["0001_registry", "0002_quarantine", "0100_trace_chain"], plan.Pending.Select(m => m.Name));
        Assert.Empty(plan.Backfills);
    }

    [Fact]
    public void Applied_scripts_with_their_checksums_leave_only_the_new_ones_pending()
    {
        var plan = SchemaCheck.Plan([Registry, Quarantine, Lots], [Applied(Registry, Registry.Checksum), Applied(Quarantine, Quarantine.Checksum)], Release());
        Assert.Equal(["0100_trace_chain"], plan.Pending.Select(m => m.Name));
        Assert.Empty(plan.Backfills);
    }

    [Fact]
    public void Changed_applied_script_refuses_naming_the_script_both_checksums_and_the_fix()
    {
        var recorded = SchemaMigration.ChecksumOf("create table quarantine (id serial primary key);\n");
        var error = Assert.Throws<SchemaMismatchException>(() =>
            SchemaCheck.Plan([Registry, Quarantine], [Applied(Registry, Registry.Checksum), Applied(Quarantine, recorded)], Release()));
        Assert.Contains("0002_quarantine", error.Message, StringComparison.Ordinal);
        Assert.Contains(recorded, error.Message, StringComparison.Ordinal);
        Assert.Contains(Quarantine.Checksum, error.Message, StringComparison.Ordinal);
        Assert.Contains("new migration", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("0001_registry", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Renamed_applied_script_refuses_naming_both_names()
    {
        var error = Assert.Throws<SchemaMismatchException>(() =>
            SchemaCheck.Plan([Registry], [new AppliedMigration(1, "0001_devices", Registry.Checksum, AppliedAt)], Release()));
        Assert.Contains("0001_devices", error.Message, StringComparison.Ordinal);
        Assert.Contains("0001_registry", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Database_holding_a_migration_this_binary_does_not_know_refuses_as_a_binary_older_than_the_schema()
    {
        var newer = new AppliedMigration(15, "0015_backup_marker", SchemaMigration.ChecksumOf("select 1"), AppliedAt);
        var error = Assert.Throws<SchemaMismatchException>(() =>
            SchemaCheck.Plan([Registry, Quarantine], [Applied(Registry, Registry.Checksum), Applied(Quarantine, Quarantine.Checksum), newer], Release()));
        Assert.Contains("0015_backup_marker", error.Message, StringComparison.Ordinal);
        Assert.Contains("older than the schema", error.Message, StringComparison.Ordinal);
        Assert.Contains("0002_quarantine", error.Message, StringComparison.Ordinal); // the newest this binary knows
    }

    [Fact]
    public void Scripts_applied_before_checksums_get_theirs_recorded_when_their_text_is_the_released_one()
    {
        var plan = SchemaCheck.Plan([Registry, Quarantine, Lots], [Applied(Registry, null), Applied(Quarantine, null)], Release(Registry, Quarantine));
        Assert.Equal(["0001_registry", "0002_quarantine"], plan.Backfills.Select(b => b.Migration.Name));
        Assert.All(plan.Backfills, b => Assert.True(b.VerifiedAgainstRelease));
        Assert.Equal(["0100_trace_chain"], plan.Pending.Select(m => m.Name));
    }

    [Fact]
    public void Script_applied_before_checksums_whose_text_differs_from_the_release_refuses()
    {
        var edited = Quarantine with { Sql = "create table quarantine (id bigserial primary key, note text);\n" };
        var error = Assert.Throws<SchemaMismatchException>(() =>
            SchemaCheck.Plan([Registry, edited], [Applied(Registry, null), Applied(Quarantine, null)], Release(Registry, Quarantine)));
        Assert.Contains("0002_quarantine", error.Message, StringComparison.Ordinal);
        Assert.Contains(Quarantine.Checksum, error.Message, StringComparison.Ordinal);
        Assert.Contains(edited.Checksum, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Script_applied_before_checksums_that_no_release_shipped_is_recorded_as_unverified()
    {
        var plan = SchemaCheck.Plan([Registry, Lots], [Applied(Registry, null), Applied(Lots, null)], Release(Registry));
        Assert.Equal([true, false], plan.Backfills.Select(b => b.VerifiedAgainstRelease));
    }

    [Fact]
    public void Release_manifest_with_a_malformed_line_is_refused_with_its_line_number()
    {
        var error = Assert.Throws<FormatException>(() => SchemaRelease.Parse("0.14", "# header\nnot-a-checksum  0001_registry\n"));
        Assert.Contains("line 2", error.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Release 0.14's scripts are still in this binary with the text it shipped: an edit to a released script fails
    /// here, before any database refuses it.
    /// </summary>
    [Fact]
    public void Every_script_of_release_0_14_is_embedded_with_the_text_it_shipped()
    {
        var release = SchemaRelease.Load(SchemaMigrator.ChecksumBaselineRelease);
        var embedded = SchemaMigrator.LoadMigrations(
        [
            typeof(SchemaMigrator).Assembly, typeof(global::HohhotCluster.Telemetry.Traceability.ChainStore).Assembly,
            typeof(global::HohhotCluster.Telemetry.Audit.AuditServiceCollectionExtensions).Assembly, typeof(global::HohhotCluster.Telemetry.Identity.IdentityStore).Assembly,
        ]).ToDictionary(m => m.Name);
        Assert.Equal(24, release.Checksums.Count);
        foreach (var (name, checksum) in release.Checksums)
        {
            Assert.True(embedded.TryGetValue(name, out var script), $"release 0.14's {name} is not embedded any more");
            Assert.True(checksum == script.Checksum, $"{name}: release 0.14 shipped {checksum}, this binary has {script.Checksum}");
        }
    }
}
