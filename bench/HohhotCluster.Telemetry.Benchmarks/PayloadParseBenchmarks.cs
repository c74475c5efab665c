using BenchmarkDotNet.Attributes;
using HohhotCluster.Telemetry.Ingestion;

namespace HohhotCluster.Telemetry.Benchmarks;

/// <summary>Topic + UTF-8 + JSON (source-generated) + every field rule of docs/mqtt-contract.md, per message.</summary>
[MemoryDiagnoser]
public class PayloadParseBenchmarks
{
    private readonly TelemetryPayloadParser _parser = ParsingOnlyKinds.Parser(new FixedClock());

    [Benchmark(Baseline = true, Description = "milking (ICAR visit, 640 B)")]
    public ParsedReading? Milking() => Parse(Samples.MilkingTopic, Samples.Milking);

    [Benchmark(Description = "bulk_tank collection (260 B)")]
    public ParsedReading? Collection() => Parse(Samples.CollectionTopic, Samples.Collection);

    [Benchmark(Description = "plant_intake (210 B)")]
    public ParsedReading? Intake() => Parse(Samples.IntakeTopic, Samples.Intake);

    private ParsedReading? Parse(string topic, byte[] payload) =>
        _parser.TryParse(topic, payload, out var reading, out var rejection) ? reading
        : throw new InvalidOperationException($"{rejection.Reason}: {rejection.Detail}");
}
