using System.Text;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Ingestion;
using HohhotCluster.Telemetry.Kinds;
using Microsoft.Extensions.Time.Testing;

namespace HohhotCluster.Telemetry.Tests.Ingestion;

public sealed class TelemetryPayloadParserTests
{
    private const string MilkingTopic = "hohhot/v1/pasture/P150121001/P150121001-MM01/milking";
    private const string LevelTopic = "hohhot/v1/pasture/P150121001/P150121001-BT1/bulk_tank";
    private const string IntakeTopic = "hohhot/v1/plant/PL-YILI-01/PL-YILI-01-WB1/plant_intake";

    private static readonly DateTimeOffset Now = new(2026, 11, 29, 10, 0, 0, ChinaTime.Offset);

    private readonly TelemetryPayloadParser _parser = PlatformKinds.Parser(new FakeTimeProvider(Now));

    [Fact]
    public void Contract_milking_example_parses_to_its_values()
    {
        var reading = Accept(MilkingTopic, ContractExamples.Milking);

        Assert.Equal(new ReadingKey("P150121001-MM01", 1764345600, 1042), reading.Key);
        Assert.Equal(new DateTimeOffset(2026, 11, 29, 5, 10, 0, ChinaTime.Offset), reading.EventTime);
        var milking = Assert.IsType<MilkingDraft>(reading.Milking);
        Assert.Equal("P150121001-H1", milking.HerdId);
        Assert.Equal("215012100000017", milking.AnimalId);
        Assert.Equal(12.4, milking.YieldKg);
        Assert.Equal(420, milking.DurationSeconds);
        Assert.Equal(5.1, milking.ConductivityMsPerCm);
        Assert.Equal(36.8, milking.MilkTemperatureC);
        Assert.Equal(3.9, milking.FatPercent);
        Assert.Equal(3.3, milking.ProteinPercent);
        Assert.Equal(120, milking.SomaticCellsThousandPerMl);
    }

    [Fact]
    public void Contract_bulk_tank_examples_parse_as_level_collection_and_filling()
    {
        var level = Accept(LevelTopic, ContractExamples.BulkTankLevel).BulkTank!;
        Assert.Equal(BulkTankEventKind.Level, level.Kind);
        Assert.Equal(12500.0, level.VolumeLitres);
        Assert.Equal(3.4, level.TemperatureC);

        var collection = Accept(LevelTopic, ContractExamples.BulkTankCollection).BulkTank!;
        Assert.Equal(BulkTankEventKind.Collection, collection.Kind);
        Assert.Equal("BTL-P150121001-T1-20261129-1", collection.LotId);
        Assert.Equal(12875.0, collection.CollectedKg);
        Assert.Equal("TL-20261129-0007", collection.TankerLoadId);

        // The milk line switched to the tank: no level, no lot.
        var filling = Accept(LevelTopic, ContractExamples.BulkTankFilling).BulkTank!;
        Assert.Equal((BulkTankEventKind.Filling, "T1", null, null), (filling.Kind, filling.TankId, filling.LotId, filling.VolumeLitres));
    }

    [Fact]
    public void Contract_plant_intake_example_parses()
    {
        var intake = Accept(IntakeTopic, ContractExamples.PlantIntake).PlantIntake!;
        Assert.Equal("TL-20261129-0007", intake.TankerLoadId);
        Assert.Equal(28450.0, intake.NetKg);
        Assert.Equal("蒙A12345", intake.TankerPlate);
    }

    [Theory]
    [InlineData("hohhot/v2/pasture/P1/D1/milking", QuarantineReasons.UnknownTopic)]
    [InlineData("hohhot/v1/farm/P1/D1/milking", QuarantineReasons.UnknownTopic)]
    [InlineData("hohhot/v1/pasture/P1/milking", QuarantineReasons.UnknownTopic)]
    [InlineData("hohhot/v1/pasture/P1/D1/milking/extra", QuarantineReasons.UnknownTopic)]
    [InlineData("hohhot/v1/pasture/P1/D1/teleport", QuarantineReasons.UnknownKind)]
    [InlineData("hohhot/v1/plant/PL1/D1/milking", QuarantineReasons.UnknownKind)]
    public void Topic_outside_the_scheme_is_refused_with_its_reason(string topic, string reason) =>
        AssertRejected(topic, "{}", reason);

    [Fact]
    public void Payload_over_the_size_limit_is_refused_before_parsing() =>
        AssertRejected(MilkingTopic, "{\"pad\":\"" + new string('x', 70_000) + "\"}", QuarantineReasons.PayloadTooLarge);

    [Fact]
    public void Invalid_utf8_is_refused()
    {
        var bytes = Encoding.UTF8.GetBytes(ContractExamples.PlantIntake);
        bytes[bytes.Length / 2] = 0xC3;
        bytes[(bytes.Length / 2) + 1] = 0x28;
        Assert.False(_parser.TryParse(IntakeTopic, bytes, out _, out var rejection));
        Assert.Equal(QuarantineReasons.InvalidUtf8, rejection.Reason);
    }

    [Fact]
    public void Truncated_json_is_malformed() =>
        AssertRejected(IntakeTopic, ContractExamples.PlantIntake[..40], QuarantineReasons.MalformedJson);

    [Fact]
    public void NaN_literal_is_malformed() =>
        AssertRejected(IntakeTopic, ContractExamples.PlantIntake.Replace("28450.0", "NaN", StringComparison.Ordinal), QuarantineReasons.MalformedJson);

    [Fact]
    public void Number_as_string_is_malformed() =>
        AssertRejected(IntakeTopic, ContractExamples.PlantIntake.Replace("28450.0", "\"28450.0\"", StringComparison.Ordinal), QuarantineReasons.MalformedJson);

    [Fact]
    public void Deeply_nested_json_is_refused_as_too_deep()
    {
        var deep = new string('[', 200) + new string(']', 200);
        var payload = ContractExamples.PlantIntake.Replace("\"siloId\": \"S3\"", "\"extra\": " + deep, StringComparison.Ordinal);
        AssertRejected(IntakeTopic, payload, QuarantineReasons.TooDeep);
    }

    [Fact]
    public void Json_array_instead_of_object_is_malformed() =>
        AssertRejected(IntakeTopic, "[1,2,3]", QuarantineReasons.MalformedJson);

    [Fact]
    public void Missing_sequence_number_is_named() =>
        AssertRejected(IntakeTopic, ContractExamples.PlantIntake.Replace("\"seq\": 9,", "", StringComparison.Ordinal), QuarantineReasons.MissingField, "seq");

    [Fact]
    public void Payload_device_differing_from_topic_device_is_refused() =>
        AssertRejected("hohhot/v1/plant/PL-YILI-01/OTHER-WB/plant_intake", ContractExamples.PlantIntake, QuarantineReasons.DeviceMismatch);

    [Fact]
    public void Event_time_without_offset_is_invalid() =>
        AssertRejected(IntakeTopic, ContractExamples.PlantIntake.Replace("2026-11-29T09:40:00+08:00", "2026-11-29T09:40:00", StringComparison.Ordinal),
            QuarantineReasons.InvalidField, "eventTime");

    [Fact]
    public void Event_time_far_ahead_of_the_platform_clock_is_clock_skew() =>
        AssertRejected(IntakeTopic, ContractExamples.PlantIntake.Replace("2026-11-29T09:40:00+08:00", "2027-11-29T09:40:00+08:00", StringComparison.Ordinal),
            QuarantineReasons.ClockSkew);

    [Fact]
    public void Event_time_a_few_minutes_ahead_is_accepted_as_ordinary_drift() =>
        Accept(IntakeTopic, ContractExamples.PlantIntake.Replace("2026-11-29T09:40:00+08:00", "2026-11-29T10:04:00+08:00", StringComparison.Ordinal));

    [Fact]
    public void Event_time_older_than_the_lateness_limit_is_too_late() =>
        AssertRejected(IntakeTopic, ContractExamples.PlantIntake.Replace("2026-11-29T09:40:00+08:00", "2026-11-20T09:40:00+08:00", StringComparison.Ordinal),
            QuarantineReasons.TooLate);

    [Fact]
    public void Milk_weight_in_pounds_is_refused() =>
        AssertRejected(MilkingTopic, ContractExamples.Milking.Replace("\"unitCode\": \"KGM\"", "\"unitCode\": \"LBR\"", StringComparison.Ordinal),
            QuarantineReasons.InvalidField, "milkingMilkWeight");

    [Theory]
    [InlineData("0")]
    [InlineData("-3.5")]
    [InlineData("75")]
    public void Implausible_milk_weight_is_refused(string kg) =>
        AssertRejected(MilkingTopic, ContractExamples.Milking.Replace("\"value\": 12.4", "\"value\": " + kg, StringComparison.Ordinal),
            QuarantineReasons.InvalidField, "milkingMilkWeight.value");

    [Theory]
    [InlineData("21501210000001")]
    [InlineData("115012100000017")]
    [InlineData("21501210000001X")]
    public void Malformed_ear_tag_is_refused(string tag) =>
        AssertRejected(MilkingTopic, ContractExamples.Milking.Replace("215012100000017", tag, StringComparison.Ordinal),
            QuarantineReasons.InvalidField, "ear tag");

    [Fact]
    public void Collection_without_kilograms_is_refused() =>
        AssertRejected(LevelTopic, ContractExamples.BulkTankCollection.Replace("\"collectedKg\": 12875.0,", "", StringComparison.Ordinal),
            QuarantineReasons.MissingField, "collectedKg");

    [Fact]
    public void Unknown_bulk_tank_event_is_refused() =>
        AssertRejected(LevelTopic, ContractExamples.BulkTankLevel.Replace("\"level\"", "\"spill\"", StringComparison.Ordinal), QuarantineReasons.InvalidField);

    [Fact]
    public void Unknown_members_are_ignored_for_forward_compatibility() =>
        Accept(IntakeTopic, ContractExamples.PlantIntake.Replace("\"siloId\": \"S3\"", "\"siloId\": \"S3\", \"firmware\": \"2.1\"", StringComparison.Ordinal));

    [Theory]
    [InlineData("\"siloId\": \"S\\u00003\"", "siloId")]
    [InlineData("\"siloId\": \"S3\", \"note\": \"\\u0000\"", "note")]
    [InlineData("\"siloId\": \"S3\", \"n\\u0000\": 1", "a member name")]
    public void Nul_character_in_any_string_is_refused_and_named(string replacement, string named) =>
        AssertRejected(IntakeTopic, ContractExamples.PlantIntake.Replace("\"siloId\": \"S3\"", replacement, StringComparison.Ordinal),
            QuarantineReasons.InvalidField, named);

    [Theory]
    [InlineData("\"tankerLoadId\": \"TL-20261129-0007\"", 129)]
    [InlineData("\"tankerLoadId\": \"TL-20261129-0007\"", 3000)]
    [InlineData("\"tankerPlate\": \"蒙A12345\"", 60_000)]
    public void An_id_over_the_contracts_limit_is_refused_before_any_store_sees_it(string member, int length)
    {
        var name = member[1..member.IndexOf('"', 1)];
        var json = ContractExamples.PlantIntake.Replace(member, $"\"{name}\": \"{new string('L', length)}\"", StringComparison.Ordinal);
        if (json.Length > new IngestionOptions().MaxPayloadBytes)
        {
            AssertRejected(IntakeTopic, json, QuarantineReasons.PayloadTooLarge);
            return;
        }

        AssertRejected(IntakeTopic, json, QuarantineReasons.InvalidField, name);
    }

    [Fact]
    public void A_device_id_longer_than_a_registry_id_is_refused_at_the_topic() =>
        AssertRejected($"hohhot/v1/plant/PL-YILI-01/{new string('D', 65)}/plant_intake", ContractExamples.PlantIntake, QuarantineReasons.UnknownTopic);

    [Fact]
    public void The_key_of_an_invalid_message_is_read_when_its_envelope_is_readable_and_not_otherwise()
    {
        var invalid = ContractExamples.PlantIntake.Replace("28450.0", "-1", StringComparison.Ordinal);
        AssertRejected(IntakeTopic, invalid, QuarantineReasons.InvalidField);
        Assert.Equal(new ReadingKey("PL-YILI-01-WB1", 1764345600, 9), TelemetryPayloadParser.ReadKey(Encoding.UTF8.GetBytes(invalid)));
        Assert.Null(TelemetryPayloadParser.ReadKey(Encoding.UTF8.GetBytes(invalid[..40])));
        Assert.Null(TelemetryPayloadParser.ReadKey(Encoding.UTF8.GetBytes(invalid.Replace("\"seq\": 9,", "", StringComparison.Ordinal))));
    }

    [Fact]
    public void The_last_nanosecond_of_a_day_stays_on_that_day()
    {
        var json = ContractExamples.PlantIntake.Replace("2026-11-29T09:40:00+08:00", "2026-11-28T23:59:59.999999999+08:00", StringComparison.Ordinal);

        var reading = Accept(IntakeTopic, json);

        Assert.Equal(new DateOnly(2026, 11, 28), ChinaTime.LocalDate(reading.EventTime));
        Assert.Equal(new DateTimeOffset(2026, 11, 28, 23, 59, 59, ChinaTime.Offset).AddTicks(9_999_999), reading.EventTime);
    }

    [Fact]
    public void Escaped_backslash_before_u0000_text_is_no_nul() =>
        Accept(IntakeTopic, ContractExamples.PlantIntake.Replace("\"siloId\": \"S3\"", "\"siloId\": \"S3\", \"note\": \"C:\\\\u0000\"", StringComparison.Ordinal));

    private ParsedReading Accept(string topic, string json)
    {
        var ok = _parser.TryParse(topic, Encoding.UTF8.GetBytes(json), out var reading, out var rejection);
        Assert.True(ok, $"rejected: {rejection.Reason} {rejection.Detail}");
        return reading!;
    }

    private void AssertRejected(string topic, string json, string reason, string? detailContains = null)
    {
        var ok = _parser.TryParse(topic, Encoding.UTF8.GetBytes(json), out var reading, out var rejection);
        Assert.False(ok);
        Assert.Null(reading);
        Assert.Equal(reason, rejection.Reason);
        Assert.False(string.IsNullOrWhiteSpace(rejection.Detail));
        if (detailContains is not null)
        {
            Assert.Contains(detailContains, rejection.Detail, StringComparison.Ordinal);
        }
    }
}
