using System.Text.Json;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Traceability.Tanker;

namespace HohhotCluster.Telemetry.Traceability.Tests;

/// <summary>The <c>tanker_log</c> body, read as docs/mqtt-contract.md says: each rule refused on its own, naming its field.</summary>
public sealed class TankerLogPayloadTests
{
    private const string Valid =
        """
        { "tankerLoadId": "TL-20261129-0007", "tankerPlate": "蒙A12345",
          "compartments": [ { "compartment": 1, "temperatureC": 3.9 }, { "compartment": 2, "temperatureC": 4.2 } ],
          "latitude": 40.8424, "longitude": 111.7490, "speedKmh": 62.5 }
        """;

    private static (bool Ok, TankerLogRecord? Record, Rejection Rejection) Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var ok = TankerLogPayload.TryParse(document.RootElement, out var record, out var rejection);
        return (ok, record, rejection);
    }

    /// <summary>The contract's example (docs/mqtt-contract.md) parses: the test reads it from the page itself.</summary>
    [Fact]
    public void The_contract_example_is_a_valid_tanker_log()
    {
        var page = File.ReadAllText(Path.Combine(RepositoryRoot(), "docs", "mqtt-contract.md"));
        var start = page.IndexOf("### `tanker_log`", StringComparison.Ordinal);
        Assert.True(start > 0, "docs/mqtt-contract.md has no tanker_log section");
        var json = page.IndexOf("```json", start, StringComparison.Ordinal) + "```json".Length;
        var end = page.IndexOf("```", json, StringComparison.Ordinal);
        var (ok, record, rejection) = Parse(page[json..end]);
        Assert.True(ok, rejection.Detail);
        Assert.NotEmpty(record!.Compartments);
    }

    [Fact]
    public void A_valid_reading_keeps_every_compartment_the_position_and_the_speed()
    {
        var (ok, record, rejection) = Parse(Valid);

        Assert.True(ok, rejection.Detail);
        Assert.Equal("TL-20261129-0007", record!.TankerLoadId);
        Assert.Equal("蒙A12345", record.TankerPlate);
        Assert.Equal([new CompartmentTemperature(1, 3.9), new CompartmentTemperature(2, 4.2)], record.Compartments);
        Assert.Equal(new GeoPosition(40.8424, 111.7490), record.Position);
        Assert.Equal(62.5, record.SpeedKmh);
        Assert.Equal(4.2, record.MaxTemperatureC);
    }

    [Fact]
    public void Speed_and_plate_are_optional()
    {
        var (ok, record, rejection) = Parse(
            """{ "tankerLoadId": "TL-1", "compartments": [ { "compartment": 3, "temperatureC": -1.5 } ], "latitude": -33.9, "longitude": -70.6 }""");

        Assert.True(ok, rejection.Detail);
        Assert.Null(record!.SpeedKmh);
        Assert.Null(record.TankerPlate);
    }

    [Theory]
    [InlineData("""{ "compartments": [ { "compartment": 1, "temperatureC": 4 } ], "latitude": 40.8, "longitude": 111.7 }""", "missing_field", "tankerLoadId")]
    [InlineData("""{ "tankerLoadId": "", "compartments": [ { "compartment": 1, "temperatureC": 4 } ], "latitude": 40.8, "longitude": 111.7 }""", "invalid_field", "tankerLoadId")]
    [InlineData("""{ "tankerLoadId": 7, "compartments": [ { "compartment": 1, "temperatureC": 4 } ], "latitude": 40.8, "longitude": 111.7 }""", "invalid_field", "tankerLoadId")]
    [InlineData("""{ "tankerLoadId": "TL-1", "tankerPlate": "", "compartments": [ { "compartment": 1, "temperatureC": 4 } ], "latitude": 40.8, "longitude": 111.7 }""", "invalid_field", "tankerPlate")]
    [InlineData("""{ "tankerLoadId": "TL-1", "latitude": 40.8, "longitude": 111.7 }""", "missing_field", "compartments")]
    [InlineData("""{ "tankerLoadId": "TL-1", "compartments": [], "latitude": 40.8, "longitude": 111.7 }""", "invalid_field", "compartments")]
    [InlineData("""{ "tankerLoadId": "TL-1", "compartments": { "compartment": 1 }, "latitude": 40.8, "longitude": 111.7 }""", "invalid_field", "compartments")]
    [InlineData("""{ "tankerLoadId": "TL-1", "compartments": [ 4.1 ], "latitude": 40.8, "longitude": 111.7 }""", "invalid_field", "compartments[0]")]
    [InlineData("""{ "tankerLoadId": "TL-1", "compartments": [ { "temperatureC": 4 } ], "latitude": 40.8, "longitude": 111.7 }""", "missing_field", "compartments[0].compartment")]
    [InlineData("""{ "tankerLoadId": "TL-1", "compartments": [ { "compartment": 0, "temperatureC": 4 } ], "latitude": 40.8, "longitude": 111.7 }""", "invalid_field", "compartments[0].compartment")]
    [InlineData("""{ "tankerLoadId": "TL-1", "compartments": [ { "compartment": 17, "temperatureC": 4 } ], "latitude": 40.8, "longitude": 111.7 }""", "invalid_field", "compartments[0].compartment")]
    [InlineData("""{ "tankerLoadId": "TL-1", "compartments": [ { "compartment": 1.5, "temperatureC": 4 } ], "latitude": 40.8, "longitude": 111.7 }""", "invalid_field", "compartments[0].compartment")]
    [InlineData("""{ "tankerLoadId": "TL-1", "compartments": [ { "compartment": 1 } ], "latitude": 40.8, "longitude": 111.7 }""", "missing_field", "compartments[0].temperatureC")]
    [InlineData("""{ "tankerLoadId": "TL-1", "compartments": [ { "compartment": 1, "temperatureC": "4.0" } ], "latitude": 40.8, "longitude": 111.7 }""", "invalid_field", "compartments[0].temperatureC")]
    [InlineData("""{ "tankerLoadId": "TL-1", "compartments": [ { "compartment": 1, "temperatureC": 50.5 } ], "latitude": 40.8, "longitude": 111.7 }""", "invalid_field", "compartments[0].temperatureC")]
    [InlineData("""{ "tankerLoadId": "TL-1", "compartments": [ { "compartment": 1, "temperatureC": -5.5 } ], "latitude": 40.8, "longitude": 111.7 }""", "invalid_field", "compartments[0].temperatureC")]
    [InlineData("""{ "tankerLoadId": "TL-1", "compartments": [ { "compartment": 1, "temperatureC": 4 }, { "compartment": 1, "temperatureC": 5 } ], "latitude": 40.8, "longitude": 111.7 }""", "invalid_field", "compartments[1].compartment 1 is listed twice")]
    [InlineData("""{ "tankerLoadId": "TL-1", "compartments": [ { "compartment": 1, "temperatureC": 4 } ], "longitude": 111.7 }""", "missing_field", "latitude")]
    [InlineData("""{ "tankerLoadId": "TL-1", "compartments": [ { "compartment": 1, "temperatureC": 4 } ], "latitude": 40.8 }""", "missing_field", "longitude")]
    [InlineData("""{ "tankerLoadId": "TL-1", "compartments": [ { "compartment": 1, "temperatureC": 4 } ], "latitude": 90.01, "longitude": 111.7 }""", "invalid_field", "latitude")]
    [InlineData("""{ "tankerLoadId": "TL-1", "compartments": [ { "compartment": 1, "temperatureC": 4 } ], "latitude": 40.8, "longitude": -180.5 }""", "invalid_field", "longitude")]
    [InlineData("""{ "tankerLoadId": "TL-1", "compartments": [ { "compartment": 1, "temperatureC": 4 } ], "latitude": "40.8", "longitude": 111.7 }""", "invalid_field", "latitude")]
    [InlineData("""{ "tankerLoadId": "TL-1", "compartments": [ { "compartment": 1, "temperatureC": 4 } ], "latitude": 0, "longitude": 0 }""", "invalid_field", "without a fix")]
    [InlineData("""{ "tankerLoadId": "TL-1", "compartments": [ { "compartment": 1, "temperatureC": 4 } ], "latitude": 40.8, "longitude": 111.7, "speedKmh": -1 }""", "invalid_field", "speedKmh")]
    [InlineData("""{ "tankerLoadId": "TL-1", "compartments": [ { "compartment": 1, "temperatureC": 4 } ], "latitude": 40.8, "longitude": 111.7, "speedKmh": 250 }""", "invalid_field", "speedKmh")]
    public void Each_rule_is_refused_with_its_reason_naming_the_field(string json, string reason, string detail)
    {
        var (ok, record, rejection) = Parse(json);

        Assert.False(ok);
        Assert.Null(record);
        Assert.Equal(reason, rejection.Reason);
        Assert.Contains(detail, rejection.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public void Seventeen_compartments_are_refused()
    {
        var items = string.Join(",", Enumerable.Range(1, 17).Select(i => $$"""{ "compartment": {{Math.Min(i, 16)}}, "temperatureC": 4 }"""));
        var (ok, _, rejection) = Parse($$"""{ "tankerLoadId": "TL-1", "compartments": [{{items}}], "latitude": 40.8, "longitude": 111.7 }""");

        Assert.False(ok);
        Assert.Equal(QuarantineReasons.InvalidField, rejection.Reason);
        Assert.Contains("1-16 items", rejection.Detail, StringComparison.Ordinal);
    }

    internal static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "HohhotCluster.Telemetry.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }
}
