using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Traceability;

namespace HohhotCluster.Telemetry.Traceability.Tests;

public sealed class MassBalanceTests(ChainDatabase db) : IClassFixture<ChainDatabase>
{
    [Fact]
    public async Task Mass_balance_flags_a_watered_load_by_kg_and_freezing_point_and_a_short_load_but_not_a_good_one()
    {
        var p = "m" + Guid.NewGuid().ToString("N")[..8];
        var plant = p + "-PL";
        var day = new DateTimeOffset(2026, 3, 11, 5, 0, 0, TimeSpan.FromHours(8));
        // Three loads of 20 t picked up: one weighs 21 t at the plant (5 % water), one 19 t (short), one 20.05 t (within 2 %).
        foreach (var (load, weighed) in new[] { ("W", 21_000.0), ("S", 19_000.0), ("N", 20_050.0) })
        {
            await db.CollectAsync(p + "-P", $"{p}-B{load}", 20_000, day, tankerLoad: $"{p}-T{load}");
            await db.IntakeAsync(plant, $"{p}-T{load}", weighed, day.AddHours(3));
        }

        await db.PublishAsync(new SiloTransferKind(db.Store), ChainDatabase.Device(plant, "plant"), day.AddHours(4),
            HandBuiltChain.Transfer(p + "-S1", ($"{p}-TW", 21_000), ($"{p}-TS", 19_000), ($"{p}-TN", 20_050)));
        await db.PublishAsync(new ProductionKind(db.Store), ChainDatabase.Device(plant, "plant"), day.AddHours(6),
            HandBuiltChain.Production(p + "-X1", 60_050, (p + "-S1", 60_050)));
        await db.AddQualityResultAsync(LotKinds.TankerLoad, $"{p}-TW", p + "-FP", "fail",
            """[{"item": "freezing_point", "value": -0.470, "unit": "CEL"}]""", day.AddHours(3.2));

        var balance = await db.Queries.MassBalanceAsync(CallerScope.ProcessorOf("proc", plant), plant, ChinaTime.LocalDate(day), default);

        Assert.Equal(60_000, balance.PickedUpKg);
        Assert.Equal(60_050, balance.ReceivedKg);
        Assert.Equal(60_050, balance.BlendedKg);
        Assert.Equal(60_050, balance.UsedKg);
        Assert.Equal(60_050, balance.ProducedKg);
        var flags = balance.Flags.Select(f => $"{f.Kind} {f.Lot} {f.ExpectedKg:0} {f.ActualKg:0}").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(
            [$"short_load receipt:{p}-TS 20000 19000", $"watered_load receipt:{p}-TW 20000 21000", $"watered_load tanker_load:{p}-TW 0 0"],
            flags);
        Assert.Contains("-0.470", balance.Flags.Single(f => f.Lot.Kind == LotKinds.TankerLoad).Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Warm_load_is_rejected_at_intake_and_flagged_when_blended_anyway()
    {
        var p = "w" + Guid.NewGuid().ToString("N")[..8];
        var plant = p + "-PL";
        var day = new DateTimeOffset(2026, 3, 12, 5, 0, 0, TimeSpan.FromHours(8));
        await db.CollectAsync(p + "-P", p + "-B", 20_000, day, tankerLoad: p + "-T");
        await db.IntakeAsync(plant, p + "-T", 20_000, day.AddHours(3), temperature: 11.5);
        await db.PublishAsync(new SiloTransferKind(db.Store), ChainDatabase.Device(plant, "plant"), day.AddHours(4),
            HandBuiltChain.Transfer(p + "-S1", (p + "-T", 20_000)));

        var balance = await db.Queries.MassBalanceAsync(CallerScope.CityRegulator, plant, ChinaTime.LocalDate(day), default);

        Assert.Equal((0.0, 20_000.0), (balance.ReceivedKg, balance.RejectedKg));
        Assert.Contains(balance.Flags, f => f.Kind == "rejected_load_used" && f.Lot.Id == p + "-T");
    }
}
