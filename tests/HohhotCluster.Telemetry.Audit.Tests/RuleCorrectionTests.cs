using HohhotCluster.Telemetry.Audit.Rules;

namespace HohhotCluster.Telemetry.Audit.Tests;

/// <summary>The rule-table corrections of issue 13, each against the shipped table.</summary>
public sealed class RuleCorrectionTests
{
    private static readonly RuleBook Book = new(RuleBook.LoadEmbeddedCsv());

    private static SampleItem Item(string item, decimal value, string unit) => new(item, unit, value, null);

    private static JudgedSample Raw(string species, DateOnly day, params SampleItem[] items) =>
        QualityJudge.JudgeSample(Book, "bulk_tank_lot", null, species, day, items);

    public static TheoryData<string> DaysSinceTheStandard =>
        ["2010-06-01", "2012-01-01", "2013-06-01", "2018-05-01", "2020-04-01", "2023-06-29", "2023-06-30", "2025-09-16", "2026-03-01", "2026-09-02", "2030-01-01"];

    [Theory]
    [MemberData(nameof(DaysSinceTheStandard))]
    public void Lead_0_1_mg_per_kg_fails_raw_milk_on_every_date(string date)
    {
        var day = DateOnly.Parse(date, System.Globalization.CultureInfo.InvariantCulture);
        foreach (var species in new[] { "cow", "goat" })
        {
            var judged = Raw(species, day, Item("lead", 0.1m, "mg/kg"));
            Assert.Equal(QualityJudge.Fail, judged.Verdict);
            Assert.NotNull(judged.Items[0].Max);
        }
    }

    [Fact]
    public void Lead_limit_is_0_05_until_GB_2762_2022_takes_effect_and_0_02_from_2023_06_30()
    {
        Assert.Equal(0.05m, Raw("cow", new DateOnly(2023, 6, 29), Item("lead", 0.03m, "mg/kg")).Items[0].Max);
        Assert.Equal(QualityJudge.Pass, Raw("cow", new DateOnly(2023, 6, 29), Item("lead", 0.03m, "mg/kg")).Verdict);
        var after = Raw("cow", new DateOnly(2023, 6, 30), Item("lead", 0.03m, "mg/kg"));
        Assert.Equal((QualityJudge.Fail, 0.02m), (after.Verdict, after.Items[0].Max));
        var rule = Book.InForce("cow", new DateOnly(2023, 6, 30))!.Items["lead"];
        Assert.Equal(("GB 2762-2022", "2022-06-30"), (rule.Standard, rule.EditionDate));
    }

    [Theory]
    [InlineData("mercury", 0.02)]
    [InlineData("arsenic", 0.2)]
    [InlineData("chromium", 0.4)]
    [InlineData("nitrite", 0.5)]
    public void Heavy_metals_and_nitrite_are_judged_before_2026(string item, double value)
    {
        Assert.Equal(QualityJudge.Fail, Raw("cow", new DateOnly(2024, 5, 1), Item(item, (decimal)value, "mg/kg")).Verdict);
    }

    [Fact]
    public void The_standard_is_in_force_from_2010_06_01_by_its_own_text()
    {
        Assert.Equal(new DateOnly(2010, 6, 1), Book.Versions.Where(v => v.Subject == RuleSubjects.RawMilk).Min(v => v.EffectiveFrom));
        Assert.Equal(QualityJudge.Pass, Raw("cow", new DateOnly(2010, 6, 1), Item("protein", 3.0m, "g/100g")).Verdict);
        var before = Raw("cow", new DateOnly(2010, 5, 31), Item("protein", 3.0m, "g/100g"));
        Assert.Equal(QualityJudge.NotJudged, before.Verdict);
        Assert.Contains("no raw_milk rule version", before.Reason);
    }

    [Fact]
    public void Good_goat_milk_freezing_at_minus_0_565_passes_and_the_cow_range_still_applies_to_cows()
    {
        var goat = Raw("goat", new DateOnly(2026, 3, 1), Item("freezing_point", -0.565m, "°C"), Item("protein", 3.2m, "g/100g"));
        Assert.Equal(QualityJudge.Pass, goat.Verdict);
        Assert.Equal(QualityJudge.NotJudged, goat.Items[0].Verdict);
        Assert.Contains("Holstein", Book.InForce("goat", new DateOnly(2026, 3, 1))!.Items["freezing_point"].Clause);
        Assert.Equal(QualityJudge.Fail, Raw("cow", new DateOnly(2026, 3, 1), Item("freezing_point", -0.565m, "°C")).Verdict);
    }

    [Fact]
    public void Goat_acidity_follows_the_2010_range_until_amendment_2_and_is_recorded_unverified_after()
    {
        var before = Raw("goat", new DateOnly(2025, 9, 15), Item("acidity", 14m, "°T"));
        Assert.Equal(QualityJudge.Fail, before.Verdict);
        var after = Raw("goat", new DateOnly(2025, 9, 16), Item("acidity", 14m, "°T"));
        Assert.Equal(QualityJudge.NotJudged, after.Verdict);
        var rule = Book.InForce("goat", new DateOnly(2025, 9, 16))!.Items["acidity"];
        Assert.Contains("Amendment No. 2", rule.Source);
        Assert.Contains("unverified", rule.Source);
        Assert.Contains("No. 2", rule.Amendment);
    }

    [Fact]
    public void A_sterilised_milk_lot_is_judged_under_GB_25190_not_the_raw_milk_standard()
    {
        // Protein 2.85 passes raw milk (>= 2.8) but fails GB 25190 for cow milk (>= 2.9).
        var items = new[] { Item("protein", 2.85m, "g/100g") };
        var product = QualityJudge.JudgeSample(Book, "product_lot", "sterilised_milk", "cow", new DateOnly(2026, 3, 1), items);
        Assert.Equal(QualityJudge.Fail, product.Verdict);
        Assert.StartsWith("GB25190-2010", product.RuleVersion);
        Assert.Equal(2.9m, product.Items[0].Min);
        Assert.Equal(QualityJudge.Pass, Raw("cow", new DateOnly(2026, 3, 1), items).Verdict);
    }

    [Theory]
    [InlineData("pasteurised_milk", "GB 19645-2010")]
    [InlineData("sterilised_milk", "GB 25190-2010")]
    [InlineData("milk_powder", "GB 19644-2010")]
    public void Product_categories_have_sourced_rows_of_their_own_standard(string category, string standard)
    {
        foreach (var species in new[] { "cow", "goat" })
        {
            var version = Book.InForce(category, species, new DateOnly(2026, 3, 1));
            Assert.NotNull(version);
            Assert.Contains(version.Items.Values, r => r.Standard == standard);
            Assert.All(version.Items.Values, r => Assert.False(string.IsNullOrEmpty(r.Clause) || string.IsNullOrEmpty(r.Source)));
            Assert.DoesNotContain(version.Items.Values, r => r.Standard.StartsWith("GB 19301", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void Milk_powder_lead_is_judged_against_its_own_limit()
    {
        var powder = QualityJudge.JudgeSample(Book, "product_lot", "milk_powder", "cow", new DateOnly(2026, 3, 1),
            [Item("lead", 0.1m, "mg/kg"), Item("moisture", 4.0m, "g/100g")]);
        Assert.Equal(QualityJudge.Pass, powder.Verdict);
        Assert.Equal(0.5m, powder.Items[0].Max);
    }

    [Fact]
    public void A_product_lot_sample_without_a_category_is_not_judged_with_the_reason()
    {
        var judged = QualityJudge.JudgeSample(Book, "product_lot", null, "cow", new DateOnly(2026, 3, 1), [Item("protein", 2.0m, "g/100g")]);
        Assert.Equal(QualityJudge.NotJudged, judged.Verdict);
        Assert.Equal(QualityJudge.NotJudged, judged.Items[0].Verdict);
        Assert.Contains("without productCategory", judged.Reason);
    }

    [Fact]
    public void A_product_category_without_rows_is_not_judged_with_the_reason()
    {
        var judged = QualityJudge.JudgeSample(Book, "product_lot", "cheese", "cow", new DateOnly(2026, 3, 1), [Item("protein", 2.0m, "g/100g")]);
        Assert.Equal(QualityJudge.NotJudged, judged.Verdict);
        Assert.Contains("'cheese'", judged.Reason);
    }

    [Fact]
    public void An_antibiotic_screen_positive_is_suspect_and_only_a_confirmatory_positive_fails()
    {
        var day = new DateOnly(2026, 3, 1);
        var screened = Raw("cow", day, new SampleItem("antibiotic_residue", "screen", null, "positive", ScreenMethods.Screen), Item("protein", 3.1m, "g/100g"));
        Assert.Equal(QualityJudge.Suspect, screened.Verdict);
        Assert.Equal(QualityJudge.Suspect, screened.Items[0].Verdict);
        var confirmed = Raw("cow", day, new SampleItem("antibiotic_residue", "screen", null, "positive", ScreenMethods.Confirmatory));
        Assert.Equal(QualityJudge.Fail, confirmed.Verdict);
        Assert.Equal(QualityJudge.Pass, Raw("cow", day, new SampleItem("antibiotic_residue", "screen", null, "negative", ScreenMethods.Screen)).Verdict);
    }

    [Theory]
    [InlineData("penicillin_g", 4, 5)]
    [InlineData("amoxicillin", 4, 5)]
    [InlineData("ampicillin", 4, 5)]
    [InlineData("tetracyclines", 100, 101)]
    public void Per_drug_residues_are_judged_against_GB_31650_MRLs(string drug, int mrl, int above)
    {
        var day = new DateOnly(2026, 3, 1);
        Assert.Equal(QualityJudge.Pass, Raw("cow", day, Item(drug, mrl, "µg/kg")).Verdict);
        Assert.Equal(QualityJudge.Fail, Raw("cow", day, Item(drug, above, "µg/kg")).Verdict);
        Assert.Equal("GB 31650-2019", Book.InForce("cow", day)!.Items[drug].Standard);
    }

    [Theory]
    [InlineData("alkali")]
    [InlineData("sodium_thiocyanate")]
    [InlineData("hydrolysed_leather_protein")]
    [InlineData("beta_lactamase")]
    public void Monitoring_plan_rows_name_the_MOA_plan_not_GB_19301(string item)
    {
        foreach (var version in Book.Versions.Where(v => v.Subject == RuleSubjects.RawMilk))
        {
            var rule = version.Items[item];
            Assert.Contains("monitoring plan", rule.Standard);
            Assert.DoesNotContain("19301", rule.Standard);
        }
    }

    [Fact]
    public void Every_row_has_a_standard_clause_and_source_and_every_version_is_complete()
    {
        Assert.All(Book.Rules, r => Assert.False(r.Standard.Length == 0 || r.Clause.Length == 0 || r.Source.Length == 0, r.RuleVersion + "/" + r.Item));
        foreach (var group in Book.Versions.GroupBy(v => (v.Subject, v.Species)))
        {
            var items = group.First().Items.Keys.Order().ToList();
            Assert.All(group, v => Assert.Equal(items, v.Items.Keys.Order().ToList()));
        }
    }

    [Fact]
    public void A_withdrawn_version_is_never_in_force_but_can_still_be_found()
    {
        var rules = RuleBook.LoadEmbeddedCsv().ToList();
        var withdrawn = rules.Where(r => r.Subject == RuleSubjects.RawMilk && r.Species == "cow")
            .Select(r => r with { RuleVersion = "OLD", EffectiveFrom = new DateOnly(2024, 1, 1), Withdrawn = "wrong" }).DistinctBy(r => r.Item);
        var book = new RuleBook(rules.Concat(withdrawn));
        Assert.NotEqual("OLD", book.InForce("cow", new DateOnly(2024, 6, 1))!.Version);
        Assert.NotNull(book.Find(RuleSubjects.RawMilk, "cow", "OLD"));
    }
}
