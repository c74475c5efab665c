using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using HohhotCluster.Telemetry.Traceability;

namespace HohhotCluster.Telemetry.Traceability.Tests;

public sealed class TankerPickupPayloadTests
{
    // TryParse is pure: the store (a data source to a port nothing listens on) is never opened while parsing.
    private readonly TankerPickupKind _kind = new(new ChainStore(Npgsql.NpgsqlDataSource.Create("Host=127.0.0.1;Port=1;Username=unused")));

    [Theory]
    [InlineData("2", true)]
    [InlineData("16", true)]
    [InlineData("2.5", false)]
    [InlineData("17", false)]
    [InlineData("0", false)]
    public void Compartment_must_be_a_whole_number_from_1_to_16(string compartment, bool accepted)
    {
        using var payload = JsonDocument.Parse(
            $$"""{ "lotId": "BTL-1", "tankerLoadId": "TL-1", "kg": 12000.5, "temperatureC": 3.5, "compartment": {{compartment}} }""");
        var ok = _kind.TryParse(payload.RootElement, new ReadingKey("d", 1, 1), DateTimeOffset.UtcNow, out var record, out var rejection);
        Assert.Equal(accepted, ok);
        if (!accepted)
        {
            Assert.Equal(QuarantineReasons.InvalidField, rejection.Reason);
            Assert.Contains("compartment", rejection.Detail, StringComparison.Ordinal);
            Assert.Null(record);
        }
    }
}
