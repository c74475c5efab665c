using Dapper;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.IntegrationTests.Infrastructure;
using HohhotCluster.Telemetry.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;

namespace HohhotCluster.Telemetry.IntegrationTests.Storage;

/// <summary>The reading digests on a real PostgreSQL: the first body of a key is kept, a resend is compared with it.</summary>
public sealed class ReadingDigestStoreTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Recent = DateTimeOffset.UtcNow.AddHours(-1);

    private NpgsqlDataSource _dataSource = null!;
    private ReadingDigestStore _store = null!;

    public async Task InitializeAsync()
    {
        var (connection, _) = await TestServers.CreateDatabasesAsync(TestServers.UniqueName("rd"));
        _dataSource = NpgsqlDataSource.Create(connection);
        await new SchemaMigrator(_dataSource, [new MigrationSource(typeof(SchemaMigrator).Assembly)], NullLogger<SchemaMigrator>.Instance).MigrateAsync();
        _store = new ReadingDigestStore(_dataSource, TimeProvider.System);
    }

    public async Task DisposeAsync() => await _dataSource.DisposeAsync();

    private static (ReadingKey Key, long Digest, DateTimeOffset EventTime) Reading(long seq, long digest, long boot = 7, DateTimeOffset? at = null) =>
        (new ReadingKey("D-1", boot, seq), digest, at ?? Recent);

    private async Task<long> RowCountAsync()
    {
        await using var connection = await _dataSource.OpenConnectionAsync();
        return await connection.ExecuteScalarAsync<long>("select count(*) from reading_digest");
    }

    [Fact]
    public async Task First_body_is_new_and_its_resend_is_the_same()
    {
        Assert.Equal([new DigestClaimResult(DigestClaim.New, 11), new DigestClaimResult(DigestClaim.New, 12)],
            await _store.ClaimAsync([Reading(1, 11), Reading(2, 12)], default));

        Assert.Equal([new DigestClaimResult(DigestClaim.Same, 12), new DigestClaimResult(DigestClaim.Same, 11)],
            await _store.ClaimAsync([Reading(2, 12), Reading(1, 11)], default));
        Assert.Equal(2, await RowCountAsync());
    }

    [Fact]
    public async Task Resend_with_another_body_is_a_conflict_with_the_stored_digest()
    {
        await _store.ClaimAsync([Reading(1, 11)], default);

        var results = await _store.ClaimAsync([Reading(3, 13), Reading(1, -99), Reading(1, 11, boot: 8)], default);

        Assert.Equal(
            [new DigestClaimResult(DigestClaim.New, 13), new DigestClaimResult(DigestClaim.Conflict, 11), new DigestClaimResult(DigestClaim.New, 11)],
            results);
    }

    [Fact]
    public async Task Key_repeated_in_one_list_is_decided_by_its_first_occurrence()
    {
        await _store.ClaimAsync([Reading(1, 11)], default);

        var results = await _store.ClaimAsync(
            [Reading(5, 50), Reading(1, 99), Reading(5, 50), Reading(5, 51), Reading(1, 11)], default);

        Assert.Equal(
            [
                new DigestClaimResult(DigestClaim.New, 50),
                new DigestClaimResult(DigestClaim.Conflict, 11),
                new DigestClaimResult(DigestClaim.Same, 50),
                new DigestClaimResult(DigestClaim.Conflict, 50),
                new DigestClaimResult(DigestClaim.Same, 11),
            ],
            results);
        Assert.Equal(2, await RowCountAsync());
    }

    [Fact]
    public async Task Concurrent_claims_of_the_same_keys_give_each_key_one_new()
    {
        var forward = Enumerable.Range(1, 2_000).Select(i => Reading(i, i)).ToArray();
        var backward = forward.Reverse().ToArray();

        var results = await Task.WhenAll(
            Task.Run(() => _store.ClaimAsync(forward, default)),
            Task.Run(() => _store.ClaimAsync(backward, default)));

        var bySeq = new Dictionary<long, List<DigestClaim>>();
        foreach (var (list, claims) in new[] { (forward, results[0]), (backward, results[1]) })
        {
            for (var i = 0; i < list.Length; i++)
            {
                Assert.Equal(list[i].Digest, claims[i].StoredDigest);
                bySeq.TryAdd(list[i].Key.Sequence, []);
                bySeq[list[i].Key.Sequence].Add(claims[i].Claim);
            }
        }

        Assert.All(bySeq.Values, claims => Assert.Equal([DigestClaim.New, DigestClaim.Same], claims.Order()));
        Assert.Equal(2_000, await RowCountAsync());
    }

    [Fact]
    public async Task Retention_deletes_by_event_time_and_a_deleted_key_is_new_again()
    {
        var now = DateTimeOffset.UtcNow;
        await _store.ClaimAsync([Reading(1, 11, at: now.AddDays(-9)), Reading(2, 12, at: now.AddDays(-7)), Reading(3, 13)], default);

        Assert.Equal(1, await _store.DeleteEventsBeforeAsync(now.AddDays(-8), default));
        Assert.Equal(2, await RowCountAsync());
        Assert.Equal(
            [new DigestClaimResult(DigestClaim.New, 99), new DigestClaimResult(DigestClaim.Conflict, 12)],
            await _store.ClaimAsync([Reading(1, 99), Reading(2, 99)], default));
    }

    [Fact]
    public async Task Retention_service_deletes_what_is_past_its_age_at_start()
    {
        var now = DateTimeOffset.UtcNow;
        await _store.ClaimAsync([Reading(1, 11, at: now.AddDays(-9)), Reading(2, 12, at: now.AddDays(-1))], default);

        using var retention = new ReadingDigestRetention(
            _store, new DeviceSequenceStore(_dataSource, TimeProvider.System), Options.Create(new ReadingDigestOptions()), TimeProvider.System, NullLogger<ReadingDigestRetention>.Instance);
        await retention.StartAsync(default);
        try
        {
            Assert.Equal(1, await Eventually.WaitAsync(RowCountAsync, count => count == 1, TimeSpan.FromSeconds(20)));
        }
        finally
        {
            await retention.StopAsync(default);
        }

        Assert.Equal([new DigestClaimResult(DigestClaim.Same, 12)], await _store.ClaimAsync([Reading(2, 12)], default));
    }
}
