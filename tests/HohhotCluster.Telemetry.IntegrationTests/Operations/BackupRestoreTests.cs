using System.Text.Json;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using Npgsql;
using Xunit.Abstractions;

namespace HohhotCluster.Telemetry.IntegrationTests.Operations;

/// <summary>
/// deploy/backup.sh against real servers: a platform populated with a simulated day over MQTT is backed up while it
/// runs, restored into a second, fresh server instance (its own ports and data folder, started by the scripts), and a
/// platform started on the restored databases answers what the first answered: throughput, a trace back, pass rates
/// and InfluxDB's point counts, and the simulator's ledger verifies against it.
/// </summary>
public sealed class BackupRestoreTests(ITestOutputHelper log) : IAsyncLifetime
{
    /// <summary>The second instance's ports: 19520-19523, inside engineer E's block (195xx).</summary>
    private const int SecondInstanceFirstPort = 19520;

    private readonly string _work = Path.Combine(Path.GetTempPath(), "hohhot-backup-" + Guid.NewGuid().ToString("N")[..8]);

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_work);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_work, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Platform_restored_into_a_second_instance_answers_the_same_throughput_trace_audits_and_point_counts()
    {
        const string seed = "4250";
        var day = ThroughputProbe.ChinaDay(2);
        var ledger = Path.Combine(_work, "ledger.jsonl");
        PlatformAnswers before;
        string folder;
        string operatorPassword;
        await using (var source = await PlatformProcess.StartAsync())
        {
            await Simulator.RegisterFleetAsync("demo", seed, source, _work);
            await Simulator.RunDemoDayAsync(source, seed, day, ledger, Path.Combine(_work, "spool"));
            var (verified, verifyOutput) = await Simulator.VerifyAsync(ledger, source, profile: "demo");
            Assert.True(verified == 0, "the source platform does not verify before the backup:\n" + verifyOutput);
            before = await PlatformAnswers.ReadAsync(source, day, ledger);
            Assert.True(before.Throughput.MilkingCount > 0 && before.Trace.Lots.Count > 0 && before.PassRates.Overall.Judged > 0 && before.PointCounts.Count > 3,
                $"the simulated day left too little to compare: {before}");

            // Online: the platform keeps running while both stores are backed up.
            var output = await ChildProcess.RequireDeployScriptAsync("backup.sh", ["backup", "--database", source.InfluxDatabase, "--to", _work], TestServerInstance());
            folder = BackupFolder(output);
            log.WriteLine(output);
            operatorPassword = source.OperatorPassword;
        }

        using (var manifest = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(folder, "manifest.json"))))
        {
            var schema = manifest.RootElement.GetProperty("schema");
            Assert.True(schema.GetProperty("applied_migrations").GetInt32() > 20, manifest.RootElement.ToString());
            Assert.True(manifest.RootElement.GetProperty("postgres").GetProperty("file").GetProperty("bytes").GetInt64() > 0);
            Assert.NotEmpty(manifest.RootElement.GetProperty("influxdb").GetProperty("files").EnumerateArray());
        }

        // A fresh instance: backup.sh restore starts its PostgreSQL and InfluxDB through servers.sh (initdb included).
        await using var second = new ServerInstance("restore-" + Guid.NewGuid().ToString("N")[..8], SecondInstanceFirstPort);
        log.WriteLine(await second.RunAsync("backup.sh", "restore", folder));
        await using var restored = await PlatformProcess.StartAsync(stores: await second.StoresAsync(), operatorPassword: operatorPassword);

        var after = await PlatformAnswers.ReadAsync(restored, day, ledger);
        before.AssertAnsweredAgainBy(after);
        var (exitCode, verifyRestored) = await Simulator.VerifyAsync(ledger, restored, profile: "demo");
        Assert.True(exitCode == 0, "the ledger does not verify against the restored platform:\n" + verifyRestored + "\n" + restored.LogTail());
    }

    [Fact]
    public async Task Restore_refuses_a_database_in_use_or_holding_data_unless_forced_and_a_damaged_backup_always()
    {
        var name = TestServers.UniqueName("bk");
        var (connection, _) = await TestServers.CreateDatabasesAsync(name);
        await using (var dataSource = NpgsqlDataSource.Create(connection))
        await using (var create = dataSource.CreateCommand("create table kept (v int); insert into kept values (1), (2)"))
        {
            await create.ExecuteNonQueryAsync();
        }

        var instance = TestServerInstance();
        var folder = BackupFolder(await ChildProcess.RequireDeployScriptAsync("backup.sh", ["backup", "--database", name, "--to", _work], instance));

        // The database still holds its table: refused, and left as it was.
        var (exitCode, output) = await RunBackupScriptAsync(instance, "restore", folder, "--database", name);
        Assert.True(exitCode != 0 && output.Contains("already holds 1 table(s)", StringComparison.Ordinal), output);

        // A client connected to it (a platform running on it): refused, even once its data is gone.
        await using (var client = new NpgsqlConnection(connection))
        {
            await client.OpenAsync();
            await using (var drop = new NpgsqlCommand("drop table kept", client))
            {
                await drop.ExecuteNonQueryAsync();
            }

            (exitCode, output) = await RunBackupScriptAsync(instance, "restore", folder, "--database", name);
            Assert.True(exitCode != 0 && output.Contains("client(s) are connected", StringComparison.Ordinal), output);

            // Told to: the client is disconnected and the backup's rows are back.
            (exitCode, output) = await RunBackupScriptAsync(instance, "restore", folder, "--database", name, "--force");
            Assert.True(exitCode == 0, output);
        }

        NpgsqlConnection.ClearAllPools();
        await using (var dataSource = NpgsqlDataSource.Create(connection))
        await using (var count = dataSource.CreateCommand("select count(*) from kept"))
        {
            Assert.Equal(2L, (long)(await count.ExecuteScalarAsync())!);
        }

        // One flipped byte in the dump: refused before anything is touched, whatever --force says.
        var dump = Path.Combine(folder, "postgres.dump");
        var bytes = await File.ReadAllBytesAsync(dump);
        bytes[^1] ^= 0xff;
        await File.WriteAllBytesAsync(dump, bytes);
        (exitCode, output) = await RunBackupScriptAsync(instance, "restore", folder, "--database", name, "--force");
        Assert.True(exitCode != 0 && output.Contains("checksums do not match", StringComparison.Ordinal), output);
    }

    /// <summary>The folder backup.sh printed on its standard output (its log lines went to standard error).</summary>
    private static string BackupFolder(string output) =>
        output.Split('\n').Select(l => l.Trim()).Last(l => l.StartsWith('/') && Directory.Exists(l));

    private static Task<(int ExitCode, string Output)> RunBackupScriptAsync(IReadOnlyDictionary<string, string> instance, params string[] arguments) =>
        ChildProcess.RunAsync("bash", [Path.Combine(TestServers.RepoRoot, "deploy", "backup.sh"), .. arguments], instance);

    /// <summary>The test servers' instance (the variables deploy/test.sh exported), for the deploy scripts.</summary>
    private static Dictionary<string, string> TestServerInstance()
    {
        var instance = new Dictionary<string, string>();
        foreach (var variable in new[] { "HOHHOT_DATA_DIR", "HOHHOT_PG_PORT", "HOHHOT_MQTT_PORT", "HOHHOT_INFLUX_PORT", "HOHHOT_INFLUX_RPC_PORT", "HOHHOT_MQTT_INGEST_PASSWORD" })
        {
            instance[variable] = Environment.GetEnvironmentVariable(variable)
                ?? throw new InvalidOperationException($"{variable} is not set: run the integration tests with deploy/test.sh, or export what 'deploy/servers.sh env' prints.");
        }

        return instance;
    }
}
