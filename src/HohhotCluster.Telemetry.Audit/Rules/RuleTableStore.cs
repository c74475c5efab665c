using Dapper;
using HohhotCluster.Telemetry.Storage;
using Npgsql;

namespace HohhotCluster.Telemetry.Audit.Rules;

/// <summary>
/// The rule table in PostgreSQL (<c>quality_rule</c>). Rows come from the shipped CSV; a published row is never
/// changed (a new limit is a new rule version with its own effective date), so a CSV that edits a stored row stops
/// the process with a message instead of silently changing old verdicts' meaning. A version found wrong is withdrawn
/// by a migration (<c>withdrawn</c> says why): its rows stay for the verdicts that name it, it is never in force again.
/// </summary>
public sealed class RuleTableStore(NpgsqlDataSource dataSource)
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private RuleBook? _book;

    public async Task<RuleBook> GetAsync(CancellationToken cancellationToken = default)
    {
        if (_book is { } book)
        {
            return book;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            return _book ??= await SeedAndLoadAsync(RuleBook.LoadEmbeddedCsv(), cancellationToken);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Adds rules (idempotent), then reloads the table; used at start-up and by tests with their own rows.</summary>
    public async Task<RuleBook> SeedAndLoadAsync(IReadOnlyList<QualityRule> rules, CancellationToken cancellationToken = default)
    {
        await using var connection = await PostgresRetry.OpenAsync(dataSource, cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        await connection.ExecuteAsync(new CommandDefinition(
            """
            insert into quality_rule (rule_version, subject, standard, clause, edition_date, amendment, species, effective_from, item, unit, unit_aliases, kind, min_value, max_value, source)
            values (@RuleVersion, @Subject, @Standard, @Clause, @EditionDate, @Amendment, @Species, @EffectiveFrom, @Item, @Unit, @UnitAliases, @Kind, @MinValue, @MaxValue, @Source)
            on conflict (rule_version, species, item) do nothing
            """, rules.Select(Row), transaction, cancellationToken: cancellationToken));
        var stored = await LoadAsync(connection, transaction, cancellationToken);
        await transaction.CommitAsync(cancellationToken);

        var byKey = stored.ToDictionary(r => (r.RuleVersion, r.Species, r.Item));
        foreach (var rule in rules)
        {
            var existing = byKey[(rule.RuleVersion, rule.Species, rule.Item)];
            if (existing.EffectiveFrom != rule.EffectiveFrom || existing.Subject != rule.Subject || existing.Kind != rule.Kind || existing.MinValue != rule.MinValue
                || existing.MaxValue != rule.MaxValue || existing.Unit != rule.Unit)
            {
                throw new InvalidOperationException(
                    $"Rule {rule.RuleVersion}/{rule.Species}/{rule.Item} differs from the stored published row; publish a new rule version instead of editing one.");
            }
        }

        var book = new RuleBook(stored);
        _book = book;
        return book;
    }

    private static async Task<IReadOnlyList<QualityRule>> LoadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        var rows = await connection.QueryAsync<RuleRow>(new CommandDefinition(
            """
            select rule_version as RuleVersion, subject as Subject, standard as Standard, clause as Clause, edition_date as EditionDate,
                   amendment as Amendment, species as Species,
                   effective_from as EffectiveFrom, item as Item, unit as Unit, unit_aliases as UnitAliases, kind as Kind,
                   min_value as MinValue, max_value as MaxValue, source as Source, withdrawn as Withdrawn
            from quality_rule order by species, effective_from, item
            """, transaction: transaction, cancellationToken: cancellationToken));
        return rows.Select(r => new QualityRule
        {
            RuleVersion = r.RuleVersion,
            Subject = r.Subject,
            Standard = r.Standard,
            Clause = r.Clause,
            EditionDate = r.EditionDate,
            Withdrawn = r.Withdrawn,
            Amendment = r.Amendment,
            Species = r.Species,
            EffectiveFrom = r.EffectiveFrom,
            Item = r.Item,
            Unit = r.Unit,
            UnitAliases = r.UnitAliases,
            Kind = r.Kind,
            MinValue = r.MinValue,
            MaxValue = r.MaxValue,
            Source = r.Source,
        }).ToList();
    }

    private static object Row(QualityRule r) => new
    {
        r.RuleVersion, r.Subject, r.Standard, r.Clause, r.EditionDate, r.Amendment, r.Species,
        EffectiveFrom = r.EffectiveFrom.ToDateTime(TimeOnly.MinValue),
        r.Item, r.Unit, r.UnitAliases, r.Kind, r.MinValue, r.MaxValue, r.Source,
    };

    private sealed record RuleRow(
        string RuleVersion, string Subject, string Standard, string Clause, string EditionDate, string Amendment, string Species,
        DateOnly EffectiveFrom, string Item, string Unit, string UnitAliases, string Kind, decimal? MinValue, decimal? MaxValue,
        string Source, string? Withdrawn);
}
