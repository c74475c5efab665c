using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Grains;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Tests.Grains;

public sealed class AppliedKeyLogTests
{
    private const AppliedKeyStatus NotApplied = AppliedKeyStatus.NotApplied;
    private const AppliedKeyStatus Applied = AppliedKeyStatus.Applied;
    private const AppliedKeyStatus Unknown = AppliedKeyStatus.Unknown;

    private static void ApplyEpochs(AppliedKeyLog log, string device, IEnumerable<long> epochs, long sequences = 3)
    {
        foreach (var epoch in epochs)
        {
            for (long seq = 1; seq <= sequences; seq++)
            {
                Assert.Equal(NotApplied, log.TryApply(new ReadingKey(device, epoch, seq)));
            }
        }
    }

    [Fact]
    public void Redelivered_key_is_recognised()
    {
        var log = new AppliedKeyLog();
        Assert.Equal(NotApplied, log.TryApply(new ReadingKey("d1", 7, 1)));
        Assert.Equal(Applied, log.TryApply(new ReadingKey("d1", 7, 1)));
        Assert.Equal(Applied, log.Lookup(new ReadingKey("d1", 7, 1)));
        Assert.Equal(NotApplied, log.Lookup(new ReadingKey("d1", 7, 2)));
    }

    [Fact]
    public void Same_sequence_on_another_boot_or_device_is_a_different_key()
    {
        var log = new AppliedKeyLog();
        Assert.Equal(NotApplied, log.TryApply(new ReadingKey("d1", 7, 1)));
        Assert.Equal(NotApplied, log.TryApply(new ReadingKey("d1", 8, 1)));
        Assert.Equal(NotApplied, log.TryApply(new ReadingKey("d2", 7, 1)));
    }

    [Fact]
    public void In_order_stream_is_stored_as_one_range()
    {
        var log = new AppliedKeyLog();
        for (var seq = 1; seq <= 10_000; seq++)
        {
            Assert.Equal(NotApplied, log.TryApply(new ReadingKey("d1", 1, seq)));
        }

        var epoch = Assert.Single(log.Devices["d1"]);
        Assert.Equal(new SequenceRange(1, 10_000), Assert.Single(epoch.Ranges));
        Assert.Null(epoch.Unknown);
        Assert.Equal(0, log.CountGaps());
    }

    [Fact]
    public void Out_of_order_keys_fill_holes_and_merge_ranges()
    {
        var log = new AppliedKeyLog();
        foreach (var seq in new long[] { 5, 1, 3, 2, 7 })
        {
            Assert.Equal(NotApplied, log.TryApply(new ReadingKey("d1", 1, seq)));
        }

        Assert.Equal(2, log.CountGaps()); // 4 and 6 missing
        Assert.Equal(Applied, log.TryApply(new ReadingKey("d1", 1, 3)));
        Assert.Equal(NotApplied, log.TryApply(new ReadingKey("d1", 1, 4)));
        Assert.Equal(NotApplied, log.TryApply(new ReadingKey("d1", 1, 6)));
        Assert.Equal(new SequenceRange(1, 7), Assert.Single(log.Devices["d1"][0].Ranges));
    }

    [Fact]
    public void A_boot_counter_that_resets_keeps_every_epochs_keys()
    {
        // The old log kept four epochs sorted by value: epoch 1, arriving fifth, was evicted on arrival and every
        // reading of it was then taken as a duplicate of an "older boot".
        var log = new AppliedKeyLog();
        long[] epochs = [100, 5, 3, 2, 1];
        ApplyEpochs(log, "d1", epochs);

        Assert.Equal(epochs, log.Devices["d1"].Select(e => e.Epoch));
        foreach (var epoch in epochs)
        {
            Assert.Equal(Applied, log.TryApply(new ReadingKey("d1", epoch, 2)));
            Assert.Equal(NotApplied, log.TryApply(new ReadingKey("d1", epoch, 4)));
        }
    }

    [Fact]
    public void Eviction_follows_arrival_not_value()
    {
        // Epochs 1..16, then 0: the first to arrive (1) goes, not the lowest (0, which a numeric sort would drop
        // at once, answering every reading of the current boot "applied").
        var log = new AppliedKeyLog();
        ApplyEpochs(log, "d1", Enumerable.Range(1, AppliedKeyLog.EpochsPerDevice).Select(e => (long)e));
        ApplyEpochs(log, "d1", [0]);

        Assert.Equal(AppliedKeyLog.EpochsPerDevice, log.Devices["d1"].Count);
        Assert.Equal(Applied, log.Lookup(new ReadingKey("d1", 0, 1)));
        Assert.Equal(NotApplied, log.TryApply(new ReadingKey("d1", 0, 4)));
        Assert.Equal(Unknown, log.Lookup(new ReadingKey("d1", 1, 1)));
        Assert.Equal(Applied, log.Lookup(new ReadingKey("d1", 2, 1)));
    }

    [Fact]
    public void A_seventeenth_epoch_evicts_the_first_arrived_and_a_late_reading_of_it_is_unknown()
    {
        var log = new AppliedKeyLog();
        var epochs = Enumerable.Range(0, AppliedKeyLog.EpochsPerDevice + 1).Select(e => 1_764_345_600L + (e * 3_600)).ToArray();
        ApplyEpochs(log, "d1", epochs);

        Assert.Equal(epochs[1..], log.Devices["d1"].Select(e => e.Epoch));
        Assert.Equal([epochs[0]], log.EvictedEpochs["d1"]);
        foreach (var seq in new long[] { 2, 4 }) // applied or not, the log cannot tell any more
        {
            var late = new ReadingKey("d1", epochs[0], seq);
            Assert.Equal(Unknown, log.Lookup(late));
            Assert.Equal(Unknown, log.TryApply(late));
        }

        Assert.Equal(AppliedKeyLog.EpochsPerDevice, log.Devices["d1"].Count); // the refused key added no epoch
        Assert.Equal(NotApplied, log.TryApply(new ReadingKey("d2", epochs[0], 2))); // another device's epoch
    }

    [Fact]
    public void Evicted_epochs_are_remembered_up_to_the_bound_then_the_oldest_is_forgotten()
    {
        var log = new AppliedKeyLog();
        var total = AppliedKeyLog.EpochsPerDevice + AppliedKeyLog.EvictedEpochsPerDevice + 1;
        ApplyEpochs(log, "d1", Enumerable.Range(1, total).Select(e => (long)e), sequences: 1);

        Assert.Equal(AppliedKeyLog.EvictedEpochsPerDevice, log.EvictedEpochs["d1"].Count);
        Assert.Equal(1, log.EvictedEpochsForgotten);
        Assert.Equal(Unknown, log.Lookup(new ReadingKey("d1", 2, 1)));
        Assert.Equal(NotApplied, log.Lookup(new ReadingKey("d1", 1, 1))); // forgotten: taken as new, as documented
    }

    [Fact]
    public void A_late_reading_into_a_closed_hole_is_unknown_while_a_reading_beyond_it_still_applies()
    {
        var log = new AppliedKeyLog();
        // Every other sequence number: one hole per key, two more holes than the log keeps.
        for (long seq = 1; seq <= (AppliedKeyLog.RangesPerEpoch + 2) * 2; seq += 2)
        {
            Assert.Equal(NotApplied, log.TryApply(new ReadingKey("d1", 1, seq)));
        }

        var epoch = log.Devices["d1"][0];
        Assert.Equal(2, log.ClosedHoles);
        Assert.Equal(AppliedKeyLog.RangesPerEpoch, epoch.Ranges.Count);
        Assert.Equal([new SequenceRange(2, 2), new SequenceRange(4, 4)], epoch.Unknown!.ToArray());

        Assert.Equal(Unknown, log.TryApply(new ReadingKey("d1", 1, 2)));  // inside a closed hole: neither counted nor a duplicate
        Assert.Equal(Unknown, log.TryApply(new ReadingKey("d1", 1, 4)));
        Assert.Equal(Applied, log.TryApply(new ReadingKey("d1", 1, 3)));  // applied between the closed holes
        Assert.Equal(NotApplied, log.TryApply(new ReadingKey("d1", 1, 100))); // an open hole still accepts its key
        Assert.Equal(NotApplied, log.TryApply(new ReadingKey("d1", 1, 1_000_000))); // beyond every range
    }

    [Fact]
    public void Closed_holes_and_evicted_epochs_stay_in_the_gap_count()
    {
        var log = new AppliedKeyLog();
        for (long seq = 1; seq <= (AppliedKeyLog.RangesPerEpoch + 1) * 2; seq += 2)
        {
            log.TryApply(new ReadingKey("d1", 1, seq));
        }

        var holes = AppliedKeyLog.RangesPerEpoch; // one hole between each pair of the RangesPerEpoch + 1 numbers
        Assert.Equal(holes, log.CountGaps());
        Assert.Equal(1, log.ClosedGapReadings);

        // The epoch with its open holes is evicted by 16 later boots (each without holes): the count keeps them.
        ApplyEpochs(log, "d1", Enumerable.Range(2, AppliedKeyLog.EpochsPerDevice).Select(e => (long)e));
        Assert.Equal(holes, log.ClosedGapReadings);
        Assert.Equal(holes, log.CountGaps());
    }

    [Fact]
    public void Unknown_regions_beyond_their_bound_merge_and_only_widen_what_is_unknown()
    {
        var epoch = new EpochLog();
        // Four-number steps: each closed hole is three numbers; close more holes than the unknown regions keep.
        var closed = 0;
        for (long seq = 1; closed < AppliedKeyLog.UnknownRangesPerEpoch + 1; seq += 4)
        {
            closed += epoch.Add(seq, out _) ? 1 : 0;
        }

        Assert.Equal(AppliedKeyLog.UnknownRangesPerEpoch, epoch.Unknown!.Count);
        Assert.Equal(new SequenceRange(2, 8), epoch.Unknown[0]); // the two oldest merged over the applied 5
        Assert.Equal(AppliedKeyStatus.Unknown, epoch.Lookup(5));
        Assert.Equal(AppliedKeyStatus.Applied, epoch.Lookup(9));
    }

    [Fact]
    public void Log_survives_a_json_round_trip_through_grain_storage_format()
    {
        var state = new OwnedTotalsState { CountyId = "150121", PastureId = "P1" };
        state.Applied.TryApply(new ReadingKey("d1", 1, 1));
        state.Applied.TryApply(new ReadingKey("d1", 1, 3));
        state.Days[new DateOnly(2026, 11, 29)] = new DailyTotals(1, 2, 3, 4, 5, 6);

        var json = JsonSerializer.Serialize(state, PostgresGrainStorage.JsonOptions);
        var back = JsonSerializer.Deserialize<OwnedTotalsState>(json, PostgresGrainStorage.JsonOptions)!;

        Assert.Contains("\"countyId\":\"150121\"", json, StringComparison.Ordinal);
        Assert.Contains("\"2026-11-29\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("\"unknown\"", json, StringComparison.Ordinal); // absent until a hole is closed
        Assert.Equal(new DailyTotals(1, 2, 3, 4, 5, 6), back.Days[new DateOnly(2026, 11, 29)]);
        Assert.Equal(Applied, back.Applied.TryApply(new ReadingKey("d1", 1, 3)));
        Assert.Equal(NotApplied, back.Applied.TryApply(new ReadingKey("d1", 1, 2)));
    }

    [Fact]
    public void Evicted_epochs_closed_holes_and_arrival_order_survive_a_json_round_trip()
    {
        var log = new AppliedKeyLog();
        for (long seq = 1; seq <= (AppliedKeyLog.RangesPerEpoch + 1) * 2; seq += 2)
        {
            log.TryApply(new ReadingKey("d1", 50, seq));
        }

        ApplyEpochs(log, "d1", [.. Enumerable.Range(1, AppliedKeyLog.EpochsPerDevice).Select(e => 100L - e)]);

        var back = JsonSerializer.Deserialize<AppliedKeyLog>(JsonSerializer.Serialize(log, PostgresGrainStorage.JsonOptions), PostgresGrainStorage.JsonOptions)!;

        Assert.Equal(log.Devices["d1"].Select(e => e.Epoch), back.Devices["d1"].Select(e => e.Epoch));
        Assert.Equal(Unknown, back.Lookup(new ReadingKey("d1", 50, 2))); // evicted
        Assert.Equal((log.ClosedHoles, log.ClosedGapReadings, log.CountGaps()), (back.ClosedHoles, back.ClosedGapReadings, back.CountGaps()));
        ApplyEpochs(back, "d1", [0]); // arrival order still rules: 99 (the first kept) goes, not 0
        Assert.Equal(Unknown, back.Lookup(new ReadingKey("d1", 99, 1)));
    }

    [Fact]
    public void A_closed_hole_survives_a_json_round_trip()
    {
        var log = new AppliedKeyLog();
        for (long seq = 1; seq <= (AppliedKeyLog.RangesPerEpoch + 1) * 2; seq += 2)
        {
            log.TryApply(new ReadingKey("d1", 1, seq));
        }

        var json = JsonSerializer.Serialize(log, PostgresGrainStorage.JsonOptions);
        var back = JsonSerializer.Deserialize<AppliedKeyLog>(json, PostgresGrainStorage.JsonOptions)!;

        Assert.Contains("\"unknown\":\"2\"", json, StringComparison.Ordinal);
        Assert.Equal(Unknown, back.Lookup(new ReadingKey("d1", 1, 2)));
        Assert.Equal(NotApplied, back.Lookup(new ReadingKey("d1", 1, 4)));
    }

    [Fact]
    public void A_state_stored_before_arrival_order_loads_with_its_epochs_in_stored_order()
    {
        // The earlier form: four epochs sorted by value, no evicted epochs, no unknown regions.
        const string stored = """
            {"countyId":"150121","pastureId":"P1","days":{},"duplicatesIgnored":3,
             "applied":{"closedHoles":0,"devices":{"d1":[{"epoch":2,"ranges":"1:9"},{"epoch":3,"ranges":"1:4"},{"epoch":5,"ranges":"1"},{"epoch":100,"ranges":"1:2,2"}]}}}
            """;
        var state = JsonSerializer.Deserialize<OwnedTotalsState>(stored, PostgresGrainStorage.JsonOptions)!;

        Assert.Equal([2L, 3, 5, 100], state.Applied.Devices["d1"].Select(e => e.Epoch));
        Assert.Empty(state.Applied.EvictedEpochs);
        Assert.Equal(1, state.Applied.CountGaps()); // 100/4
        Assert.Equal(Applied, state.Applied.Lookup(new ReadingKey("d1", 2, 10)));
        Assert.Equal(NotApplied, state.Applied.Lookup(new ReadingKey("d1", 100, 4)));
        Assert.Equal(NotApplied, state.Applied.TryApply(new ReadingKey("d1", 1, 1))); // an older boot is no longer "applied"
        Assert.Equal(0, state.UnverifiableRefused);
    }
}
