using System.Text;

namespace HohhotCluster.Telemetry.Benchmarks;

/// <summary>Payloads exactly as hohhot-sim publishes them for the city-2023 profile (taken from a recorded run).</summary>
internal static class Samples
{
    public static readonly DateTimeOffset Now = new(2026, 11, 29, 9, 0, 0, TimeSpan.FromHours(8));

    public const string MilkingTopic = "hohhot/v1/pasture/P150121005/P150121005-MM45/milking";
    public static readonly byte[] Milking = Encoding.UTF8.GetBytes(
        """{"deviceId":"P150121005-MM45","bootEpoch":1795795200,"seq":1,"eventTime":"2026-11-28T04:30:00+08:00","herdId":"P150121005-H5","visit":{"resourceType":"icarMilkingVisitEventResource","animal":{"scheme":"cn.moa.eartag","id":"215012100013787"},"milkingStartingDateTime":"2026-11-27T20:30:00Z","milkingDuration":{"unitCode":"SEC","value":345},"milkingMilkWeight":{"unitCode":"KGM","value":9.2},"milkingDeviceId":"P150121005-MM45","milkCharacteristics":[{"characteristic":"AVGCOND","value":"5.2"},{"characteristic":"TEMPERATURE","value":"37.1","unit":"CEL"},{"characteristic":"FAT","value":"3.61"},{"characteristic":"PROTEIN","value":"3.40"},{"characteristic":"SCC","value":"31"}]}}""");

    public const string CollectionTopic = "hohhot/v1/pasture/P150121001/P150121001-BT1/bulk_tank";
    public static readonly byte[] Collection = Encoding.UTF8.GetBytes(
        """{"deviceId":"P150121001-BT1","bootEpoch":1795795200,"seq":17,"eventTime":"2026-11-28T07:30:00+08:00","tankId":"T1","event":"collection","lotId":"BTL-P150121001-T1-20261128-1","collectedKg":18004,"temperatureC":3.7,"tankerLoadId":"TL-20261128-0057"}""");

    public const string IntakeTopic = "hohhot/v1/plant/PL-YILI-01/PL-YILI-01-WB1/plant_intake";
    public static readonly byte[] Intake = Encoding.UTF8.GetBytes(
        """{"deviceId":"PL-YILI-01-WB1","bootEpoch":1795795200,"seq":1,"eventTime":"2026-11-28T08:14:04+08:00","tankerLoadId":"TL-20261128-0032","tankerPlate":"蒙A79900","netKg":29934.1,"temperatureC":5.9,"siloId":"S2"}""");
}

/// <summary>A clock stopped at <see cref="Samples.Now"/>, so the payloads' event times stay valid.</summary>
internal sealed class FixedClock : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => Samples.Now.ToUniversalTime();
}
