using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Grains;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Tests.Grains;

public sealed class AppliedKeyLogTests
{
    [Fact]
    public void Redelivered_key_is_recognised()
    {
        var log = new AppliedKeyLog();
        Assert.True(log.TryAdd(new ReadingKey("d1", 7, 1)));
        Assert.False(log.TryAdd(new ReadingKey("d1", 7, 1)));
    }

    [Fact]
    public void Same_sequence_on_another_boot_or_device_is_a_different_key()
    {
        var log = new AppliedKeyLog();
        Assert.True(log.TryAdd(new ReadingKey("d1", 7, 1)));
        Assert.True(log.TryAdd(new ReadingKey("d1", 8, 1)));
        Assert.True(log.TryAdd(new ReadingKey("d2", 7, 1)));
    }

    [Fact]
    public void In_order_stream_is_stored_as_one_range()
    {
        var log = new AppliedKeyLog();
        for (var seq = 1; seq <= 10_000; seq++)
        {
            Assert.True(log.TryAdd(new ReadingKey("d1", 1, seq)));
        }

        var epoch = Assert.Single(log.Devices["d1"]);
        Assert.Equal(new SequenceRange(1, 10_000), Assert.Single(epoch.Ranges));
        Assert.Equal(0, log.CountGaps());
    }

    [Fact]
    public void Out_of_order_keys_fill_holes_and_merge_ranges()
    {
        var log = new AppliedKeyLog();
        foreach (var seq in new long[] { 5, 1, 3, 2, 7 })
        {
            Assert.True(log.TryAdd(new ReadingKey("d1", 1, seq)));
        }

        Assert.Equal(2, log.CountGaps()); // 4 and 6 missing
        Assert.False(log.TryAdd(new ReadingKey("d1", 1, 3)));
        Assert.True(log.TryAdd(new ReadingKey("d1", 1, 4)));
        Assert.True(log.TryAdd(new ReadingKey("d1", 1, 6)));
        Assert.Equal(new SequenceRange(1, 7), Assert.Single(log.Devices["d1"][0].Ranges));
    }

    [Fact]
    public void Log_survives_a_json_round_trip_through_grain_storage_format()
    {
        var state = new OwnedTotalsState { CountyId = "150121", PastureId = "P1" };
        state.Applied.TryAdd(new ReadingKey("d1", 1, 1));
        state.Applied.TryAdd(new ReadingKey("d1", 1, 3));
        state.Days[new DateOnly(2026, 11, 29)] = new DailyTotals(1, 2, 3, 4, 5, 6);

        var json = JsonSerializer.Serialize(state, PostgresGrainStorage.JsonOptions);
        var back = JsonSerializer.Deserialize<OwnedTotalsState>(json, PostgresGrainStorage.JsonOptions)!;

        Assert.Contains("\"countyId\":\"150121\"", json, StringComparison.Ordinal);
        Assert.Contains("\"2026-11-29\"", json, StringComparison.Ordinal);
        Assert.Equal(new DailyTotals(1, 2, 3, 4, 5, 6), back.Days[new DateOnly(2026, 11, 29)]);
        Assert.False(back.Applied.TryAdd(new ReadingKey("d1", 1, 3)));
        Assert.True(back.Applied.TryAdd(new ReadingKey("d1", 1, 2)));
    }

    [Fact]
    public void Beyond_the_hole_limit_the_oldest_hole_is_closed_and_counted()
    {
        var log = new AppliedKeyLog();
        // Every other sequence number: one hole per key.
        for (long seq = 1; seq <= (AppliedKeyLog.RangesPerEpoch + 2) * 2; seq += 2)
        {
            log.TryAdd(new ReadingKey("d1", 1, seq));
        }

        Assert.Equal(2, log.ClosedHoles);
        Assert.Equal(AppliedKeyLog.RangesPerEpoch, log.Devices["d1"][0].Ranges.Count);
        Assert.False(log.TryAdd(new ReadingKey("d1", 1, 2)));  // inside a closed hole: taken as applied
        Assert.True(log.TryAdd(new ReadingKey("d1", 1, 100))); // an open hole still accepts its key
    }
}
