namespace HohhotCluster.FirmwareSim.Verification;

/// <summary>
/// The animal checks whose platform answers are not on main yet (issue 17: helpers C and D add them on their branches):
/// the day-end stock KPI from the registry, the withdrawal/colostrum flag on a bulk-tank lot with its alert, and the
/// breeding KPIs. Each says "not checked: ... not served" until it is wired here; this file is the one place the
/// merge changes (a line becomes a comparison that is a difference when the platform's answer is not the ledger's).
/// </summary>
internal static class PendingAnimalChecks
{
    public readonly record struct Line(string Text, bool IsDifference);

    public static Task<IReadOnlyList<Line>> RunAsync(VerifyOptions options, IReadOnlyList<LedgerKey> flaggedLots,
        IReadOnlyDictionary<string, (int Cows, int Goats)> dayEndStock, BreedingFigures breeding, CancellationToken cancellationToken)
    {
        _ = options;
        _ = cancellationToken;
        IReadOnlyList<Line> lines =
        [
            new($"not checked: the stock KPI from the registry (herd.dairy_cows, herd.dairy_goats at the day's end) not served: {dayEndStock.Count} ledger days wait for it", false),
            new($"not checked: the breeding KPIs (sexed-semen doses, embryo transfers, conception rate) not served: ledger {breeding.SexedDoses} sexed doses, {breeding.EmbryoTransfers} embryo transfers, {breeding.ConceptionRate:P1} conception", false),
        ];
        return Task.FromResult(lines);
    }
}
