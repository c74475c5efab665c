using HohhotCluster.Telemetry.Audit.Rules;

namespace HohhotCluster.Telemetry.Audit.Tests;

public sealed class RuleTableTests
{
    private static readonly RuleBook Book = new(RuleBook.LoadEmbeddedCsv());

    private static JudgedSample Judge(string species, DateOnly day, params SampleItem[] items) =>
        QualityJudge.Judge(Book.InForce(species, day)!, items);

    private static SampleItem Item(string item, decimal value, string unit) => new(item, unit, value, null);

    [Fact]
    public void Protein_2_80_passes_and_2_79_fails()
    {
        var day = new DateOnly(2026, 3, 1);
        Assert.Equal(QualityJudge.Pass, Judge("cow", day, Item("protein", 2.80m, "g/100g")).Verdict);
        Assert.Equal(QualityJudge.Fail, Judge("cow", day, Item("protein", 2.79m, "g/100g")).Verdict);
    }

    [Fact]
    public void Cow_acidity_11_fails_on_2025_09_15_and_passes_on_2025_09_16_under_amendment_1()
    {
        var before = Judge("cow", new DateOnly(2025, 9, 15), Item("acidity", 11m, "°T"));
        var after = Judge("cow", new DateOnly(2025, 9, 16), Item("acidity", 11m, "°T"));
        Assert.Equal((QualityJudge.Fail, "GB19301-2010;GB2762-2022;GB31650-2019"), (before.Verdict, before.RuleVersion));
        Assert.Equal((QualityJudge.Pass, "GB19301-2010+A1+A2:2025;GB2762-2022;GB31650-2019"), (after.Verdict, after.RuleVersion));
        Assert.Equal((10m, 18m), (after.Items[0].Min, after.Items[0].Max));
    }

    [Fact]
    public void Goat_acidity_rules_apply_to_goat_milk_only()
    {
        var day = new DateOnly(2024, 3, 1);
        Assert.Equal(QualityJudge.Pass, Judge("goat", day, Item("acidity", 8m, "°T")).Verdict);
        Assert.Equal(QualityJudge.Fail, Judge("cow", day, Item("acidity", 8m, "°T")).Verdict);
        Assert.Equal(QualityJudge.Fail, Judge("goat", day, Item("acidity", 14m, "°T")).Verdict);
        Assert.Equal(QualityJudge.Pass, Judge("cow", day, Item("acidity", 14m, "°T")).Verdict);
    }

    [Fact]
    public void Adulterant_screens_fail_when_positive_and_items_without_a_limit_are_not_judged()
    {
        var day = new DateOnly(2026, 3, 1);
        Assert.Equal(QualityJudge.Fail, Judge("cow", day, new SampleItem("alkali", "screen", null, "positive")).Verdict);
        var scc = Judge("cow", day, Item("somatic_cells", 900m, "10^3/mL"));
        Assert.Equal(QualityJudge.NotJudged, scc.Verdict);
    }

    [Fact]
    public void Units_are_checked_against_the_rule_table_including_aliases()
    {
        Assert.True(Book.TryCanonicalUnit("protein", "%", out _, out var canonical));
        Assert.Equal("g/100g", canonical);
        Assert.False(Book.TryCanonicalUnit("protein", "mg/kg", out _, out _));
        Assert.False(Book.IsKnownItem("unobtainium"));
    }
}
