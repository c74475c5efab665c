using Dapper;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Storage;
using Npgsql;
using Xunit.Abstractions;

namespace HohhotCluster.Telemetry.IntegrationTests.Operations;

/// <summary>
/// An upgrade from the previous release: release 0.14 is the host built from commit 934750d (deploy/release-build.sh,
/// from this repository's history), whose migrator kept no checksums. It creates its schema and is populated with a
/// simulated day over MQTT; this binary then starts on the same databases, records the checksums of 0.14's scripts
/// (checked against SchemaReleases/0.14.sha256), applies the scripts 0.14 did not have, and answers the same.
/// </summary>
public sealed class UpgradeTests(ITestOutputHelper log) : IAsyncLifetime
{
    private readonly string _work = Path.Combine(Path.GetTempPath(), "hohhot-upgrade-" + Guid.NewGuid().ToString("N")[..8]);

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
    public async Task Database_populated_by_release_0_14_is_upgraded_by_this_binary_and_answers_the_same()
    {
        var built = await ChildProcess.RequireDeployScriptAsync("release-build.sh", ["0.14"]);
        var releaseHost = built.Split('\n').Select(l => l.Trim()).Last(l => l.EndsWith("hohhot-platform.dll", StringComparison.Ordinal) && File.Exists(l));
        log.WriteLine("release 0.14's host: " + releaseHost);

        const string seed = "4260";
        var day = ThroughputProbe.ChinaDay(2);
        var ledger = Path.Combine(_work, "ledger.jsonl");
        PlatformAnswers before;
        PlatformStores stores;
        string operatorPassword;
        await using (var previous = await PlatformProcess.StartAsync(hostDll: releaseHost))
        {
            await Simulator.RegisterFleetAsync("demo", seed, previous, _work);
            await Simulator.RunDemoDayAsync(previous, seed, day, ledger, Path.Combine(_work, "spool"), "--kinds", Simulator.KindsWithoutAnimals);
            var (verified, output) = await Simulator.VerifyAsync(ledger, previous, profile: "demo");
            Assert.True(verified == 0, "release 0.14 does not verify its own day:\n" + output);
            before = await PlatformAnswers.ReadAsync(previous, day, ledger);
            stores = new PlatformStores(previous.PostgresConnection, previous.InfluxUrl, previous.InfluxDatabase);
            operatorPassword = previous.OperatorPassword;
        }

        await using var dataSource = NpgsqlDataSource.Create(stores.PostgresConnection);
        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            // What 0.14 left: its bookkeeping without checksums, and exactly its release's scripts.
            Assert.Equal(0L, await connection.ExecuteScalarAsync<long>(
                "select count(*) from information_schema.columns where table_name = 'schema_migration' and column_name = 'checksum'"));
            var names = (await connection.QueryAsync<string>("select name from schema_migration order by version")).ToHashSet();
            Assert.True(names.SetEquals(SchemaRelease.Load("0.14").Checksums.Keys), "release 0.14 applied: " + string.Join(", ", names));
        }

        await using var upgraded = await PlatformProcess.StartAsync(stores: stores, operatorPassword: operatorPassword);

        var after = await PlatformAnswers.ReadAsync(upgraded, day, ledger);
        // The milk split (issue 17, DailyThroughput fields 11-15) is new in this binary: 0.14 answered none of it. Milk
        // recorded before there were per-animal records holds no withdrawal, colostrum or separated part, so all of it
        // is saleable; everything 0.14 did answer must be equal.
        Assert.Equal(after.Throughput.MilkedT, after.Throughput.SaleableT, 6);
        Assert.Equal((0d, 0d, 0d), (after.Throughput.WithdrawalT, after.Throughput.ColostrumT, after.Throughput.SeparatedT));
        var split = after.Throughput.Clone();
        split.SaleableT = 0;
        split.UnregisteredT = 0;
        before.AssertAnsweredAgainBy(after with { Throughput = split });
        var (exitCode, verifyOutput) = await Simulator.VerifyAsync(ledger, upgraded, profile: "demo");
        Assert.True(exitCode == 0, "the ledger does not verify after the upgrade:\n" + verifyOutput + "\n" + upgraded.LogTail());

        await using (var connection = await dataSource.OpenConnectionAsync())
        {
            // Every script now has a checksum; 0.14's are the ones it shipped.
            var rows = (await connection.QueryAsync<(string Name, string? Checksum)>("select name, checksum from schema_migration order by version")).AsList();
            Assert.All(rows, r => Assert.False(r.Checksum is null, r.Name + " has no checksum after the upgrade"));
            foreach (var (name, checksum) in SchemaRelease.Load("0.14").Checksums)
            {
                Assert.Equal(checksum, rows.Single(r => r.Name == name).Checksum);
            }
        }

        // And the new day goes on: the upgraded platform takes readings (a second day over MQTT) and verifies them.
        var nextDay = ThroughputProbe.ChinaDay(1);
        var nextLedger = Path.Combine(_work, "next.jsonl");
        await Simulator.RunDemoDayAsync(upgraded, seed, nextDay, nextLedger, Path.Combine(_work, "spool-next"), "--kinds", Simulator.KindsWithoutAnimals);
        var (nextExit, nextOutput) = await Simulator.VerifyAsync(nextLedger, upgraded);
        Assert.True(nextExit == 0, "the upgraded platform does not verify a new day:\n" + nextOutput);
    }
}
