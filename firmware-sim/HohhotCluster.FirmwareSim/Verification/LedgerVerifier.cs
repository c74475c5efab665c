using HohhotCluster.Telemetry.Client;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Grpc.Core;
using Grpc.Net.Client;
using HohhotCluster.FirmwareSim.Publishing;
using HohhotCluster.FirmwareSim.Simulation;
using HohhotCluster.Telemetry.Protos.V1;

namespace HohhotCluster.FirmwareSim.Verification;

internal sealed record VerifyOptions
{
    public required string LedgerPath { get; init; }
    public string? ApiAddress { get; init; }
    public string? ApiToken { get; init; }
    public string? InfluxAddress { get; init; }
    public string InfluxDatabase { get; init; } = "hohhot";
    public int ListLimit { get; init; } = 20;

    /// <summary>
    /// Skip mass balance and trace back: a ledger of a sample of a day (every k-th message, as the benchmark sends)
    /// holds productions without their silo transfers and loads without their pickups, so the chain cannot balance.
    /// </summary>
    public bool SkipChain { get; init; }

    /// <summary>Kinds the run's profile promises (<c>promises</c>, or every kind its fleet has devices for): each must be on the platform.</summary>
    public IReadOnlyList<string> PromisedKinds { get; init; } = [];
}

/// <summary>
/// Compares the keys a ledger says were acknowledged with what the platform holds: daily totals
/// per pasture and plant through ThroughputService, and points per device in InfluxDB, where the
/// timestamp's sub-millisecond nanoseconds carry seq % 1,000,000 so keys can be matched one by one.
/// </summary>
internal sealed partial class LedgerVerifier(VerifyOptions options, TextWriter output)
{
    private const double ToleranceT = 0.0005;
    private static readonly string[] s_measurements = [.. MessageKinds.All.Select(MessageKinds.Name)];
    private int _differences;

    public async Task<int> RunAsync(CancellationToken cancellationToken)
    {
        var ledger = LedgerSummary.Read(options.LedgerPath);
        var acked = new List<LedgerKey>();
        var quarantined = new List<LedgerKey>();
        var fates = new Dictionary<KeyFate, int>();
        int resent = 0, notAuthorised = 0, rateLimitedKeys = 0, rateLimitedAttempts = 0;
        foreach (var entry in ledger.Keys.Values)
        {
            var fate = entry.Fate;
            fates[fate] = fates.GetValueOrDefault(fate) + 1;
            switch (fate)
            {
                case KeyFate.Counted:
                    acked.Add(entry);
                    resent += entry.SuccessfulPubacks > 1 ? 1 : 0;
                    break;
                case KeyFate.Quarantined:
                    quarantined.Add(entry);
                    break;
                case KeyFate.Refused:
                    notAuthorised += entry.NotAuthorisedPubacks > 0 ? 1 : 0;
                    break;
            }
            rateLimitedKeys += entry.RateLimitedPubacks > 0 ? 1 : 0;
            rateLimitedAttempts += entry.RateLimitedPubacks;
        }
        var faults = ledger.FaultCopies;
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"ledger: {ledger.Lines} lines, {ledger.Keys.Count} keys, {acked.Count} acknowledged and counted ({resent} acknowledged more than once), {quarantined.Count} quarantined, {fates.GetValueOrDefault(KeyFate.Refused)} refused, {fates.GetValueOrDefault(KeyFate.NeverAcknowledged)} never acknowledged, {fates.GetValueOrDefault(KeyFate.Dropped)} dropped (spool full), {faults.Copies} fault copies ({faults.Acknowledged} acknowledged as counted, {faults.Quarantined} quarantined, {faults.Refused} refused, {faults.Unanswered} unanswered; none expected on the platform)"));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"quarantine: {quarantined.Count} keys the platform holds in quarantine (PUBACK 0x99), counted nowhere and not lost"));
        if (fates.GetValueOrDefault(KeyFate.Refused) > 0)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"refused: {fates[KeyFate.Refused]} keys stored nowhere ({notAuthorised} not authorised, PUBACK 0x87: a topic outside the gateway's owner; {fates[KeyFate.Refused] - notAuthorised} other refusals)"));
        }
        if (rateLimitedAttempts > 0)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"rate limited: {rateLimitedAttempts} attempts of {rateLimitedKeys} keys answered 0x97 or 0x96 (beyond a device's or the gateway's rate) and resent; stored nowhere until another answer says so"));
        }
        if (fates.GetValueOrDefault(KeyFate.QuarantineUnresolved) is > 0 and var unresolved)
        {
            // Counted or quarantined, the ledger cannot say which: the totals cannot be compared exactly.
            _differences += unresolved;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"unresolved: {unresolved} keys only in batches answered 0x99 (some item quarantined), their own answer never came: counted or quarantined, unknown"));
        }

        if (options.ApiAddress is not null)
        {
            await CompareThroughputAsync(acked, cancellationToken).ConfigureAwait(false);
            if (options.SkipChain)
            {
                output.WriteLine("mass balance, trace back: skipped (--skip-chain)");
            }
            else
            {
                await CompareChainAsync(ledger, acked, cancellationToken).ConfigureAwait(false);
                await CompareRoadsAsync(acked, cancellationToken).ConfigureAwait(false);
            }
            await ComparePassRatesAsync(acked, cancellationToken).ConfigureAwait(false);
        }
        await CompareAnimalsAsync(ledger, acked, quarantined, cancellationToken).ConfigureAwait(false);
        if (options.InfluxAddress is not null)
        {
            await ComparePointsAsync(acked, quarantined, cancellationToken).ConfigureAwait(false);
        }
        await CheckPromisesAsync(acked, cancellationToken).ConfigureAwait(false);
        output.WriteLine(_differences == 0 ? "verify: no difference" : string.Create(CultureInfo.InvariantCulture, $"verify: {_differences} difference(s)"));
        return _differences == 0 ? 0 : 1;
    }

    /// <summary>
    /// Every kind the profile promises must be in the ledger (acknowledged) and, with --influx, stored on the platform:
    /// "no difference" between a ledger and a platform that both lack product lots is no proof of a chain.
    /// </summary>
    private async Task CheckPromisesAsync(List<LedgerKey> acked, CancellationToken cancellationToken)
    {
        if (options.PromisedKinds.Count == 0)
        {
            return;
        }
        var inLedger = acked.GroupBy(e => e.Kind, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.LongCount(), StringComparer.Ordinal);
        using var http = options.InfluxAddress is null ? null : new HttpClient { BaseAddress = new Uri(options.InfluxAddress), Timeout = TimeSpan.FromMinutes(2) };
        var parts = new List<string>();
        foreach (var kind in options.PromisedKinds)
        {
            var ledgerCount = inLedger.GetValueOrDefault(kind);
            long? platformCount = null;
            if (http is not null)
            {
                var counts = await QueryCountsAsync(http, $"SELECT count(*) FROM \"{kind}\"", cancellationToken).ConfigureAwait(false);
                platformCount = counts.Values.Sum();
            }
            parts.Add(platformCount is { } p ? string.Create(CultureInfo.InvariantCulture, $"{kind} {ledgerCount}/{p}") : string.Create(CultureInfo.InvariantCulture, $"{kind} {ledgerCount}"));
            if (ledgerCount == 0)
            {
                _differences++;
                output.WriteLine($"  promised kind {kind}: the profile promises it, the ledger has none acknowledged");
            }
            if (platformCount == 0)
            {
                _differences++;
                output.WriteLine($"  promised kind {kind}: the profile promises it, the platform holds none");
            }
        }
        output.WriteLine($"promised kinds (ledger{(http is null ? "" : "/platform")}): {string.Join(", ", parts)}");
    }

    private sealed class DayTotals
    {
        public double MilkedKg;
        public double ProducedKg;
        public double ProcessedKg;
        public long Milkings;
        public long Collections;
        public long Intakes;
    }

    private async Task CompareThroughputAsync(List<LedgerKey> acked, CancellationToken cancellationToken)
    {
        var expected = new SortedDictionary<(string Owner, string Day), DayTotals>();
        var ownerIsPlant = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var entry in acked)
        {
            if (!expected.TryGetValue((entry.Owner, entry.LocalDay), out var totals))
            {
                totals = new DayTotals();
                expected.Add((entry.Owner, entry.LocalDay), totals);
            }
            switch (entry.Kind)
            {
                case "milking": totals.MilkedKg += entry.Kg; totals.Milkings++; ownerIsPlant[entry.Owner] = false; break;
                case "bulk_tank" when entry.IsCollection: totals.ProducedKg += entry.Kg; totals.Collections++; ownerIsPlant[entry.Owner] = false; break;
                case "plant_intake": totals.ProcessedKg += entry.Kg; totals.Intakes++; ownerIsPlant[entry.Owner] = true; break;
            }
        }

        using var connection = Connect();
        var client = new ThroughputService.ThroughputServiceClient(connection.Channel);
        var compared = 0;
        foreach (var ((owner, day), totals) in expected)
        {
            if (!ownerIsPlant.TryGetValue(owner, out var isPlant))
            {
                continue; // only level samples: nothing the throughput API counts
            }
            var reply = await client.GetDailyThroughputAsync(new GetDailyThroughputRequest
            {
                LocalDate = day,
                Scope = new Scope { Kind = isPlant ? ScopeKind.Plant : ScopeKind.Pasture, Id = owner },
            }, cancellationToken: cancellationToken).ConfigureAwait(false);
            compared++;
            var where = $"{(isPlant ? "plant" : "pasture")} {owner} {day}";
            if (isPlant)
            {
                CompareTonnes(where, "processed_t", reply.ProcessedT, totals.ProcessedKg);
                CompareCount(where, "intake_count", reply.IntakeCount, totals.Intakes);
            }
            else
            {
                CompareTonnes(where, "milked_t", reply.MilkedT, totals.MilkedKg);
                CompareTonnes(where, "produced_t", reply.ProducedT, totals.ProducedKg);
                CompareCount(where, "milking_count", reply.MilkingCount, totals.Milkings);
                CompareCount(where, "collection_count", reply.CollectionCount, totals.Collections);
            }
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"throughput: compared {compared} owner-days"));
    }

    /// <summary>The platform's API as the account of --api-token or the environment (HOHHOT_TOKEN, HOHHOT_USER, HOHHOT_CA).</summary>
    private PlatformConnection Connect() => PlatformConnection.FromEnvironment(options.ApiAddress!, options.ApiToken);


    /// <summary>
    /// The chain as the ledger tells it (pickups, intakes, silo transfers, production, failing acceptance samples)
    /// against TraceabilityService: MassBalance of every plant-day shows the ledger's received and used kg and no
    /// flag but those the ledger explains (a load that failed its acceptance sample: sent back, so unblended, and
    /// watered_load when water was added; a load or batch the run ended before blending or using); TraceBack of
    /// product lots reaches exactly the bulk-tank lots the ledger's pickups put into them.
    /// </summary>
    private async Task CompareChainAsync(LedgerSummary ledger, List<LedgerKey> acked, CancellationToken cancellationToken)
    {
        var pickupsOfLoad = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var loadsOfBatch = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var blendedLoads = new HashSet<string>(StringComparer.Ordinal);
        var failedLoads = new HashSet<string>(StringComparer.Ordinal);
        var batchKg = new Dictionary<string, (double In, double Out)>(StringComparer.Ordinal);
        var products = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var plantDays = new SortedDictionary<(string Plant, string Day), (double Received, double Used)>();
        var intakeKg = new Dictionary<string, double>(StringComparer.Ordinal);
        var intakes = new List<(string Plant, string Day, string? Load, double Kg)>();
        foreach (var entry in acked)
        {
            switch (entry.Kind)
            {
                case "tanker_pickup" when entry.Lot is { } load && entry.Source is { } bulkLot:
                    Add(pickupsOfLoad, load, bulkLot);
                    break;
                case "plant_intake":
                    if (entry.Lot is { } received)
                    {
                        intakeKg[received] = entry.Kg;
                    }
                    intakes.Add((entry.Owner, entry.LocalDay, entry.Lot, entry.Kg));
                    plantDays.TryAdd((entry.Owner, entry.LocalDay), default);
                    break;
                case "silo_transfer" when entry.Lot is { } batch && entry.Source is { } load:
                    Add(loadsOfBatch, batch, load);
                    blendedLoads.Add(load);
                    var kg = batchKg.GetValueOrDefault(batch);
                    batchKg[batch] = (kg.In + entry.Kg, kg.Out);
                    plantDays.TryAdd((entry.Owner, entry.LocalDay), default);
                    break;
                case "production" when entry.Lot is { } product && entry.Source is { } batch:
                    products[product] = batch;
                    var used = batchKg.GetValueOrDefault(batch);
                    batchKg[batch] = (used.In, used.Out + entry.Kg);
                    var productionDay = plantDays.GetValueOrDefault((entry.Owner, entry.LocalDay));
                    plantDays[(entry.Owner, entry.LocalDay)] = (productionDay.Received, productionDay.Used + entry.Kg);
                    break;
                case "quality" when entry.Verdict is "fail" or "suspect" && entry.Lot is { } lot:
                    failedLoads.Add(lot);
                    break;
            }
        }
        // Received is accepted milk: a load whose acceptance sample failed (or screened positive) was sent back.
        foreach (var (plant, day, load, kg) in intakes.Where(i => i.Load is null || !failedLoads.Contains(i.Load)))
        {
            var totals = plantDays[(plant, day)];
            plantDays[(plant, day)] = (totals.Received + kg, totals.Used);
        }

        if (plantDays.Count == 0)
        {
            return;
        }
        // A load weighed more than 1 % above its pickups had water added (the simulator's shrink is 0.05-0.2 %).
        var pickedUpKg = acked.Where(e => e.Kind == "tanker_pickup" && e.Lot is not null).GroupBy(e => e.Lot!, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Sum(e => e.Kg), StringComparer.Ordinal);
        var wateredLoads = intakeKg.Where(i => pickedUpKg.TryGetValue(i.Key, out var kg) && i.Value > kg * 1.005).Select(i => i.Key).ToHashSet(StringComparer.Ordinal);

        using var connection = Connect();
        var client = new TraceabilityService.TraceabilityServiceClient(connection.Channel);
        int flags = 0, explained = 0;
        foreach (var ((plant, day), totals) in plantDays)
        {
            var reply = await client.MassBalanceAsync(new MassBalanceRequest { PlantId = plant, LocalDate = day }, cancellationToken: cancellationToken).ConfigureAwait(false);
            var where = $"plant {plant} {day}";
            CompareTonnes(where, "mass balance received", reply.ReceivedKg / 1000, totals.Received);
            CompareTonnes(where, "mass balance used", reply.UsedKg / 1000, totals.Used);
            foreach (var flag in reply.Discrepancies)
            {
                flags++;
                var id = flag.Lot?.Id ?? "";
                var why = flag.Kind switch
                {
                    "watered_load" or "unblended_receipt" when failedLoads.Contains(id) => "failed its acceptance sample (injected)",
                    "unblended_receipt" when !blendedLoads.Contains(id) => "not blended before the run ended",
                    "silo_imbalance" when batchKg.TryGetValue(id, out var kg) && ChainBeyond(kg.Out, kg.In) =>
                        kg.Out > kg.In ? "filled partly before the run began (warm-up, not published)" : "not used up before the run ended",
                    "unknown_origin" when !pickupsOfLoad.ContainsKey(id) => "picked up before the run began (warm-up, not published)",
                    "watered_load" when wateredLoads.Contains(id) => "water added on the road (injected; weighbridge above its pickups)",
                    "suspected_watering" when wateredLoads.Contains(id) => "water added on the road (injected; freezing point above its pastures' baseline)",
                    _ => null,
                };
                if (why is null)
                {
                    _differences++;
                    output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                        $"  {where} mass balance: unexpected {flag.Kind} on {id} (expected {flag.ExpectedKg:F1} kg, actual {flag.ActualKg:F1} kg): {flag.Detail}"));
                }
                else
                {
                    explained++;
                    output.WriteLine($"  {where} mass balance: {flag.Kind} on {id}: {why}");
                }
            }
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"mass balance: compared {plantDays.Count} plant-days, {flags} flags ({explained} explained by the ledger)"));

        var traced = 0;
        // With the animals (issue 17): the bulk-tank lots a trace back says hold withdrawal or colostrum milk are the
        // ledger's, on pastures where nothing the platform needs for it was faulted.
        var ledgerLots = LedgerLots.Of(acked);
        var faulted = FaultedAnimalPastures(ledger);
        var placeable = acked.Any(k => k.Kind == "milking");
        int withAnimals = 0, unfitTraced = 0;
        foreach (var (product, batch) in products)
        {
            var expected = new SortedSet<string>(StringComparer.Ordinal);
            foreach (var load in loadsOfBatch.GetValueOrDefault(batch) ?? [])
            {
                expected.UnionWith(pickupsOfLoad.GetValueOrDefault(load) ?? []);
            }
            if (expected.Count == 0 || traced >= options.ListLimit)
            {
                continue; // pickups not in this ledger (kinds narrowed), or enough traced
            }
            traced++;
            var trace = await client.TraceBackAsync(new TraceBackRequest { ProductLotId = product }, cancellationToken: cancellationToken).ConfigureAwait(false);
            var reached = new SortedSet<string>(trace.Lots.Where(l => l.Ref.Kind == LotKind.BulkTank).Select(l => l.Ref.Id), StringComparer.Ordinal);
            if (!reached.SetEquals(expected))
            {
                _differences++;
                output.WriteLine($"  trace back {product}: platform reaches [{string.Join(", ", reached)}], ledger [{string.Join(", ", expected)}]");
            }
            if (trace.Animals != AnimalsKnowledge.Known || !placeable)
            {
                continue;
            }
            foreach (var lot in trace.Lots.Where(l => l.Ref.Kind == LotKind.BulkTank && expected.Contains(l.Ref.Id)).DistinctBy(l => l.Ref.Id))
            {
                withAnimals += lot.Animals is { Animals: > 0 } ? 1 : 0;
                var platformUnfit = lot.Animals is { } a && (a.WithdrawalMilkings > 0 || a.ColostrumMilkings > 0);
                unfitTraced += platformUnfit ? 1 : 0;
                if (platformUnfit != ledgerLots.UnfitMilkings.ContainsKey(lot.Ref.Id) && !faulted.Contains(ledgerLots.PastureOfLot.GetValueOrDefault(lot.Ref.Id, "")))
                {
                    // Printed, not yet a difference: as for the unfit lots (LedgerVerifier.Animals.cs).
                    output.WriteLine($"  trace back {product}: bulk-tank lot {lot.Ref.Id} {(platformUnfit ? "holds" : "does not hold")} withdrawal or colostrum milk on the platform, {(platformUnfit ? "not" : "but")} in the ledger");
                }
            }
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"trace back: {traced} product lots traced to their bulk-tank lots; {withAnimals} of those lots name their animals, {unfitTraced} hold withdrawal or colostrum milk"));
    }

    /// <summary>
    /// Tanker loggers: the road of each load (up to --list-limit of them) that the ledger's acknowledged tanker_log
    /// readings name holds exactly those readings (on the route or outside it), and a route time once it was weighed in.
    /// </summary>
    private async Task CompareRoadsAsync(List<LedgerKey> acked, CancellationToken cancellationToken)
    {
        var readingsOfLoad = new SortedDictionary<string, int>(StringComparer.Ordinal);
        var weighedIn = new HashSet<string>(StringComparer.Ordinal);
        var pickedUp = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in acked)
        {
            switch (entry.Kind)
            {
                case "tanker_log" when entry.Lot is { } load:
                    readingsOfLoad[load] = readingsOfLoad.GetValueOrDefault(load) + 1;
                    break;
                case "plant_intake" when entry.Lot is { } load:
                    weighedIn.Add(load);
                    break;
                case "tanker_pickup" when entry.Lot is { } load:
                    pickedUp.Add(load);
                    break;
            }
        }
        if (readingsOfLoad.Count == 0)
        {
            return;
        }
        using var connection = Connect();
        var client = new TraceabilityService.TraceabilityServiceClient(connection.Channel);
        var compared = 0;
        foreach (var (load, readings) in readingsOfLoad)
        {
            if (compared >= options.ListLimit || !pickedUp.Contains(load))
            {
                continue; // enough compared, or its pickups are not in this ledger (warm-up, kinds narrowed): no lot to trace
            }
            compared++;
            var trace = await client.TraceBackAsync(new TraceBackRequest { ProductLotId = load, Kind = LotKind.TankerLoad }, cancellationToken: cancellationToken).ConfigureAwait(false);
            var road = trace.Root?.Road;
            var held = road is null ? 0 : road.Readings + road.ReadingsOutsideRoute;
            if (held != readings)
            {
                _differences++;
                output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  road of tanker load {load}: platform holds {held} logger readings, ledger {readings}"));
            }
            if (weighedIn.Contains(load) && road?.RouteMinutes is null)
            {
                _differences++;
                output.WriteLine($"  road of tanker load {load}: weighed in, but the platform has no route time");
            }
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"tanker roads: {compared} loads' logger readings compared ({readingsOfLoad.Count} loads logged)"));
    }

    private static bool ChainBeyond(double actual, double expected) => Math.Abs(actual - expected) > Math.Max(Math.Abs(expected) * 0.02, 0.5);

    private static void Add(Dictionary<string, HashSet<string>> map, string key, string value)
    {
        if (!map.TryGetValue(key, out var set))
        {
            set = new HashSet<string>(StringComparer.Ordinal);
            map.Add(key, set);
        }
        set.Add(value);
    }

    /// <summary>Passed and failed samples per pasture and plant over the ledger's sampling days, against AuditService.GetPassRates.</summary>
    private async Task ComparePassRatesAsync(List<LedgerKey> acked, CancellationToken cancellationToken)
    {
        var perOwner = new SortedDictionary<string, (bool Plant, long Passed, long Failed, string From, string To)>(StringComparer.Ordinal);
        var isPlant = new HashSet<string>(acked.Where(e => e.Kind is "plant_intake" or "silo_transfer" or "production").Select(e => e.Owner), StringComparer.Ordinal);
        foreach (var entry in acked)
        {
            if (entry.Kind != "quality" || entry.Verdict is null)
            {
                continue;
            }
            var day = DairySimulation.LocalDayOf(entry.PointUnixMs).ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            var owner = perOwner.GetValueOrDefault(entry.Owner, (isPlant.Contains(entry.Owner) || entry.Owner.StartsWith("PL", StringComparison.Ordinal), 0, 0, day, day));
            perOwner[entry.Owner] = (owner.Plant, owner.Passed + (entry.Verdict == "pass" ? 1 : 0), owner.Failed + (entry.Verdict == "fail" ? 1 : 0),
                string.CompareOrdinal(day, owner.From) < 0 ? day : owner.From, string.CompareOrdinal(day, owner.To) > 0 ? day : owner.To);
        }
        if (perOwner.Count == 0)
        {
            return;
        }
        using var connection = Connect();
        var client = new AuditService.AuditServiceClient(connection.Channel);
        foreach (var (owner, expected) in perOwner)
        {
            var report = await client.GetPassRatesAsync(new AuditQuery
            {
                Scope = new AuditScope { Kind = expected.Plant ? AuditScopeKind.Plant : AuditScopeKind.Pasture, Id = owner },
                FromDate = expected.From,
                ToDate = expected.To,
            }, cancellationToken: cancellationToken).ConfigureAwait(false);
            var where = $"{(expected.Plant ? "plant" : "pasture")} {owner} {expected.From}..{expected.To}";
            CompareCount(where, "quality samples passed", report.Overall?.Passed ?? 0, expected.Passed);
            CompareCount(where, "quality samples failed", report.Overall?.Failed ?? 0, expected.Failed);
        }
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"pass rates: compared {perOwner.Count} pastures and plants"));
    }

    private void CompareTonnes(string where, string field, double platformT, double ledgerKg)
    {
        var ledgerT = ledgerKg / 1000.0;
        if (Math.Abs(platformT - ledgerT) > ToleranceT)
        {
            _differences++;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {where} {field}: platform {platformT:F4} t, ledger {ledgerT:F4} t ({(platformT < ledgerT ? "lost" : "duplicated or unexpected")} {Math.Abs(platformT - ledgerT):F4} t)"));
        }
    }

    private void CompareCount(string where, string field, long platform, long ledger)
    {
        if (platform != ledger)
        {
            _differences++;
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {where} {field}: platform {platform}, ledger {ledger} ({(platform < ledger ? "lost" : "duplicated or unexpected")} {Math.Abs(platform - ledger)})"));
        }
    }

    /// <summary>
    /// Points per device against the counted keys: a counted key without its point is lost, a point of a counted key
    /// in more than one series (same time, other tags) duplicated, any other point unexpected (noted when the ledger
    /// has its key in quarantine, where the platform should have kept it away from InfluxDB).
    /// </summary>
    private async Task ComparePointsAsync(List<LedgerKey> acked, List<LedgerKey> quarantined, CancellationToken cancellationToken)
    {
        using var http = new HttpClient { BaseAddress = new Uri(options.InfluxAddress!), Timeout = TimeSpan.FromMinutes(2) };
        var quarantinedPoints = new HashSet<(string Device, long PointMs, long SeqFold)>();
        foreach (var entry in quarantined)
        {
            quarantinedPoints.Add((entry.Key.DeviceId, entry.PointUnixMs, entry.Key.Seq % 1_000_000));
        }
        foreach (var measurement in s_measurements)
        {
            var byDevice = new Dictionary<string, Dictionary<(long EventMs, long SeqFold), LedgerKey>>(StringComparer.Ordinal);
            long minMs = long.MaxValue, maxMs = long.MinValue;
            foreach (var entry in acked)
            {
                if (entry.Kind != measurement)
                {
                    continue;
                }
                if (!byDevice.TryGetValue(entry.Key.DeviceId, out var keys))
                {
                    keys = [];
                    byDevice.Add(entry.Key.DeviceId, keys);
                }
                keys[(entry.PointUnixMs, entry.Key.Seq % 1_000_000)] = entry;
                minMs = Math.Min(minMs, entry.PointUnixMs);
                maxMs = Math.Max(maxMs, entry.PointUnixMs);
            }
            if (byDevice.Count == 0)
            {
                continue;
            }
            var window = string.Create(CultureInfo.InvariantCulture, $"time >= {minMs * 1_000_000} AND time < {(maxMs + 1) * 1_000_000}");
            var counts = await QueryCountsAsync(http, $"SELECT count(*) FROM \"{measurement}\" WHERE {window} GROUP BY \"device\"", cancellationToken).ConfigureAwait(false);
            long expectedTotal = 0, platformTotal = 0;
            var lost = new List<string>();
            var duplicated = new List<string>();
            var unexpected = new List<string>();
            foreach (var (device, keys) in byDevice)
            {
                expectedTotal += keys.Count;
                var platform = counts.GetValueOrDefault(device);
                if (platform == keys.Count)
                {
                    continue;
                }
                // Counts differ: fetch the device's timestamps and match keys one by one.
                var times = await QueryTimesAsync(http, $"SELECT * FROM \"{measurement}\" WHERE \"device\" = '{device.Replace("'", "", StringComparison.Ordinal)}' AND {window}", cancellationToken).ConfigureAwait(false);
                var seen = new HashSet<(long, long)>();
                foreach (var ns in times)
                {
                    var point = (ns / 1_000_000, ns % 1_000_000);
                    var where = string.Create(CultureInfo.InvariantCulture, $"{measurement} {device} time {point.Item1} ms seq%1e6 {point.Item2}");
                    if (!keys.ContainsKey(point))
                    {
                        unexpected.Add(quarantinedPoints.Contains((device, point.Item1, point.Item2)) ? where + " (its key was answered 0x99: quarantined)" : where);
                    }
                    else if (!seen.Add(point))
                    {
                        duplicated.Add(where);
                    }
                }
                foreach (var (point, entry) in keys)
                {
                    if (!seen.Contains(point))
                    {
                        lost.Add(string.Create(CultureInfo.InvariantCulture, $"{measurement} ({entry.Key.DeviceId}, {entry.Key.BootEpoch}, {entry.Key.Seq})"));
                    }
                }
            }
            foreach (var (device, count) in counts)
            {
                platformTotal += count;
                if (!byDevice.ContainsKey(device))
                {
                    unexpected.Add(string.Create(CultureInfo.InvariantCulture, $"{measurement} {device}: {count} points, none in the ledger"));
                }
            }
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"influx {measurement}: ledger {expectedTotal} keys, platform {platformTotal} points, {lost.Count} lost, {duplicated.Count} duplicated, {unexpected.Count} unexpected"));
            _differences += lost.Count + duplicated.Count + unexpected.Count;
            PrintList("lost", lost);
            PrintList("duplicated", duplicated);
            PrintList("unexpected", unexpected);
        }
    }

    private void PrintList(string title, List<string> items)
    {
        for (var i = 0; i < items.Count && i < options.ListLimit; i++)
        {
            output.WriteLine($"  {title}: {items[i]}");
        }
        if (items.Count > options.ListLimit)
        {
            output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  ... and {items.Count - options.ListLimit} more {title}"));
        }
    }

    private async Task<JsonElement> QueryAsync(HttpClient http, string query, CancellationToken cancellationToken)
    {
        var uri = $"query?db={Uri.EscapeDataString(options.InfluxDatabase)}&epoch=ns&q={Uri.EscapeDataString(query)}";
        using var response = await http.GetAsync(new Uri(uri, UriKind.Relative), cancellationToken).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken).ConfigureAwait(false);
        var result = body.GetProperty("results")[0];
        if (result.TryGetProperty("error", out var error))
        {
            throw new InvalidOperationException($"InfluxDB: {error.GetString()} (query: {query})");
        }
        return result;
    }

    /// <summary>count(*) gives one count per field: a point's count is the largest of them.</summary>
    private async Task<Dictionary<string, long>> QueryCountsAsync(HttpClient http, string query, CancellationToken cancellationToken)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        var result = await QueryAsync(http, query, cancellationToken).ConfigureAwait(false);
        if (!result.TryGetProperty("series", out var series))
        {
            return counts;
        }
        foreach (var item in series.EnumerateArray())
        {
            var device = item.TryGetProperty("tags", out var tags) && tags.TryGetProperty("device", out var tag) ? tag.GetString() ?? "" : "";
            long max = 0;
            foreach (var row in item.GetProperty("values").EnumerateArray())
            {
                for (var i = 1; i < row.GetArrayLength(); i++)
                {
                    if (row[i].ValueKind == JsonValueKind.Number)
                    {
                        max = Math.Max(max, row[i].GetInt64());
                    }
                }
            }
            counts[device] = counts.GetValueOrDefault(device) + max;
        }
        return counts;
    }

    private async Task<List<long>> QueryTimesAsync(HttpClient http, string query, CancellationToken cancellationToken)
    {
        var times = new List<long>();
        var result = await QueryAsync(http, query, cancellationToken).ConfigureAwait(false);
        if (result.TryGetProperty("series", out var series))
        {
            foreach (var item in series.EnumerateArray())
            {
                foreach (var row in item.GetProperty("values").EnumerateArray())
                {
                    times.Add(row[0].GetInt64());
                }
            }
        }
        return times;
    }
}
