namespace HohhotCluster.Telemetry.Audit.Rules;

/// <summary>
/// One tested item of a sample: a numeric value or a qualitative result, in the item's canonical unit. A qualitative
/// result's <paramref name="Method"/> is <c>screen</c> (a rapid test, the default) or <c>confirmatory</c>.
/// </summary>
public sealed record SampleItem(string Item, string Unit, decimal? Value, string? Result, string? Method = null);

/// <summary>An item with the limit that judged it; stored in <c>quality_result.items</c> (names are the JSON contract).</summary>
public sealed record JudgedItem
{
    public required string Item { get; init; }
    public required string Unit { get; init; }
    public decimal? Value { get; init; }
    public string? Result { get; init; }
    public string? Method { get; init; }
    public decimal? Min { get; init; }
    public decimal? Max { get; init; }

    /// <summary><c>pass</c>, <c>fail</c>, <c>suspect</c> (a positive screen) or <c>not_judged</c> (no limit for it in the rule version).</summary>
    public required string Verdict { get; init; }
}

/// <summary>A judged sample; <paramref name="Reason"/> says why a sample was not judged at all (else null).</summary>
public sealed record JudgedSample(string Verdict, string RuleVersion, IReadOnlyList<JudgedItem> Items, string? Reason = null);

public static class ScreenMethods
{
    public const string Screen = "screen";
    public const string Confirmatory = "confirmatory";
}

public static class QualityJudge
{
    public const string Pass = "pass";
    public const string Fail = "fail";
    public const string Suspect = "suspect";
    public const string NotJudged = "not_judged";

    /// <summary>
    /// Judges every item against the rule version; limits are inclusive (protein 2.80 meets ">= 2.8"). A positive
    /// result of a <c>screen</c> rule is <c>suspect</c> unless the method was confirmatory (then it fails). The sample
    /// fails if any item fails, else is suspect if any item is, passes if at least one item was judged, else is not judged.
    /// </summary>
    public static JudgedSample Judge(RuleVersion rules, IReadOnlyList<SampleItem> items)
    {
        var judged = new List<JudgedItem>(items.Count);
        var anyJudged = false;
        var anyFailed = false;
        var anySuspect = false;
        foreach (var item in items)
        {
            var verdict = NotJudged;
            rules.Items.TryGetValue(item.Item, out var rule);
            if (rule is { Kind: "numeric" } && item.Value is { } value)
            {
                verdict = (rule.MinValue is { } min && value < min) || (rule.MaxValue is { } max && value > max) ? Fail : Pass;
            }
            else if (rule is { Kind: "qualitative" } && item.Result is { } result)
            {
                verdict = result == "negative" ? Pass : Fail;
            }
            else if (rule is { Kind: "screen" } && item.Result is { } screened)
            {
                verdict = screened == "negative" ? Pass : item.Method == ScreenMethods.Confirmatory ? Fail : Suspect;
            }

            anyJudged |= verdict != NotJudged;
            anyFailed |= verdict == Fail;
            anySuspect |= verdict == Suspect;
            judged.Add(new JudgedItem
            {
                Item = item.Item,
                Unit = item.Unit,
                Value = item.Value,
                Result = item.Result,
                Method = item.Method,
                Min = rule?.Kind == "numeric" ? rule.MinValue : null,
                Max = rule?.Kind == "numeric" ? rule.MaxValue : null,
                Verdict = verdict,
            });
        }

        return new JudgedSample(anyFailed ? Fail : anySuspect ? Suspect : anyJudged ? Pass : NotJudged, rules.Version, judged);
    }

    /// <summary>
    /// Judges a sample under the version in force for what it is: raw milk by species, a product lot by its product
    /// category. A product lot without a category, a category without rules, or a day before any version is not
    /// judged, with the reason; a product is never judged under the raw-milk standard.
    /// </summary>
    public static JudgedSample JudgeSample(RuleBook book, string lotKind, string? productCategory, string species, DateOnly localDate, IReadOnlyList<SampleItem> items)
    {
        string subject;
        if (lotKind == "product_lot")
        {
            if (productCategory is null)
            {
                return NotJudgedAll(items, "a product-lot sample without productCategory is not judged (raw-milk limits do not apply to products)");
            }

            if (!book.HasSubject(productCategory))
            {
                return NotJudgedAll(items, $"the rule table has no rows for product category '{productCategory}'");
            }

            subject = productCategory;
        }
        else
        {
            subject = RuleSubjects.RawMilk;
        }

        var version = book.InForce(subject, species, localDate);
        return version is null
            ? NotJudgedAll(items, $"no {subject} rule version for {species} is in force on {localDate:yyyy-MM-dd}")
            : Judge(version, items);
    }

    private static JudgedSample NotJudgedAll(IReadOnlyList<SampleItem> items, string reason) =>
        new(NotJudged, "", items.Select(i => new JudgedItem
        {
            Item = i.Item, Unit = i.Unit, Value = i.Value, Result = i.Result, Method = i.Method, Verdict = NotJudged,
        }).ToList(), reason);
}
