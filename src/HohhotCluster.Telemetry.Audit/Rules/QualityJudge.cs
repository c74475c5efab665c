namespace HohhotCluster.Telemetry.Audit.Rules;

/// <summary>One tested item of a sample: a numeric value or a qualitative screen result, in the item's canonical unit.</summary>
public sealed record SampleItem(string Item, string Unit, decimal? Value, string? Result);

/// <summary>An item with the limit that judged it; stored in <c>quality_result.items</c> (names are the JSON contract).</summary>
public sealed record JudgedItem
{
    public required string Item { get; init; }
    public required string Unit { get; init; }
    public decimal? Value { get; init; }
    public string? Result { get; init; }
    public decimal? Min { get; init; }
    public decimal? Max { get; init; }

    /// <summary><c>pass</c>, <c>fail</c> or <c>not_judged</c> (no limit for it in the rule version).</summary>
    public required string Verdict { get; init; }
}

public sealed record JudgedSample(string Verdict, string RuleVersion, IReadOnlyList<JudgedItem> Items);

public static class QualityJudge
{
    public const string Pass = "pass";
    public const string Fail = "fail";
    public const string NotJudged = "not_judged";

    /// <summary>
    /// Judges every item against the rule version; limits are inclusive (protein 2.80 meets ">= 2.8"). The sample
    /// fails if any item fails, passes if at least one item was judged and none failed, else is not judged.
    /// </summary>
    public static JudgedSample Judge(RuleVersion rules, IReadOnlyList<SampleItem> items)
    {
        var judged = new List<JudgedItem>(items.Count);
        var anyJudged = false;
        var anyFailed = false;
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

            anyJudged |= verdict != NotJudged;
            anyFailed |= verdict == Fail;
            judged.Add(new JudgedItem
            {
                Item = item.Item,
                Unit = item.Unit,
                Value = item.Value,
                Result = item.Result,
                Min = rule?.Kind == "numeric" ? rule.MinValue : null,
                Max = rule?.Kind == "numeric" ? rule.MaxValue : null,
                Verdict = verdict,
            });
        }

        return new JudgedSample(anyFailed ? Fail : anyJudged ? Pass : NotJudged, rules.Version, judged);
    }
}
