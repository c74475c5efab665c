using System.Globalization;
using Grpc.Core;
using HohhotCluster.FirmwareSim.Publishing;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.FirmwareSim.Verification;

/// <summary>
/// The animals (issue 17) against the ledger: every animal event accepted but those the simulator faulted on purpose
/// (held back late, or reordered: the registry takes an animal's events in time order), the stock per pasture after the
/// ledger's last event there against the registry (<c>AnimalService.ListAnimals</c>), and the ledger's own day-end stock,
/// withdrawal and colostrum lots and breeding figures, which <see cref="PendingAnimalChecks"/> compares once the platform
/// serves them.
/// </summary>
internal sealed partial class LedgerVerifier
{
    private async Task CompareAnimalsAsync(LedgerSummary ledger, List<LedgerKey> acked, List<LedgerKey> quarantined, CancellationToken cancellationToken)
    {
        var inv = CultureInfo.InvariantCulture;
        var events = ledger.Keys.Values.Where(k => k.Kind == "animal_event" && k.Animal?.Event is not null).ToList();
        var flaggedLots = acked.Where(k => k.Animal is { WithdrawalMilkings: > 0 } or { ColostrumMilkings: > 0 }).ToList();
        var tankMilkings = acked.Count(k => k.Animal?.Remark is "withdrawal_tank" or "colostrum_tank");
        var separated = acked.Count(k => k.Animal?.Remark is "withdrawal_separate" or "colostrum_separate");
        if (events.Count == 0 && flaggedLots.Count == 0 && tankMilkings == 0 && separated == 0)
        {
            return;
        }

        // 1. Accepted, except the faults the simulator injected.
        var faulted = new HashSet<string>(StringComparer.Ordinal);
        var refusedAsFaulted = 0;
        foreach (var key in quarantined.Where(k => k.Kind == "animal_event" && k.Animal?.Event is not null))
        {
            if (key.Fault is FaultTag.Late or FaultTag.Reordered)
            {
                refusedAsFaulted++;
                faulted.Add(key.Owner);
                continue;
            }
            _differences++;
            output.WriteLine($"  animal event quarantined: {key.Animal!.Event} of {key.Animal.EarTag} on {key.Owner} ({key.Key.DeviceId}/{key.Key.BootEpoch}/{key.Key.Seq}, {key.LocalDay})");
        }
        var perType = events.Where(k => k.Fate == KeyFate.Counted).GroupBy(k => k.Animal!.Event!, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => string.Create(inv, $"{g.Key} {g.Count()}"));
        output.WriteLine(string.Create(inv,
            $"animal events: {events.Count(k => k.Fate == KeyFate.Counted)} accepted ({string.Join(", ", perType)}), {refusedAsFaulted} quarantined as the simulator's own late or reordered faults"));

        // 2. Stock per pasture after the ledger's last accepted animal event there, against the registry.
        var lastByPasture = events.Where(k => k.Fate == KeyFate.Counted && k.Animal!.StockAfter >= 0)
            .GroupBy(k => k.Owner, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(k => k.EventUnixMs).ThenBy(k => k.Key.Seq).Last(), StringComparer.Ordinal);
        if (options.ApiAddress is not null && lastByPasture.Count > 0)
        {
            using var connection = Connect();
            var client = new AnimalService.AnimalServiceClient(connection.Channel);
            int compared = 0, skipped = 0;
            try
            {
                foreach (var (pastureId, last) in lastByPasture.OrderBy(p => p.Key, StringComparer.Ordinal))
                {
                    if (faulted.Contains(pastureId))
                    {
                        skipped++;
                        continue;
                    }
                    var alive = await CountAliveAsync(client, pastureId, cancellationToken).ConfigureAwait(false);
                    compared++;
                    if (alive != last.Animal!.StockAfter)
                    {
                        _differences++;
                        output.WriteLine(string.Create(inv, $"  stock of {pastureId}: registry {alive} alive, ledger {last.Animal.StockAfter} after its last animal event ({last.LocalDay})"));
                    }
                }
                var note = skipped > 0 ? string.Create(inv, $" ({skipped} with faulted events not compared)") : "";
                output.WriteLine(string.Create(inv, $"animal stock: {compared} pastures' alive animals compared with the registry{note}"));
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
            {
                output.WriteLine("animal stock: not checked: AnimalService/ListAnimals not served");
            }
        }

        // 3. The ledger's day-end stock of Hohhot's pastures (bases apart), by species.
        var dayEnd = new SortedDictionary<string, (int Cows, int Goats)>(StringComparer.Ordinal);
        foreach (var day in events.Where(k => k.Fate == KeyFate.Counted).GroupBy(k => k.LocalDay, StringComparer.Ordinal))
        {
            int cows = 0, goats = 0;
            foreach (var pasture in day.Where(k => k.Animal!.InHohhot).GroupBy(k => k.Owner, StringComparer.Ordinal))
            {
                var last = pasture.OrderBy(k => k.EventUnixMs).ThenBy(k => k.Key.Seq).Last().Animal!;
                if (last.Species == "goat") { goats += last.StockAfter; } else { cows += last.StockAfter; }
            }
            dayEnd[day.Key] = (cows, goats);
        }
        foreach (var (day, (cows, goats)) in dayEnd)
        {
            output.WriteLine(string.Create(inv, $"animal stock (ledger, day end {day}, Hohhot pastures with animal events that day): {cows} cows, {goats} goats"));
        }

        // 4. Milk that must not reach a tank, and the lots it reached.
        output.WriteLine(string.Create(inv,
            $"withdrawal and colostrum milk: {separated} milkings kept apart (MilkedSeparately), {tankMilkings} milked into a tank, {flaggedLots.Count} bulk-tank lots hold them ({string.Join(", ", flaggedLots.Take(options.ListLimit).Select(k => k.Lot))})"));

        // 4b. The platform's unfit lots (AnimalMilkService.ListUnfitLots) against the ledger's: the same lots, each with the
        // ledger's withdrawal and colostrum milkings, unless a milking of its pasture was faulted on purpose.
        if (options.ApiAddress is not null)
        {
            await CompareUnfitLotsAsync(ledger, acked, cancellationToken).ConfigureAwait(false);
        }

        // 5. Breeding, as the ledger counts it.
        var counted = events.Where(k => k.Fate == KeyFate.Counted).Select(k => k.Animal!).ToList();
        var breeding = new BreedingFigures(
            Inseminations: counted.Count(a => a.Event == "insemination"),
            SexedDoses: counted.Count(a => a.Event == "insemination" && a.Sexed),
            EmbryoTransfers: counted.Count(a => a.Event == "embryo_transfer"),
            ImportedEmbryos: counted.Count(a => a.Event == "embryo_transfer" && a.EmbryoOrigin == "imported"),
            PregnantChecks: counted.Count(a => a.Event == "pregnancy_check" && a.Result == "Pregnant"),
            Vaccinations: counted.Count(a => a.Event == "vaccination"));
        output.WriteLine(string.Create(inv,
            $"breeding (ledger): {breeding.Inseminations} inseminations ({breeding.SexedDoses} sexed-semen doses), {breeding.EmbryoTransfers} embryo transfers ({breeding.ImportedEmbryos} imported), {breeding.PregnantChecks} pregnancy checks positive; conception rate {breeding.ConceptionRate:P1} (positive checks / services); {breeding.Vaccinations} vaccinations"));

        // 6. What the platform does not serve yet: said out loud, never passed silently.
        foreach (var line in await PendingAnimalChecks.RunAsync(options, dayEnd, breeding, cancellationToken).ConfigureAwait(false))
        {
            if (line.IsDifference)
            {
                _differences++;
            }
            output.WriteLine(line.Text);
        }
    }

    private async Task CompareUnfitLotsAsync(LedgerSummary ledger, List<LedgerKey> acked, CancellationToken cancellationToken)
    {
        var inv = CultureInfo.InvariantCulture;
        var collections = acked.Where(k => k.IsCollection && k.Lot is not null).ToList();
        if (collections.Count == 0 || !acked.Any(k => k.Kind == "milking"))
        {
            return; // no lot, or no milking sent (kinds narrowed): nothing the platform could place
        }
        var ledgerLots = LedgerLots.Of(acked);
        var expected = ledgerLots.UnfitMilkings;
        var faultedPastures = FaultedAnimalPastures(ledger);
        var found = new Dictionary<string, UnfitLot>(StringComparer.Ordinal);
        using var connection = Connect();
        var client = new AnimalMilkService.AnimalMilkServiceClient(connection.Channel);
        try
        {
            // The run's collections in windows of at most 92 days; a full page moves on from its last lot's collection.
            var from = DateTimeOffset.FromUnixTimeMilliseconds(collections.Min(k => k.EventUnixMs) - 60_000);
            var end = DateTimeOffset.FromUnixTimeMilliseconds(collections.Max(k => k.EventUnixMs) + 60_000);
            while (from < end)
            {
                var to = from.AddDays(90) < end ? from.AddDays(90) : end;
                var reply = await client.ListUnfitLotsAsync(new ListUnfitLotsRequest
                {
                    Scope = new Scope { Kind = ScopeKind.City },
                    From = from.ToString("O", inv),
                    To = to.ToString("O", inv),
                    Limit = 10_000,
                }, cancellationToken: cancellationToken).ConfigureAwait(false);
                foreach (var lot in reply.Lots.Where(l => ledgerLots.PastureOfLot.ContainsKey(l.LotId)))
                {
                    found[lot.LotId] = lot;
                }
                from = reply.Truncated && reply.Lots.Count > 0
                    ? DateTimeOffset.Parse(reply.Lots[^1].CollectedAt, inv)
                    : to;
            }
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
        {
            output.WriteLine("unfit lots: not checked: AnimalMilkService/ListUnfitLots not served");
            return;
        }

        var countsApart = 0;
        // The simulator's withdrawal and colostrum judgement is not yet the registry's at every edge (a withdrawal end,
        // a calving day, an upgraded database's earlier events): a lot judged apart is printed, not yet a difference.
        var judgedApart = 0;
        foreach (var (lotId, milkings) in expected.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            if (faultedPastures.Contains(ledgerLots.PastureOfLot[lotId]) && (!found.TryGetValue(lotId, out var seen) || seen.UnfitMilkings != milkings))
            {
                countsApart++;
                continue;
            }
            if (!found.TryGetValue(lotId, out var lot))
            {
                judgedApart++;
                output.WriteLine(string.Create(inv, $"  unfit lot missed: {lotId} holds {milkings} withdrawal or colostrum milkings (ledger); the platform does not flag it"));
            }
            else if (lot.UnfitMilkings != milkings)
            {
                judgedApart++;
                output.WriteLine(string.Create(inv, $"  unfit lot {lotId}: platform {lot.UnfitMilkings} unfit milkings, ledger {milkings}"));
            }
        }
        foreach (var lot in found.Values.Where(l => !expected.ContainsKey(l.LotId) && !faultedPastures.Contains(l.PastureId)).OrderBy(l => l.LotId, StringComparer.Ordinal))
        {
            judgedApart++;
            output.WriteLine(string.Create(inv, $"  unfit lot not in the ledger: the platform flags {lot.LotId} ({lot.UnfitMilkings} milkings, {string.Join(" ", lot.UnderWithdrawalEarTags)}); the ledger has none in it"));
        }
        var note = countsApart > 0 ? string.Create(inv, $" ({countsApart} lots of pastures with faulted milkings or animal or tank events not compared)") : "";
        output.WriteLine(string.Create(inv, $"unfit lots: {found.Count} flagged by the platform of the run's {ledgerLots.PastureOfLot.Count} collected lots, ledger {expected.Count}{note}; {judgedApart} judged apart"));
    }

    /// <summary>The run's collected lots in the ledger: each one's pasture, and the withdrawal or colostrum milkings in those that hold some.</summary>
    private sealed record LedgerLots(IReadOnlyDictionary<string, string> PastureOfLot, IReadOnlyDictionary<string, int> UnfitMilkings)
    {
        public static LedgerLots Of(List<LedgerKey> acked)
        {
            var collections = acked.Where(k => k.IsCollection && k.Lot is not null).ToList();
            return new LedgerLots(
                collections.GroupBy(k => k.Lot!, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First().Owner, StringComparer.Ordinal),
                collections.Where(k => k.Animal is { WithdrawalMilkings: > 0 } or { ColostrumMilkings: > 0 })
                    .ToDictionary(k => k.Lot!, k => k.Animal!.WithdrawalMilkings + k.Animal.ColostrumMilkings, StringComparer.Ordinal));
        }
    }

    /// <summary>
    /// Pastures where a milking, an animal event or a tank event was faulted or not counted: the platform may rightly
    /// know less than the ledger there (a treatment held back late is quarantined, so its withdrawal is not known).
    /// </summary>
    private static HashSet<string> FaultedAnimalPastures(LedgerSummary ledger) =>
        ledger.Keys.Values
            .Where(k => k.Kind is "milking" or "animal_event" or "bulk_tank" && (k.Fault != FaultTag.None || k.Fate != KeyFate.Counted))
            .Select(k => k.Owner).ToHashSet(StringComparer.Ordinal);

    private static async Task<int> CountAliveAsync(AnimalService.AnimalServiceClient client, string pastureId, CancellationToken cancellationToken)
    {
        var total = 0;
        var token = "";
        do
        {
            var page = await client.ListAnimalsAsync(new ListAnimalsRequest { PastureId = pastureId, PageSize = 1000, PageToken = token },
                cancellationToken: cancellationToken).ConfigureAwait(false);
            total += page.Animals.Count(a => a.Status == AnimalStatus.Alive);
            token = page.NextPageToken;
        }
        while (token.Length > 0);
        return total;
    }
}

/// <summary>Breeding figures of a ledger: what the platform's breeding KPIs must equal.</summary>
internal sealed record BreedingFigures(int Inseminations, int SexedDoses, int EmbryoTransfers, int ImportedEmbryos, int PregnantChecks, int Vaccinations)
{
    public int Services => Inseminations + EmbryoTransfers;

    public double ConceptionRate => Services == 0 ? 0 : (double)PregnantChecks / Services;
}
