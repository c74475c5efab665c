using System.Globalization;

namespace HohhotCluster.Telemetry.Audit.Rules;

/// <summary>
/// One row of the rule table: a limit (or a screen, or a recorded-only item) of one rule version, subject and species,
/// with its source: the standard (or announcement, or plan) that sets it, the clause, and the edition's date.
/// </summary>
public sealed record QualityRule
{
    public required string RuleVersion { get; init; }

    /// <summary><c>raw_milk</c>, or a product category (<see cref="RuleSubjects"/>) for a product lot.</summary>
    public string Subject { get; init; } = RuleSubjects.RawMilk;
    public required string Standard { get; init; }

    /// <summary>Where in the standard: clause, table, footnote.</summary>
    public string Clause { get; init; } = "";

    /// <summary>The publication date of the standard's edition (yyyy-MM-dd, or a year when only that is known).</summary>
    public string EditionDate { get; init; } = "";
    public string Amendment { get; init; } = "";
    public required string Species { get; init; }
    public required DateOnly EffectiveFrom { get; init; }
    public required string Item { get; init; }
    public required string Unit { get; init; }
    public string UnitAliases { get; init; } = "";

    /// <summary>
    /// <c>numeric</c> (min/max), <c>qualitative</c> (must be negative), <c>screen</c> (a positive rapid screen is
    /// <c>suspect</c>; only a confirmatory result fails) or <c>recorded</c> (no limit).
    /// </summary>
    public required string Kind { get; init; }
    public decimal? MinValue { get; init; }
    public decimal? MaxValue { get; init; }
    public string Source { get; init; } = "";

    /// <summary>Why the version was withdrawn (kept for the verdicts it gave, never used for new ones); null when in use.</summary>
    public string? Withdrawn { get; init; }
}

/// <summary>What a sample is judged as: raw milk, or a finished product of one category (the shared vocabulary).</summary>
public static class RuleSubjects
{
    public const string RawMilk = "raw_milk";

    public static readonly string[] ProductCategories =
        ["pasteurised_milk", "sterilised_milk", "modified_milk", "fermented_milk", "milk_powder", "cheese", "cream"];

    public static bool IsKnown(string subject) => subject == RawMilk || ProductCategories.Contains(subject);
}

/// <summary>The complete limits of one rule version for one subject and species.</summary>
public sealed record RuleVersion(string Version, string Subject, string Species, DateOnly EffectiveFrom, IReadOnlyDictionary<string, QualityRule> Items)
{
    public bool IsWithdrawn => Items.Values.Any(r => r.Withdrawn is not null);
}

/// <summary>
/// The rule table in memory. A version is complete (every limit of the subject and species), so the version in force
/// on a day is simply the one of that subject and species with the latest effective date on or before it; a
/// withdrawn version is kept (old verdicts name it) but never in force.
/// </summary>
public sealed class RuleBook
{
    private readonly Dictionary<(string Subject, string Species), List<RuleVersion>> _bySpecies = new();
    private readonly Dictionary<string, QualityRule> _catalogue = new(StringComparer.Ordinal);

    public RuleBook(IEnumerable<QualityRule> rules)
    {
        var versions = new Dictionary<(string, string, string), (DateOnly From, Dictionary<string, QualityRule> Items)>();
        foreach (var rule in rules)
        {
            if (!versions.TryGetValue((rule.Subject, rule.Species, rule.RuleVersion), out var version))
            {
                version = (rule.EffectiveFrom, new Dictionary<string, QualityRule>(StringComparer.Ordinal));
                versions[(rule.Subject, rule.Species, rule.RuleVersion)] = version;
            }
            else if (version.From != rule.EffectiveFrom)
            {
                throw new InvalidOperationException($"Rule version {rule.RuleVersion} ({rule.Species}) has two effective dates.");
            }

            version.Items[rule.Item] = rule;
            _catalogue.TryAdd(rule.Item, rule);
            Rules.Add(rule);
        }

        foreach (var ((subject, species, name), (from, items)) in versions)
        {
            if (!_bySpecies.TryGetValue((subject, species), out var list))
            {
                list = [];
                _bySpecies[(subject, species)] = list;
            }

            list.Add(new RuleVersion(name, subject, species, from, items));
        }

        foreach (var list in _bySpecies.Values)
        {
            list.Sort((a, b) => b.EffectiveFrom.CompareTo(a.EffectiveFrom));
        }
    }

    public List<QualityRule> Rules { get; } = [];

    /// <summary>The raw-milk version in force for the species on the day.</summary>
    public RuleVersion? InForce(string species, DateOnly localDate) => InForce(RuleSubjects.RawMilk, species, localDate);

    public RuleVersion? InForce(string subject, string species, DateOnly localDate)
    {
        if (_bySpecies.TryGetValue((subject, species), out var list))
        {
            foreach (var version in list)
            {
                if (version.EffectiveFrom <= localDate && !version.IsWithdrawn)
                {
                    return version;
                }
            }
        }

        return null;
    }

    public RuleVersion? Find(string subject, string species, string version) =>
        _bySpecies.TryGetValue((subject, species), out var list) ? list.Find(v => v.Version == version) : null;

    /// <summary>Whether any version (withdrawn or not) judges the subject: a product category without rows is not judged.</summary>
    public bool HasSubject(string subject) => _bySpecies.Keys.Any(k => k.Subject == subject);

    public IEnumerable<RuleVersion> Versions => _bySpecies.Values.SelectMany(v => v);

    /// <summary>The item's canonical unit when <paramref name="unit"/> is it or one of its aliases.</summary>
    public bool TryCanonicalUnit(string item, string unit, out QualityRule rule, out string canonical)
    {
        canonical = "";
        if (!_catalogue.TryGetValue(item, out rule!))
        {
            return false;
        }

        if (string.Equals(unit, rule.Unit, StringComparison.Ordinal))
        {
            canonical = rule.Unit;
            return true;
        }

        foreach (var alias in rule.UnitAliases.Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (string.Equals(unit, alias, StringComparison.Ordinal))
            {
                canonical = rule.Unit;
                return true;
            }
        }

        return false;
    }

    public bool IsKnownItem(string item) => _catalogue.ContainsKey(item);

    /// <summary>The rule table shipped with this build (Rules/gb19301-rules.csv), which seeds PostgreSQL.</summary>
    public static IReadOnlyList<QualityRule> LoadEmbeddedCsv()
    {
        using var stream = typeof(RuleBook).Assembly.GetManifestResourceStream("HohhotCluster.Telemetry.Audit.Rules.gb19301-rules.csv")
            ?? throw new InvalidOperationException("The embedded rule table Rules/gb19301-rules.csv is missing.");
        using var reader = new StreamReader(stream);
        return ParseCsv(reader.ReadToEnd());
    }

    public static IReadOnlyList<QualityRule> ParseCsv(string text)
    {
        var rows = Csv.Parse(text);
        if (rows.Count == 0)
        {
            return [];
        }

        var header = rows[0];
        int Col(string name) => header.IndexOf(name) is >= 0 and var i ? i : throw new FormatException($"Rule table has no column '{name}'.");
        int version = Col("rule_version"), subject = Col("subject"), standard = Col("standard"), clause = Col("clause"),
            edition = Col("edition_date"), amendment = Col("amendment"), species = Col("species"),
            from = Col("effective_from"), item = Col("item"), unit = Col("unit"), aliases = Col("unit_aliases"), kind = Col("kind"),
            min = Col("min"), max = Col("max"), source = Col("source");
        var rules = new List<QualityRule>(rows.Count - 1);
        for (var i = 1; i < rows.Count; i++)
        {
            var r = rows[i];
            if (r.Count == 1 && r[0].Length == 0)
            {
                continue;
            }

            if (r.Count != header.Count)
            {
                throw new FormatException($"Rule table line {i + 1} has {r.Count} fields, expected {header.Count}.");
            }

            var rule = new QualityRule
            {
                RuleVersion = r[version],
                Subject = r[subject],
                Standard = r[standard],
                Clause = r[clause],
                EditionDate = r[edition],
                Amendment = r[amendment],
                Species = r[species],
                EffectiveFrom = DateOnly.ParseExact(r[from], "yyyy-MM-dd", CultureInfo.InvariantCulture),
                Item = r[item],
                Unit = r[unit],
                UnitAliases = r[aliases],
                Kind = r[kind],
                MinValue = r[min].Length == 0 ? null : decimal.Parse(r[min], NumberStyles.Float, CultureInfo.InvariantCulture),
                MaxValue = r[max].Length == 0 ? null : decimal.Parse(r[max], NumberStyles.Float, CultureInfo.InvariantCulture),
                Source = r[source],
            };
            if (rule.Kind is not ("numeric" or "qualitative" or "screen" or "recorded") || rule.Species is not ("cow" or "goat")
                || (rule.Kind == "numeric" && rule.MinValue is null && rule.MaxValue is null))
            {
                throw new FormatException($"Rule table line {i + 1}: kind must be numeric (with a limit), qualitative, screen or recorded; species cow or goat.");
            }

            if (!RuleSubjects.IsKnown(rule.Subject))
            {
                throw new FormatException($"Rule table line {i + 1}: subject '{rule.Subject}' is neither raw_milk nor a product category.");
            }

            if (rule.Standard.Length == 0 || rule.Clause.Length == 0 || rule.Source.Length == 0)
            {
                throw new FormatException($"Rule table line {i + 1}: every row names its standard, clause and source.");
            }

            rules.Add(rule);
        }

        return rules;
    }
}
