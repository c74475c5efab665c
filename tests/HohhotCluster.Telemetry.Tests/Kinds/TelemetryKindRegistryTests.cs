using HohhotCluster.Telemetry.Ingestion;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Tests.Ingestion.Pipeline;

namespace HohhotCluster.Telemetry.Tests.Kinds;

public sealed class TelemetryKindRegistryTests
{
    [Fact]
    public void Two_definitions_of_one_kind_for_one_owner_kind_are_refused_at_start()
    {
        var failure = Assert.Throws<InvalidOperationException>(() => new TelemetryKindRegistry([new NoteKind(), new NoteKind()]));
        Assert.Contains("'note' for pasture is defined twice", failure.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("batch")]
    [InlineData("Note")]
    [InlineData("no/te")]
    [InlineData("")]
    public void A_reserved_name_or_one_that_is_no_plain_topic_segment_is_refused_at_start(string name)
    {
        Assert.Throws<InvalidOperationException>(() => new TelemetryKindRegistry([new NamedKind(name)]));
    }

    [Fact]
    public void The_core_kinds_are_registered_like_any_other_with_their_owners_and_cadences()
    {
        var registry = ParsingOnlyKinds.Registry();

        Assert.Equal(["bulk_tank", "milking", "plant_intake"], registry.Names);
        Assert.Equal([OwnerKind.Plant], registry.OwnersOf("plant_intake"));
        Assert.True(registry.TryFind("milking", OwnerKind.Pasture, out var milking));
        Assert.Equal(typeof(MilkingDraft), milking.RecordType);
        Assert.False(registry.TryFind("milking", OwnerKind.Plant, out _));
        Assert.Equal(TimeSpan.FromMinutes(30), registry.CadenceOf("bulk_tank", OwnerKind.Pasture)!.Value.SilentAfter);
        Assert.Null(registry.CadenceOf("tmr", OwnerKind.Pasture));
    }

    [Fact]
    public void A_kind_name_the_registry_holds_for_another_owner_kind_is_unknown_under_this_one()
    {
        var registry = new TelemetryKindRegistry([new NoteKind()]);

        Assert.True(TelemetryTopic.TryParse("hohhot/v1/pasture/P1/D1/note", registry, out var topic, out _, out _));
        Assert.Equal(("note", OwnerKind.Pasture, "D1"), (topic.Kind, topic.OwnerKind, topic.DeviceId));
        Assert.False(TelemetryTopic.TryParse("hohhot/v1/plant/PL1/D1/note", registry, out _, out var reason, out var detail));
        Assert.Equal((QuarantineReasons.UnknownKind, "kind 'note' is not published under a plant"), (reason, detail));
        Assert.False(TelemetryTopic.TryParse("hohhot/v1/pasture/P1/D1/tmr", registry, out _, out reason, out detail));
        Assert.Equal((QuarantineReasons.UnknownKind, "unknown kind 'tmr'"), (reason, detail));
    }

    [Fact]
    public void A_cadence_is_a_positive_time()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ReportingCadence.SilentAfterOf(TimeSpan.Zero));
        Assert.Null(ReportingCadence.EventDriven.SilentAfter);
    }

    private sealed class NamedKind(string name) : TelemetryKind<NoteRecord>
    {
        private readonly NoteKind _note = new();

        public override string Name => name;

        public override OwnerKind Owner => OwnerKind.Pasture;

        public override ReportingCadence Cadence => ReportingCadence.EventDriven;

        public override bool TryParse(System.Text.Json.JsonElement body, HohhotCluster.Telemetry.Contracts.ReadingKey key, DateTimeOffset eventTime,
            [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out NoteRecord? record, out Rejection rejection) => _note.TryParse(body, key, eventTime, out record, out rejection);

        public override Task<HohhotCluster.Telemetry.Contracts.ApplyOutcome[]> ApplyAsync(IReadOnlyList<Accepted<NoteRecord>> records, CancellationToken cancellationToken) =>
            _note.ApplyAsync(records, cancellationToken);

        public override void WritePoints(HohhotCluster.Telemetry.TimeSeries.LineProtocolWriter writer, Accepted<NoteRecord> record) => _note.WritePoints(writer, record);
    }
}
