using System.Globalization;
using System.Text.Json;

namespace HohhotCluster.Telemetry.IntegrationTests.Infrastructure;

/// <summary>Payloads exactly as docs/mqtt-contract.md writes them.</summary>
public static class Payloads
{
    public const long Epoch = 1_764_345_600;

    public static string Milking(string deviceId, long seq, DateTimeOffset eventTime, string herdId, double kg, long epoch = Epoch) =>
        JsonSerializer.Serialize(new
        {
            deviceId,
            bootEpoch = epoch,
            seq,
            eventTime = Rfc3339(eventTime),
            herdId,
            visit = new
            {
                resourceType = "icarMilkingVisitEventResource",
                animal = new { scheme = "cn.moa.eartag", id = "2150121" + (seq % 100_000_000).ToString("D8", CultureInfo.InvariantCulture) },
                milkingStartingDateTime = eventTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
                milkingDuration = new { unitCode = "SEC", value = 400 },
                milkingMilkWeight = new { unitCode = "KGM", value = kg },
                milkCharacteristics = new object[] { new { characteristic = "AVGCOND", value = "5.2" } },
            },
        });

    public static string Collection(string deviceId, long seq, DateTimeOffset eventTime, string lotId, double kg, long epoch = Epoch) =>
        JsonSerializer.Serialize(new
        {
            deviceId,
            bootEpoch = epoch,
            seq,
            eventTime = Rfc3339(eventTime),
            tankId = "T1",
            @event = "collection",
            lotId,
            collectedKg = kg,
            temperatureC = 3.5,
        });

    public static string Level(string deviceId, long seq, DateTimeOffset eventTime, double litres, long epoch = Epoch) =>
        JsonSerializer.Serialize(new
        {
            deviceId,
            bootEpoch = epoch,
            seq,
            eventTime = Rfc3339(eventTime),
            tankId = "T1",
            @event = "level",
            volumeL = litres,
            temperatureC = 3.2,
        });

    public static string Intake(string deviceId, long seq, DateTimeOffset eventTime, string tankerLoadId, double kg, long epoch = Epoch) =>
        JsonSerializer.Serialize(new
        {
            deviceId,
            bootEpoch = epoch,
            seq,
            eventTime = Rfc3339(eventTime),
            tankerLoadId,
            tankerPlate = "蒙A12345",
            netKg = kg,
            temperatureC = 4.1,
        });

    /// <summary>The payload with its eventTime written as given (e.g. in UTC with Z).</summary>
    public static string WithEventTime(string payload, string eventTime)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(payload)!;
        node["eventTime"] = eventTime;
        return node.ToJsonString();
    }

    public static string Rfc3339(DateTimeOffset time) =>
        time.ToOffset(TimeSpan.FromHours(8)).ToString("yyyy-MM-dd'T'HH:mm:ss.fffzzz", CultureInfo.InvariantCulture);

    public static string Topic(string ownerKind, string ownerId, string deviceId, string kind) =>
        $"hohhot/v1/{ownerKind}/{ownerId}/{deviceId}/{kind}";

    /// <summary>The batch form's topic for an owner.</summary>
    public static string BatchTopic(string ownerKind, string ownerId) => $"hohhot/v1/{ownerKind}/{ownerId}/batch";

    /// <summary>The batch form: each item is a single payload with its kind.</summary>
    public static string Batch(string kind, IEnumerable<string> payloads) =>
        "{\"readings\":[" + string.Join(",", payloads.Select(p => "{\"kind\":\"" + kind + "\"," + p.TrimStart()[1..])) + "]}";
}
