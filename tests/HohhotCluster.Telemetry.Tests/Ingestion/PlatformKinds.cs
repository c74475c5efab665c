using HohhotCluster.Telemetry.Ingestion;
using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Tests.Ingestion;

/// <summary>The platform's core kinds, as its own registration builds them (see <see cref="ParsingOnlyKinds"/>).</summary>
internal static class PlatformKinds
{
    public static TelemetryPayloadParser Parser(TimeProvider clock, IngestionOptions? options = null) => ParsingOnlyKinds.Parser(clock, options);
}

/// <summary>The parsed record of each core kind, for assertions (the pipeline never asks a record its type).</summary>
internal static class ParsedReadingRecords
{
    extension(ParsedReading reading)
    {
        public MilkingDraft? Milking => reading.Record.TryGet<MilkingDraft>(out var record) ? record : null;

        public BulkTankDraft? BulkTank => reading.Record.TryGet<BulkTankDraft>(out var record) ? record : null;

        public PlantIntakeDraft? PlantIntake => reading.Record.TryGet<PlantIntakeDraft>(out var record) ? record : null;
    }
}
