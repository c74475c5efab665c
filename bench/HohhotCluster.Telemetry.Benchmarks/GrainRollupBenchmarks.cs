using System.Text.Json;
using BenchmarkDotNet.Attributes;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Grains;
using HohhotCluster.Telemetry.Storage;

namespace HohhotCluster.Telemetry.Benchmarks;

/// <summary>
/// What a herd grain does per ingestion batch, without the Orleans runtime: for each milking, the applied-key check
/// and the day's totals (the loop of <c>OwnedTotalsGrain.ApplyAsync</c>), then the JSON of the whole state that
/// <see cref="PostgresGrainStorage"/> writes as JSONB on every batch. A city-2023 herd has about 60 milk meters.
/// </summary>
[MemoryDiagnoser]
public class GrainRollupBenchmarks
{
    private MilkingReading[] _batch = [];
    private OwnedTotalsState _state = new();
    private long _nextSeq;

    /// <summary>Milkings of one herd in one ingestion batch (2,000 messages spread over about 50 herds).</summary>
    [Params(40, 2000)]
    public int BatchSize { get; set; }

    [Params(60)]
    public int Devices { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _state = new OwnedTotalsState { CountyId = "150121", PastureId = "P150121005" };
        // A week of history: 7 days of totals and every device with one contiguous range per epoch.
        var day = new DateOnly(2026, 11, 22);
        for (var d = 0; d < 7; d++)
        {
            _state.Days[day.AddDays(d)] = new DailyTotals(0, 0, 0, 0, 1234.5 * d, 180 * d);
        }

        _nextSeq = 1;
        _batch = new MilkingReading[BatchSize];
        Refill();
        // Warm the log so each device is known.
        Apply();
    }

    [IterationSetup]
    public void Refill()
    {
        var at = new DateTimeOffset(2026, 11, 28, 4, 30, 0, TimeSpan.FromHours(8));
        for (var i = 0; i < _batch.Length; i++)
        {
            _batch[i] = new MilkingReading
            {
                Key = new ReadingKey($"P150121005-MM{i % Devices}", 1795795200, _nextSeq + (i / Devices)),
                EventTime = at,
                CountyId = "150121",
                PastureId = "P150121005",
                HerdId = "P150121005-H5",
                AnimalId = "215012100013787",
                YieldKg = 9.2,
            };
        }

        _nextSeq += (_batch.Length / Devices) + 1;
    }

    [Benchmark(Description = "apply batch (key log + daily totals)")]
    public int Apply()
    {
        var touched = new HashSet<DateOnly>();
        var applied = 0;
        foreach (var reading in _batch)
        {
            var day = ChinaTime.LocalDate(reading.EventTime);
            touched.Add(day);
            if (_state.Apply(reading.Key, day, new DailyTotals(0, 0, 0, 0, reading.YieldKg, 1)) == ApplyOutcome.Applied)
            {
                applied++;
            }
        }

        return applied;
    }

    [Benchmark(Description = "serialize state (PostgresGrainStorage JSON)")]
    public int SerializeState() => JsonSerializer.SerializeToUtf8Bytes(_state, PostgresGrainStorage.JsonOptions).Length;

    [Benchmark(Description = "deserialize state (activation)")]
    public OwnedTotalsState? DeserializeState() => JsonSerializer.Deserialize<OwnedTotalsState>(_json, PostgresGrainStorage.JsonOptions);

    private byte[] _json = [];

    [GlobalSetup(Target = nameof(DeserializeState))]
    public void SetupDeserialize()
    {
        Setup();
        _json = JsonSerializer.SerializeToUtf8Bytes(_state, PostgresGrainStorage.JsonOptions);
    }
}
