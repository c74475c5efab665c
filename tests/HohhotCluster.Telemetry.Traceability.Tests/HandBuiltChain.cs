using System.Globalization;
using HohhotCluster.Telemetry.Traceability;

namespace HohhotCluster.Telemetry.Traceability.Tests;

/// <summary>
/// A small chain with ids unique to one test, built through the same code paths as telemetry:
/// <code>
/// pasture A: B1 10,000 kg, B2 8,000 kg -> tanker T1 (18,000) -> plant receipt T1 18,000 -> silo S1 18,000
/// pasture B: B3 12,000 kg             -> tanker T2 (12,000) -> plant receipt T2 12,000 -> silo S1 6,000, silo S2 6,000
/// S1 (24,000): 12,000 -> product X1 (12,000 out); 12,000 -> product X2
/// S2 (6,000):                                      6,000 -> product X2 (18,000 out)
/// </code>
/// B3's milk is a quarter of S1 and all of S2: 3,000 kg in X1 (share 0.25) and 9,000 kg in X2 (share 0.5).
/// </summary>
public sealed class HandBuiltChain(string prefix)
{
    public static readonly DateTimeOffset Day = new(2026, 3, 10, 6, 0, 0, TimeSpan.FromHours(8));

    public string PastureA { get; } = prefix + "-PA";
    public string PastureB { get; } = prefix + "-PB";
    public string Plant { get; } = prefix + "-PL";
    public string B1 { get; } = prefix + "-B1";
    public string B2 { get; } = prefix + "-B2";
    public string B3 { get; } = prefix + "-B3";
    public string T1 { get; } = prefix + "-T1";
    public string T2 { get; } = prefix + "-T2";
    public string S1 { get; } = prefix + "-S1";
    public string S2 { get; } = prefix + "-S2";
    public string X1 { get; } = prefix + "-X1";
    public string X2 { get; } = prefix + "-X2";

    public async Task BuildAsync(ChainDatabase db)
    {
        var pickup = new TankerPickupKind(db.Store);
        var transfer = new SiloTransferKind(db.Store);
        var production = new ProductionKind(db.Store);
        var pastureA = ChainDatabase.Device(PastureA, "pasture");
        var pastureB = ChainDatabase.Device(PastureB, "pasture");
        var plant = ChainDatabase.Device(Plant, "plant");

        await db.CollectAsync(PastureA, B1, 10_000, Day);
        await db.CollectAsync(PastureA, B2, 8_000, Day.AddMinutes(30), tankerLoad: T1);
        await db.CollectAsync(PastureB, B3, 12_000, Day.AddMinutes(45));
        await db.PublishAsync(pickup, pastureA, Day.AddHours(1), Pickup(B1, T1, 10_000));
        await db.PublishAsync(pickup, pastureA, Day.AddHours(1), Pickup(B2, T1, 8_000));
        await db.PublishAsync(pickup, pastureB, Day.AddHours(1.5), Pickup(B3, T2, 12_000));
        await db.IntakeAsync(Plant, T1, 18_000, Day.AddHours(3));
        await db.IntakeAsync(Plant, T2, 12_000, Day.AddHours(3.5));
        await db.PublishAsync(transfer, plant, Day.AddHours(4), Transfer(S1, (T1, 18_000), (T2, 6_000)));
        await db.PublishAsync(transfer, plant, Day.AddHours(4), Transfer(S2, (T2, 6_000)));
        await db.PublishAsync(production, plant, Day.AddHours(6), Production(X1, 12_000, (S1, 12_000)));
        await db.PublishAsync(production, plant, Day.AddHours(7), Production(X2, 18_000, (S1, 12_000), (S2, 6_000)));
    }

    public static string Pickup(string lot, string load, double kg) =>
        $$"""{"lotId": {{Json(lot)}}, "tankerLoadId": {{Json(load)}}, "kg": {{N(kg)}}, "temperatureC": 3.8, "tankerPlate": "蒙A12345", "driver": "Wang Wei", "permit": "NM-2026-0042", "compartment": 1}""";

    public static string Transfer(string batch, params (string Load, double Kg)[] receipts) =>
        $$"""{"siloBatchId": {{Json(batch)}}, "siloId": "S3", "receipts": [{{string.Join(",", receipts.Select(r => $$"""{"tankerLoadId": {{Json(r.Load)}}, "kg": {{N(r.Kg)}}}"""))}}]}""";

    public static string Production(string lot, double output, params (string Batch, double Kg)[] silos) =>
        $$"""{"productLotId": {{Json(lot)}}, "product": "UHT whole milk 250 mL", "line": "L2", "outputKg": {{N(output)}}, "silos": [{{string.Join(",", silos.Select(s => $$"""{"siloBatchId": {{Json(s.Batch)}}, "kg": {{N(s.Kg)}}}"""))}}]}""";

    private static string Json(string text) => System.Text.Json.JsonSerializer.Serialize(text);

    private static string N(double value) => value.ToString(CultureInfo.InvariantCulture);
}
