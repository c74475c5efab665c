namespace HohhotCluster.FirmwareSim.Verification;

/// <summary>
/// The animal checks verify does not make yet: the day-end stock KPI from the registry and the breeding KPIs (the
/// platform serves both, KpiService; the ledger's day-end stock covers only pastures with an event that day, and its
/// breeding figures only the run, so neither is comparable as it stands). Each says "not checked", never passes.
/// </summary>
internal static class PendingAnimalChecks
{
    public readonly record struct Line(string Text, bool IsDifference);

    public static Task<IReadOnlyList<Line>> RunAsync(VerifyOptions options,
        IReadOnlyDictionary<string, (int Cows, int Goats)> dayEndStock, BreedingFigures breeding, CancellationToken cancellationToken)
    {
        _ = options;
        _ = cancellationToken;
        IReadOnlyList<Line> lines =
        [
            new($"not checked: the stock KPI from the registry (herd.dairy_cows, herd.dairy_goats at the day's end) not compared: the ledger's day-end stock of {dayEndStock.Count} days covers only pastures with an event that day", false),
            new($"not checked: the breeding KPIs (sexed-semen doses, embryo transfers, conception rate) not compared: ledger (this run only) {breeding.SexedDoses} sexed doses, {breeding.EmbryoTransfers} embryo transfers, {breeding.ConceptionRate:P1} conception", false),
        ];
        return Task.FromResult(lines);
    }
}
