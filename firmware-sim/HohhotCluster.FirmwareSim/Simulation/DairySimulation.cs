using System.Globalization;
using HohhotCluster.FirmwareSim.Animals;
using HohhotCluster.FirmwareSim.Fleet;

namespace HohhotCluster.FirmwareSim.Simulation;

/// <summary>
/// Generates what the fleet's devices report, one local day (UTC+8) at a time. Days must be
/// generated in order: animals, tanks and tanker routes carry their state from day to day.
/// Mass balance holds by construction: every kg put in a tank is collected exactly once, and a
/// tanker delivers what it collected less a small shrink.
/// </summary>
internal sealed partial class DairySimulation
{
    public const long ChinaOffsetMs = 8 * 3_600_000L;
    private const long MinuteMs = 60_000L;
    private const double MinimumCollectionKg = 100;
    private const double ColostrumDays = 7;

    private readonly FleetModel _fleet;
    private readonly PastureRuntime[] _pastures;
    private readonly int[] _sweepMinutes;
    private DateOnly? _lastDay;
    private long _order;
    private readonly Dictionary<int, int> _loadsPerDay = [];
    private readonly PlantRuntime[] _plants;
    private bool _forceWateredLoad;

    /// <summary>
    /// The day the profile's forced incidents happen: the first published day (after the warm-up), or else the first
    /// day generated.
    /// </summary>
    public DateOnly? ForcedIncidentDay { get; init; }

    /// <summary>
    /// The first instant published (the run's start): a lot's withdrawal and colostrum milkings count only milkings from
    /// then on (the platform never hears of the warm-up's), and the tank the milk line feeds then is said then.
    /// </summary>
    public long PublishedFromMs { get; init; } = long.MinValue;

    /// <summary>The animal event types published (the rest still happen, unreported); default every type.</summary>
    public HashSet<AnimalEventType> AnimalEvents { get; init; } = [.. AnimalEventTypes.All];

    /// <summary>The first day generated.</summary>
    public DateOnly? FirstDay { get; private set; }

    /// <summary>
    /// Day index 0 of the animals' lives: the day before the first published day (the generated herd is the stock
    /// <c>register</c> imports), else the first day generated. The animals do not change before it: warm-up days
    /// advance tanks, tankers and silos only, so the registry's stock is the run's.
    /// </summary>
    public DateOnly AnimalAnchorDay => ForcedIncidentDay?.AddDays(-1) ?? FirstDay!.Value;

    public DairySimulation(FleetModel fleet)
    {
        _fleet = fleet;
        _pastures = new PastureRuntime[fleet.Pastures.Count];
        for (var i = 0; i < _pastures.Length; i++)
        {
            _pastures[i] = new PastureRuntime(fleet.Pastures[i]);
        }
        _plants = [.. fleet.Plants.Select(p => new PlantRuntime(p))];
        _sweepMinutes = new int[fleet.Profile.CollectionTimes.Count];
        for (var i = 0; i < _sweepMinutes.Length; i++)
        {
            var time = TimeOnly.ParseExact(fleet.Profile.CollectionTimes[i], "HH:mm", CultureInfo.InvariantCulture);
            _sweepMinutes[i] = (time.Hour * 60) + time.Minute;
        }
        Array.Sort(_sweepMinutes);
    }

    public static long LocalDayStartMs(DateOnly day) =>
        ((long)(day.DayNumber - DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber) * 86_400_000L) - ChinaOffsetMs;

    public static DateOnly LocalDayOf(long unixMs) =>
        DateOnly.FromDayNumber(DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber + (int)Math.Floor((unixMs + ChinaOffsetMs) / 86_400_000.0));

    /// <summary>Events of one local day, unsorted; some (deliveries, late pickups) fall after midnight.</summary>
    public List<SimEvent> GenerateDay(DateOnly day)
    {
        if (_lastDay is { } last && day.DayNumber != last.DayNumber + 1)
        {
            throw new InvalidOperationException("days must be generated consecutively");
        }
        var advance = _lastDay is not null;
        _lastDay = day;
        FirstDay ??= day;

        var events = new List<SimEvent>(EstimateEvents());
        var sweepCollections = new List<TankCollection>[_sweepMinutes.Length];
        for (var s = 0; s < sweepCollections.Length; s++)
        {
            sweepCollections[s] = [];
        }
        var loads = new List<TankerLoad>();
        var forcedToday = ForcedIncidentDay is { } forcedDay ? forcedDay == day : !advance;
        PlanIncidents(day, forced: forcedToday ? _fleet.Profile.Incidents.Forced : []);
        foreach (var runtime in _pastures)
        {
            var forceWithdrawal = forcedToday && _fleet.Profile.Incidents.Forced.Contains("withdrawal_milk")
                && runtime.Pasture == _fleet.Pastures.Find(p => p.Species == AnimalSpecies.Cow);
            if (advance && day > AnimalAnchorDay)
            {
                AdvanceAnimals(runtime.Pasture, day, events, forceWithdrawal);
            }
            else if (forceWithdrawal)
            {
                var forcedEvents = new List<(long, AnimalLifeEvent)>();
                AnimalLife.ForceWithdrawalToTank(runtime.Pasture, day, (t, e) => forcedEvents.Add((t, e)), _fleet.Seed);
                AddAnimalEvents(runtime.Pasture, forcedEvents, events);
            }
            GeneratePastureDay(runtime, day, events, sweepCollections, loads);
            GenerateFarmRecords(runtime.Pasture, day, events);
            GenerateFeeding(runtime.Pasture, day, events);
        }
        for (var s = 0; s < sweepCollections.Length; s++)
        {
            // A forced watered load is one of the last sweep's, away from the morning's incidents.
            PackSweep(sweepCollections[s], loads, mayWater: s == sweepCollections.Length - 1);
        }
        var faultLoad = forcedToday && _fleet.Profile.Incidents.Forced.Contains("tanker_cooling_fault") ? LongestRoad(loads) : null;
        var loggerTurn = new int[_fleet.Plants.Count];
        foreach (var load in loads)
        {
            var compartment = 0;
            foreach (var pickup in load.Pickups)
            {
                pickup.Compartment = ++compartment;
                pickup.Load = load;
                events.Add(new SimEvent
                {
                    TimeMs = pickup.TimeMs, Order = _order++, Type = SimEventType.TankCollection, DeviceIndex = pickup.Tank.Index,
                    PastureIndex = pickup.Pasture.Index, Kg = (float)pickup.Kg, Detail = pickup,
                });
                // The handover slip: signed once the milk is in the tanker.
                events.Add(new SimEvent
                {
                    TimeMs = pickup.TimeMs + (10 * MinuteMs), Order = _order++, Type = SimEventType.TankerPickup, DeviceIndex = pickup.Tank.Index,
                    PastureIndex = pickup.Pasture.Index, Kg = (float)pickup.Kg, Detail = pickup,
                });
                SelfCheck(pickup, events);
            }
            events.Add(new SimEvent
            {
                TimeMs = load.DeliveryMs, Order = _order++, Type = SimEventType.PlantIntake, DeviceIndex = load.Weighbridge.Index,
                Kg = (float)load.NetKg, Detail = load,
            });
            Receive(load, events);
            if (load.Plant.TankerLoggers.Count > 0)
            {
                var logger = load.Plant.TankerLoggers[loggerTurn[load.Plant.Index]++ % load.Plant.TankerLoggers.Count];
                var fault = load == faultLoad
                    || new DeterministicRandom(_fleet.Seed, 43, DeterministicRandom.StableHash(load.Id)).Chance(_fleet.Profile.Incidents.TankerCoolingFaultPerLoad);
                TankerRoadSimulation.Generate(load, logger, fault, _fleet.Seed, events, ref _order);
            }
        }
        foreach (var plant in _plants)
        {
            Produce(plant, LocalDayStartMs(day.AddDays(1)), events);
        }
        return events;
    }

    /// <summary>The load with the longest road (first slip to weighbridge): the forced tanker cooling fault's, so it lasts.</summary>
    private static TankerLoad? LongestRoad(List<TankerLoad> loads)
    {
        TankerLoad? longest = null;
        foreach (var load in loads)
        {
            if (longest is null || load.DeliveryMs - TankerRoadSimulation.RoadStartMs(load) > longest.DeliveryMs - TankerRoadSimulation.RoadStartMs(longest))
            {
                longest = load;
            }
        }
        return longest;
    }

    /// <summary>Milk a pasture's animals would give in a day: tests compare lactation yields with this.</summary>
    public static double DailyYieldKg(long seed, Pasture pasture, int animalIndex, DateOnly day)
    {
        ref readonly var animal = ref pasture.Animals[animalIndex];
        var dim = animal.DaysInMilk;
        if (dim == 0)
        {
            return 0;
        }
        var curve = (pasture.Species == AnimalSpecies.Cow ? WoodLactation.CowHerdBlend : WoodLactation.SaanenGoat).ForParity(animal.Parity);
        var rng = new DeterministicRandom(seed, 5, AnimalKey(pasture, animalIndex), day.DayNumber);
        var factor = dim <= ColostrumDays ? 0.7 : 1.0;
        return curve.DailyYieldKg(dim) * animal.YieldFactor * rng.LogNormal(1.0, 0.06) * factor * pasture.Lactation.YieldScale;
    }

    /// <summary>
    /// Milk a pasture's animals put in its tanks on a day, kg: the lactation yields of animals milked into the tank
    /// (colostrum and animals in their withdrawal period are milked apart). The profile's figures are checked with it.
    /// </summary>
    public static double TankMilkKg(long seed, Pasture pasture, DateOnly day)
    {
        var total = 0.0;
        for (var a = 0; a < pasture.Animals.Length; a++)
        {
            ref readonly var animal = ref pasture.Animals[a];
            if (animal.DaysInMilk > ColostrumDays && animal.WithdrawalDaysLeft == 0)
            {
                total += DailyYieldKg(seed, pasture, a, day);
            }
        }
        return total;
    }

    public static void AdvanceAnimals(long seed, Pasture pasture, DateOnly day) =>
        AnimalLife.Advance(seed, pasture, day, day.DayNumber, day, new AnimalLifeProfile(), [], emit: null);

    /// <summary>The animals' day (<see cref="AnimalLife"/>): its events, in time order, each with the pasture's stock after it.</summary>
    private void AdvanceAnimals(Pasture pasture, DateOnly day, List<SimEvent> events, bool forceWithdrawal)
    {
        var firstDay = AnimalAnchorDay;
        var happened = new List<(long TimeMs, AnimalLifeEvent Event)>();
        var stockBefore = pasture.Stock;
        AnimalLife.Advance(_fleet.Seed, pasture, day, day.DayNumber - firstDay.DayNumber, firstDay, _fleet.Profile.Animals,
            _fleet.Profile.Vaccinations.GetValueOrDefault(pasture.Species == AnimalSpecies.Cow ? "cow" : "goat") ?? [], (t, e) => happened.Add((t, e)));
        if (forceWithdrawal)
        {
            AnimalLife.ForceWithdrawalToTank(pasture, day, (t, e) => happened.Add((t, e)), _fleet.Seed);
        }
        happened.Sort(static (x, y) => x.TimeMs.CompareTo(y.TimeMs));
        var stock = stockBefore;
        foreach (var (_, e) in happened)
        {
            stock += e.StockChange;
            e.StockAfter = stock;
        }
        if (stock != pasture.Stock)
        {
            throw new InvalidOperationException($"{pasture.Id}: the day's animal events leave {stock} in stock, the herd book {pasture.Stock}");
        }
        AddAnimalEvents(pasture, happened, events, stockKnown: true);
    }

    private void AddAnimalEvents(Pasture pasture, List<(long TimeMs, AnimalLifeEvent Event)> happened, List<SimEvent> events, bool stockKnown = false)
    {
        foreach (var (timeMs, e) in happened)
        {
            if (!stockKnown)
            {
                e.StockAfter = pasture.Stock;
            }
            if (AnimalEvents.Contains(e.Type))
            {
                events.Add(new SimEvent
                {
                    TimeMs = timeMs, Order = _order++, Type = SimEventType.AnimalEvent, DeviceIndex = pasture.HerdManagement.Index,
                    PastureIndex = pasture.Index, Detail = e,
                });
            }
        }
    }

    private static long AnimalKey(Pasture pasture, int animalIndex) => ((long)pasture.Index << 32) | (uint)animalIndex;

    private int EstimateEvents()
    {
        long total = 0;
        foreach (var pasture in _fleet.Pastures)
        {
            total += (long)pasture.Animals.Length * pasture.MilkingsPerDay;
        }
        return (int)Math.Min(total + 1024, 8_000_000);
    }

    private void GeneratePastureDay(PastureRuntime runtime, DateOnly day, List<SimEvent> events, List<TankCollection>[] sweepCollections, List<TankerLoad> loads)
    {
        var pasture = runtime.Pasture;
        var seed = _fleet.Seed;
        var dayStart = LocalDayStartMs(day);
        var cow = pasture.Species == AnimalSpecies.Cow;
        var winter = day.Month is 11 or 12 or 1 or 2;
        ReadOnlySpan<int> sessionMinutes = pasture.MilkingsPerDay == 3 ? [4 * 60 + 30, 12 * 60 + 30, 20 * 60 + 30] : [5 * 60 + 30, 17 * 60 + 30];
        var turnSeconds = cow ? 7 * 60 : 5 * 60;

        // Tank inflow in time order: (time, kg); milk reaches the tank at the end of the milking.
        var inflow = new List<Inflow>(pasture.Animals.Length * pasture.MilkingsPerDay);
        // Each herd's animals today (herd moves change them): milked through that herd's meters.
        var members = new List<int>[pasture.Herds.Count];
        for (var h = 0; h < members.Length; h++)
        {
            members[h] = new List<int>(pasture.Herds[h].AnimalCount + 16);
        }
        for (var a = 0; a < pasture.Animals.Length; a++)
        {
            members[pasture.Animals[a].HerdIndex].Add(a);
        }
        var life = _fleet.Profile.Animals;
        for (var session = 0; session < sessionMinutes.Length; session++)
        {
            var sessionStart = dayStart + (sessionMinutes[session] * MinuteMs);
            for (var h = 0; h < pasture.Herds.Count; h++)
            {
                var herd = pasture.Herds[h];
                var meters = herd.MilkMeters.Count;
                var slot = 0;
                foreach (var a in members[h])
                {
                    ref var animal = ref pasture.Animals[a];
                    var dim = animal.DaysInMilk;
                    if (dim == 0)
                    {
                        continue;
                    }
                    var meter = herd.MilkMeters[slot % meters];
                    var turn = slot / meters;
                    slot++;
                    var rng = new DeterministicRandom(seed, 6, AnimalKey(pasture, a), ((long)day.DayNumber * 4) + session);
                    var startMs = sessionStart + (((long)turn * turnSeconds) + rng.NextInt(0, turnSeconds / 2)) * 1000L;
                    var kg = Math.Round(Math.Clamp(DailyYieldKg(seed, pasture, a, day) / pasture.MilkingsPerDay * rng.LogNormal(1.0, 0.05), 0.1, 60.0), 1);
                    var remark = dim <= ColostrumDays ? MilkingRemark.Colostrum : animal.WithdrawalDaysLeft > 0 ? MilkingRemark.Withdrawal : MilkingRemark.None;
                    if (remark != MilkingRemark.None)
                    {
                        // A small share reaches the tank anyway (the case the platform must catch), and the forced incident's first milking.
                        var slip = new DeterministicRandom(seed, 39, AnimalKey(pasture, a), ((long)day.DayNumber * 4) + session);
                        if (remark == MilkingRemark.Withdrawal && (animal.ForceToTank || slip.Chance(life.WithdrawalMilkToTankShare)))
                        {
                            remark = MilkingRemark.WithdrawalToTank;
                            animal.ForceToTank = false;
                        }
                        else if (remark == MilkingRemark.Colostrum && slip.Chance(life.ColostrumToTankShare))
                        {
                            remark = MilkingRemark.ColostrumToTank;
                        }
                    }
                    var sick = remark is MilkingRemark.Withdrawal or MilkingRemark.WithdrawalToTank;
                    var duration = Math.Round(Math.Clamp((cow ? 180 + (kg * 18) : 60 + (kg * 45)) + rng.Normal(0, 25), 30, 3600));
                    events.Add(new SimEvent
                    {
                        TimeMs = startMs,
                        Order = _order++,
                        Type = SimEventType.Milking,
                        DeviceIndex = meter.Index,
                        PastureIndex = pasture.Index,
                        AnimalIndex = a,
                        Kg = (float)kg,
                        DurationSec = (float)duration,
                        Conductivity = (float)Math.Round(Math.Clamp(rng.Normal(cow ? 4.9 : 5.5, 0.3) + (sick ? 1.6 : 0), 0.5, 19.9), 1),
                        TemperatureC = (float)Math.Round(rng.Normal(cow ? 37.2 : 38.0, 0.35), 1),
                        FatPercent = (float)Math.Round(Math.Clamp(animal.FatPercent + (winter ? 0.15 : 0) + rng.Normal(0, 0.12), 1.5, 9.0), 2),
                        ProteinPercent = (float)Math.Round(Math.Clamp(animal.ProteinPercent + rng.Normal(0, 0.06), 1.5, 9.0), 2),
                        SccThousand = (float)Math.Round(Math.Clamp(rng.LogNormal(animal.SccMedianThousand * (sick ? 6 : 1), 0.3), 1, 99_999)),
                        Remark = remark,
                    });
                    if (remark is MilkingRemark.None or MilkingRemark.WithdrawalToTank or MilkingRemark.ColostrumToTank)
                    {
                        var last = events[^1];
                        inflow.Add(new Inflow(startMs + ((long)duration * 1000), kg, last.FatPercent, last.ProteinPercent, last.SccThousand, remark, startMs));
                    }
                }
            }
        }
        inflow.Sort(static (x, y) => x.TimeMs.CompareTo(y.TimeMs));
        RunTanks(runtime, day, dayStart, inflow, events, sweepCollections, loads);
    }

    /// <summary>Walks a pasture's day in time order: inflow, tank-full pickups, sweeps and level samples.</summary>
    private void RunTanks(PastureRuntime runtime, DateOnly day, long dayStart, List<Inflow> inflow,
        List<SimEvent> events, List<TankCollection>[] sweepCollections, List<TankerLoad> loads)
    {
        var pasture = runtime.Pasture;
        var dayEnd = dayStart + (1440 * MinuteMs);
        var next = 0;
        var sweep = 0;
        // The tank controller says which tank the milk line feeds at the day's start and at every switch (filling):
        // the platform places each milking into the lot it went into by them.
        // (Milk of the day before poured past midnight may have switched tanks after this day's start: then at that switch.)
        AddFilling(events, runtime, runtime.ActiveTank, Math.Max(dayStart, runtime.LastFillingMs));
        for (var sample = dayStart; sample < dayEnd; sample += 30 * MinuteMs)
        {
            // Everything up to and including this sample's time, in time order: inflow, pickups, sweeps.
            while (true)
            {
                var inflowTime = next < inflow.Count ? inflow[next].TimeMs : long.MaxValue;
                var pickupTime = runtime.NextPickupTime();
                var sweepTime = sweep < _sweepMinutes.Length ? dayStart + ((_sweepMinutes[sweep] + pasture.RouteOffsetMinutes) * MinuteMs) : long.MaxValue;
                var first = Math.Min(inflowTime, Math.Min(pickupTime, sweepTime));
                if (first > sample || first == long.MaxValue)
                {
                    break;
                }
                if (first == pickupTime)
                {
                    var tank = runtime.TakePickup();
                    if (runtime.TankKg[tank] > 0)
                    {
                        loads.Add(NewLoad([Collect(runtime, tank, pickupTime, day)], pickupTime));
                    }
                }
                else if (first == sweepTime)
                {
                    for (var t = 0; t < pasture.Tanks.Count; t++)
                    {
                        if (runtime.TankKg[t] >= MinimumCollectionKg)
                        {
                            runtime.CancelPickup(t);
                            sweepCollections[sweep].Add(Collect(runtime, t, sweepTime, day));
                        }
                    }
                    sweep++;
                }
                else
                {
                    PourAndSay(events, runtime, inflow[next]);
                    next++;
                }
            }

            for (var t = 0; t < pasture.Tanks.Count; t++)
            {
                var kg = runtime.TankKg[t];
                var rng = new DeterministicRandom(_fleet.Seed, 7, pasture.Tanks[t].Index, sample);
                var fresh = kg > 0 ? Math.Min(1.0, runtime.RecentKg[t] / kg) : 0;
                events.Add(new SimEvent
                {
                    TimeMs = sample,
                    Order = _order++,
                    Type = SimEventType.TankLevel,
                    DeviceIndex = pasture.Tanks[t].Index,
                    PastureIndex = pasture.Index,
                    VolumeL = (float)Math.Round(kg / _fleet.Profile.MilkDensityKgPerL, 1),
                    TemperatureC = (float)Math.Round(runtime.CoolingFailedAt(t, sample) is { } hours
                        ? WarmTankC(hours) + rng.Normal(0, 0.15)
                        : 3.3 + (fresh * 4.0) + rng.Normal(0, 0.15), 1),
                });
                runtime.RecentKg[t] = 0;
            }
        }
        // Inflow after the last sample (up to and past midnight): pour it now, the next day's first
        // sample reports it and its pickups and sweeps run then.
        for (; next < inflow.Count; next++)
        {
            PourAndSay(events, runtime, inflow[next]);
        }
    }

    private void PourAndSay(List<SimEvent> events, PastureRuntime runtime, Inflow milk)
    {
        if (!runtime.SaidPublishedFilling && milk.TimeMs >= PublishedFromMs && PublishedFromMs != long.MinValue)
        {
            // The first milk of the published run: the platform has not heard which tank the line feeds (that was said
            // in the warm-up, or at a day's start before the run's): say it at the run's start.
            runtime.SaidPublishedFilling = true;
            AddFilling(events, runtime, runtime.ActiveTank, Math.Max(PublishedFromMs, runtime.LastFillingMs));
        }
        var before = runtime.ActiveTank;
        Pour(runtime, milk, milk.MilkingMs >= PublishedFromMs);
        if (runtime.ActiveTank != before)
        {
            AddFilling(events, runtime, runtime.ActiveTank, milk.TimeMs);
        }
    }

    private void AddFilling(List<SimEvent> events, PastureRuntime runtime, int tank, long timeMs)
    {
        runtime.LastFillingMs = timeMs;
        events.Add(new SimEvent
        {
            TimeMs = timeMs,
            Order = _order++,
            Type = SimEventType.TankFilling,
            DeviceIndex = runtime.Pasture.Tanks[tank].Index,
            PastureIndex = runtime.Pasture.Index,
        });
    }

    /// <summary>A tank whose cooling failed warms from 4 °C by about 1.2 °C an hour, up to 14 °C.</summary>
    private static double WarmTankC(double hours) => Math.Min(14.0, 4.0 + (1.2 * hours));

    private static void Pour(PastureRuntime runtime, Inflow milk, bool published)
    {
        var (timeMs, kg) = (milk.TimeMs, milk.Kg);
        var pasture = runtime.Pasture;
        var active = runtime.ActiveTank;
        if (runtime.TankKg[active] + kg > pasture.TankCapacityKg)
        {
            // Full: call a tanker for this tank, switch to the emptiest tank that is not waiting for one.
            runtime.SchedulePickup(active, timeMs + (20 * MinuteMs));
            var best = -1;
            for (var t = 0; t < pasture.Tanks.Count; t++)
            {
                if (!runtime.PickupPending(t) && (best < 0 || runtime.TankKg[t] < runtime.TankKg[best]))
                {
                    best = t;
                }
            }
            if (best >= 0)
            {
                runtime.ActiveTank = active = best;
            }
        }
        runtime.TankKg[active] = Math.Round(runtime.TankKg[active] + kg, 1);
        runtime.RecentKg[active] += kg;
        runtime.FatKg[active] += kg * milk.Fat;
        runtime.ProteinKg[active] += kg * milk.Protein;
        runtime.SccKg[active] += kg * milk.Scc;
        if (!published)
        {
            return; // its milking was never sent: the lot's unfit milkings are the ones the platform can know
        }
        if (milk.Remark == MilkingRemark.WithdrawalToTank)
        {
            runtime.WithdrawalMilkings[active]++;
        }
        else if (milk.Remark == MilkingRemark.ColostrumToTank)
        {
            runtime.ColostrumMilkings[active]++;
        }
    }

    private TankCollection Collect(PastureRuntime runtime, int tank, long timeMs, DateOnly day)
    {
        var pasture = runtime.Pasture;
        var device = pasture.Tanks[tank];
        var lotNumber = ++runtime.LotsToday[tank];
        if (runtime.LotDay[tank] != day.DayNumber)
        {
            runtime.LotDay[tank] = day.DayNumber;
            runtime.LotsToday[tank] = lotNumber = 1;
        }
        var rng = new DeterministicRandom(_fleet.Seed, 8, device.Index, timeMs);
        var kg = runtime.TankKg[tank];
        var poured = Math.Max(kg, 1e-9);
        var quality = QualityLab.Draw(ref rng, pasture.Species, QualityLab.HerdFreezingPointC(_fleet.Seed, pasture.Index, pasture.Species), runtime.FatKg[tank] / poured, runtime.ProteinKg[tank] / poured, runtime.SccKg[tank] / poured,
            day.Month);
        var temperature = rng.Uniform(3.0, 4.2);
        if (runtime.CoolingFailedAt(tank, timeMs) is { } hours)
        {
            // Bacteria multiply in warm milk; it sours a little. The compressor is repaired once the tank is empty.
            temperature = WarmTankC(hours);
            quality = quality with { TotalBacteria = rng.Uniform(2_500_000, 8_000_000), AcidityT = quality.AcidityT + 1.0 };
            runtime.CoolingFailureFrom[tank] = long.MaxValue;
        }
        if (runtime.AflatoxinToday == day.DayNumber)
        {
            quality = quality with { AflatoxinM1 = rng.Uniform(0.6, 1.0) };
        }
        if (runtime.LeadLotPending)
        {
            // Lead in the lot (contaminated drinking water or feed): no rapid test at the farm or the plant measures it.
            runtime.LeadLotPending = false;
            quality = quality with { LeadMgKg = rng.Uniform(0.08, 0.12) };
        }
        if (runtime.AntibioticLotPending || rng.Chance(_fleet.Profile.Incidents.AntibioticPerLot))
        {
            // A treated cow milked into the tank by mistake.
            runtime.AntibioticLotPending = false;
            quality = quality with { Antibiotic = true };
        }
        var collection = new TankCollection
        {
            Pasture = pasture,
            Tank = device,
            LotId = $"BTL-{pasture.Id}-{device.TankId}-{day:yyyyMMdd}-{lotNumber}",
            TimeMs = timeMs,
            Kg = kg,
            TemperatureC = (float)Math.Round(temperature, 1),
            Quality = quality,
            WithdrawalMilkings = runtime.WithdrawalMilkings[tank],
            ColostrumMilkings = runtime.ColostrumMilkings[tank],
        };
        runtime.WithdrawalMilkings[tank] = runtime.ColostrumMilkings[tank] = 0;
        runtime.TankKg[tank] = 0;
        runtime.FatKg[tank] = runtime.ProteinKg[tank] = runtime.SccKg[tank] = 0;
        return collection;
    }

    /// <summary>Packs a sweep's collections into tanker routes per plant and species (goat milk travels apart), in route order, first fit.</summary>
    private void PackSweep(List<TankCollection> collections, List<TankerLoad> loads, bool mayWater)
    {
        collections.Sort(static (x, y) => x.Pasture.Plant.Index != y.Pasture.Plant.Index
            ? x.Pasture.Plant.Index.CompareTo(y.Pasture.Plant.Index)
            : x.Pasture.Species != y.Pasture.Species ? x.Pasture.Species.CompareTo(y.Pasture.Species)
            : x.TimeMs != y.TimeMs ? x.TimeMs.CompareTo(y.TimeMs) : x.Tank.Index.CompareTo(y.Tank.Index));
        var route = new List<TankCollection>();
        var routeKg = 0.0;
        foreach (var collection in collections)
        {
            if (route.Count > 0 && (route[0].Pasture.Plant != collection.Pasture.Plant || route[0].Pasture.Species != collection.Pasture.Species
                || routeKg + collection.Kg > _fleet.Profile.TankerCapacityKg))
            {
                loads.Add(NewLoad(route, route[^1].TimeMs, forcedWater: mayWater));
                route = [];
                routeKg = 0;
            }
            route.Add(collection);
            routeKg += collection.Kg;
        }
        if (route.Count > 0)
        {
            loads.Add(NewLoad(route, route[^1].TimeMs, forcedWater: mayWater));
        }
    }

    private TankerLoad NewLoad(List<TankCollection> pickups, long lastPickupMs, bool forcedWater = false)
    {
        var pickupDay = LocalDayOf(pickups[0].TimeMs);
        var number = _loadsPerDay.GetValueOrDefault(pickupDay.DayNumber) + 1;
        _loadsPerDay[pickupDay.DayNumber] = number;
        if (_loadsPerDay.Count > 8)
        {
            _loadsPerDay.Remove(pickupDay.DayNumber - 8);
        }
        var id = $"TL-{pickupDay:yyyyMMdd}-{number:D4}";
        var plant = pickups[0].Pasture.Plant;
        var species = pickups[0].Pasture.Species;
        var rng = new DeterministicRandom(_fleet.Seed, 9, DeterministicRandom.StableHash(id));
        var collected = 0.0;
        var parts = new List<(double, LotQuality)>(pickups.Count);
        var warmest = 0.0;
        foreach (var pickup in pickups)
        {
            pickup.TankerLoadId = id;
            collected += pickup.Kg;
            parts.Add((pickup.Kg, pickup.Quality));
            warmest = Math.Max(warmest, pickup.TemperatureC);
        }
        var water = 0.0;
        var forceNow = forcedWater && _forceWateredLoad && species == AnimalSpecies.Cow;
        if (forceNow || rng.Chance(_fleet.Profile.Incidents.WateredPerLoad))
        {
            _forceWateredLoad &= !forceNow;
            // Water added on the road, capped by the weighbridge's 60 t: from 1-4 % (the freezing point stays below
            // -0.500 °C and density above 1.027, so acceptance passes it and only the weight or the pasture's own
            // freezing-point baseline can tell) to a crude 10 %. The forced one is crude: the acceptance test catches it.
            var incidents = _fleet.Profile.Incidents;
            water = Math.Min(forceNow ? rng.Uniform(0.06, 0.10) : rng.Uniform(incidents.WateredShareMin, incidents.WateredShareMax), (59_000 / collected) - 1);
        }
        var lastCounty = pickups[^1].Pasture.County;
        var delivery = lastPickupMs + ((lastCounty.Profile.TravelMinutes + rng.NextInt(0, 16)) * MinuteMs);
        var plateNumber = rng.NextInt(10000, 100000);
        var silos = Math.Max(1, plant.Profile.Silos);
        // Goat milk goes to the plant's last silo, cow milk to the others.
        var silo = silos == 1 ? 1 : species == AnimalSpecies.Goat ? silos : 1 + rng.NextInt(0, silos - 1);
        return new TankerLoad
        {
            Id = id,
            Plant = plant,
            Weighbridge = plant.Weighbridges[number % plant.Weighbridges.Count],
            Pickups = pickups,
            DeliveryMs = delivery,
            PickedUpKg = collected,
            NetKg = Math.Round(collected * (1 + water) * (1 - rng.Uniform(0.0005, 0.002)), 1),
            WaterShare = water,
            Plate = PlatePrefix(pickups[0].Pasture.County) + plateNumber.ToString(CultureInfo.InvariantCulture),
            SiloId = "S" + silo.ToString(CultureInfo.InvariantCulture),
            TemperatureC = (float)Math.Round(Math.Min(9.5, Math.Max(rng.Uniform(3.5, 6.5), warmest + 1.0)), 1),
            Species = species,
            Driver = s_drivers[plateNumber % s_drivers.Length],
            Permit = string.Create(CultureInfo.InvariantCulture, $"NM-{lastCounty.Id[..4]}-{pickupDay.Year}-{plateNumber % 10000:D4}"),
            Quality = water > 0 ? LotQuality.Mix(parts).Watered(water) : LotQuality.Mix(parts),
        };
    }

    private static readonly string[] s_drivers =
        ["Wang Wei", "Li Qiang", "Zhang Lei", "Liu Yang", "Bater", "Chen Jie", "Zhao Gang", "Sükhbaatar", "Yang Fan", "Huang Bo", "Wu Hao", "Zhou Min"];

    /// <summary>Seeded incidents of the day: rates per pasture-day, plus the profile's forced ones on the first day.</summary>
    private void PlanIncidents(DateOnly day, List<string> forced)
    {
        var incidents = _fleet.Profile.Incidents;
        var winter = day.Month is 11 or 12 or 1 or 2;
        // Forced incidents fall on different pastures where there are enough of them.
        var first = _pastures.Length > 0 ? new DeterministicRandom(_fleet.Seed, 20, day.DayNumber).NextInt(0, _pastures.Length) : 0;
        var forcedCooling = forced.Contains("cooling_failure") && _pastures.Length > 0 ? first : -1;
        var forcedAntibiotic = forced.Contains("antibiotic") && _pastures.Length > 0 ? (first + 1) % _pastures.Length : -1;
        var forcedAflatoxin = forced.Contains("aflatoxin") && winter && _pastures.Length > 0 ? (first + 2) % _pastures.Length : -1;
        // Lead: on the first cow pasture from the day's draw, so its milk goes to a cow line and into product lots.
        var forcedLead = -1;
        for (var n = 0; forced.Contains("lead") && n < _pastures.Length && forcedLead < 0; n++)
        {
            var candidate = (first + 3 + n) % _pastures.Length;
            forcedLead = _pastures[candidate].Pasture.Species == AnimalSpecies.Cow ? candidate : -1;
        }
        _forceWateredLoad = forced.Contains("watered_load");
        var dayStart = LocalDayStartMs(day);
        foreach (var runtime in _pastures)
        {
            var index = runtime.Pasture.Index;
            var rng = new DeterministicRandom(_fleet.Seed, 21, index, day.DayNumber);
            if (index == forcedCooling || rng.Chance(incidents.CoolingFailurePerPastureDay))
            {
                // The compressor of the tank filling overnight stops in the small hours.
                var tank = runtime.ActiveTank;
                runtime.CoolingFailureFrom[tank] = Math.Min(runtime.CoolingFailureFrom[tank], dayStart + (rng.NextInt(60, 300) * MinuteMs));
            }
            if (index == forcedAflatoxin || (winter && rng.Chance(incidents.WinterAflatoxinPerPastureDay)))
            {
                runtime.AflatoxinToday = day.DayNumber; // mouldy silage in the ration: every lot of the day carries M1
            }
            runtime.AntibioticLotPending |= index == forcedAntibiotic;
            runtime.LeadLotPending |= index == forcedLead;
        }
    }

    /// <summary>The pasture lab's self-check of a lot (rapid methods, 45 min), and the regulator's sample on its days.</summary>
    private void SelfCheck(TankCollection lot, List<SimEvent> events)
    {
        var pasture = lot.Pasture;
        var runtime = _pastures[pasture.Index];
        var sample = QualityLab.Sample(QualityLab.SelfCheck, "SC-" + lot.LotId, lot.TimeMs, "bulk_tank_lot", lot.LotId, pasture.Species, lot.Quality,
            "on-farm lab", lot.Load?.Plate, _fleet.Seed);
        AddQuality(events, pasture.Lab, pasture.Index, lot.TimeMs + (45 * MinuteMs), sample);
        var day = LocalDayOf(lot.TimeMs);
        // The forced lead lot is the one the regulator samples (metals are measured only in supervisory samples).
        var due = (day.DayNumber + pasture.Index) % _fleet.Profile.SupervisoryIntervalDays == 0 && runtime.SupervisedOn != day.DayNumber;
        if (due || lot.Quality.LeadMgKg is not null)
        {
            runtime.SupervisedOn = day.DayNumber;
            // The regulator's own lab takes it (a pasture cannot sample itself for supervision), naming the pasture.
            var supervisory = QualityLab.Sample(QualityLab.Supervisory, "SV-" + lot.LotId, lot.TimeMs, "bulk_tank_lot", lot.LotId, pasture.Species, lot.Quality,
                _fleet.Lab.Name, lot.Load?.Plate, _fleet.Seed);
            supervisory.SampledPastureId = pasture.Id;
            AddQuality(events, _fleet.Lab.Analyser, pasture.Index, lot.TimeMs + (180 * MinuteMs), supervisory);
        }
    }

    private void AddQuality(List<SimEvent> events, Device lab, int pastureIndex, long timeMs, QualitySampleRecord sample) =>
        events.Add(new SimEvent { TimeMs = timeMs, Order = _order++, Type = SimEventType.Quality, DeviceIndex = lab.Index, PastureIndex = pastureIndex, Detail = sample });

    /// <summary>
    /// The plant samples a load on arrival (result in 30 min); a failing load is sent back, an accepted one is pumped
    /// into its silo's batch for the next production time at least 15 minutes after the transfer.
    /// </summary>
    private void Receive(TankerLoad load, List<SimEvent> events)
    {
        var plant = _plants[load.Plant.Index];
        var sample = QualityLab.Sample(QualityLab.Acceptance, "PA-" + load.Id, load.DeliveryMs, "tanker_load", load.Id, load.Species, load.Quality,
            "plant intake lab", load.Plate, _fleet.Seed);
        AddQuality(events, load.Plant.Lab, -1, load.DeliveryMs + (30 * MinuteMs), sample);
        if (sample.Fails)
        {
            load.Rejected = true;
            return;
        }
        var transferMs = load.DeliveryMs + (40 * MinuteMs);
        var (waveMs, waveDay, wave) = plant.WaveAfter(transferMs + (15 * MinuteMs));
        var key = (waveMs, load.SiloId);
        if (!plant.Batches.TryGetValue(key, out var batch))
        {
            batch = new SiloBatch($"{load.Plant.Id}-{load.SiloId}-{waveDay:yyyyMMdd}-{wave}", load.SiloId, load.Species, waveMs);
            plant.Batches.Add(key, batch);
        }
        batch.Kg += load.NetKg;
        events.Add(new SimEvent
        {
            TimeMs = transferMs, Order = _order++, Type = SimEventType.SiloTransfer, DeviceIndex = load.Plant.SiloController.Index, Kg = (float)load.NetKg,
            Detail = new SiloTransferRecord(batch.Id, load.SiloId, load.Id, load.NetKg),
        });
    }

    /// <summary>Every batch whose production time comes before <paramref name="untilMs"/> goes to the lines, whole, in lots of at most 30 t.</summary>
    private void Produce(PlantRuntime plant, long untilMs, List<SimEvent> events)
    {
        var due = plant.Batches.Where(b => b.Key.WaveMs < untilMs).OrderBy(b => b.Key.WaveMs).ThenBy(b => b.Key.Silo, StringComparer.Ordinal).ToList();
        foreach (var (key, batch) in due)
        {
            plant.Batches.Remove(key);
            var productionDay = LocalDayOf(batch.WaveMs);
            var rng = new DeterministicRandom(_fleet.Seed, 12, DeterministicRandom.StableHash(batch.Id));
            var products = plant.Plant.Profile.ProductsFor(batch.Species);
            // Scatter around the category's nominal yield, well inside the platform's 2 % (liquid milk loses a little
            // in the lines; powder and cheese vary with the milk's solids).
            var yieldScatter = 1 + rng.Uniform(-0.004, 0.004);
            var lots = (int)Math.Ceiling(batch.Kg / 30_000);
            var left = batch.Kg;
            for (var i = 0; i < lots; i++)
            {
                var used = i == lots - 1 ? Math.Round(left, 1) : Math.Round(batch.Kg / lots, 1);
                left -= used;
                var number = plant.NextProductLot(productionDay);
                var made = products[plant.NextProductIndex(batch.Species, products.Count)];
                var yield = Math.Min(1.0, ProductCategories.NominalYield(made.Category)!.Value * yieldScatter);
                events.Add(new SimEvent
                {
                    TimeMs = batch.WaveMs + (((i / 2 * 45) + rng.NextInt(0, 10)) * MinuteMs), Order = _order++, Type = SimEventType.Production,
                    DeviceIndex = plant.Plant.ProductionLine.Index, Kg = (float)used,
                    Detail = new ProductionRecord($"{plant.Plant.Id}-{made.Code}-{productionDay:yyyyMMdd}-{number:D2}", made.Name, made.Category, made.Line, batch.Id, used,
                        Math.Round(used * yield, 1)),
                });
            }
        }
    }

    /// <summary>A pasture's manure account (20:00) and health records: census (07:00), vaccinations (09:30), weekly antibody tests (10:30).</summary>
    private void GenerateFarmRecords(Pasture pasture, DateOnly day, List<SimEvent> events)
    {
        var dayStart = LocalDayStartMs(day);
        var cow = pasture.Species == AnimalSpecies.Cow;
        int lactating = 0, dry = 0, young = 0, due = 0;
        foreach (ref readonly var animal in pasture.Animals.AsSpan())
        {
            if (animal.Parity == 0) { young++; } else if (animal.DaysInMilk > 0) { lactating++; } else { dry++; }
            // Not due: calves under about 90 days, animals under treatment, the last 30 days before calving.
            var tooYoung = animal.Parity == 0 && animal.DaysSinceCalving < -610;
            var latePregnancy = animal.Parity > 0 && animal.DaysSinceCalving > animal.CalvingInterval - 30;
            due += tooYoung || latePregnancy || animal.WithdrawalDaysLeft > 0 ? 0 : 1;
        }
        var rng = new DeterministicRandom(_fleet.Seed, 22, pasture.Index, day.DayNumber);
        var produced = Math.Round(((lactating * (cow ? 53.0 : 4.0)) + (dry * (cow ? 40.0 : 3.0)) + (young * (cow ? 20.0 : 1.5))) * rng.LogNormal(1.0, 0.05));
        var baseline = new DeterministicRandom(_fleet.Seed, 23, pasture.Index).Uniform(0.905, 0.97);
        var utilisation = pasture.ManureUtilisation > 0 ? pasture.ManureUtilisation + rng.Normal(0, 0.005) : Math.Max(0.90, baseline + rng.Normal(0, 0.005));
        var used = Math.Round(produced * Math.Clamp(utilisation, 0, 0.99));
        var collected = Math.Min(produced, Math.Round(produced * Math.Max(utilisation + 0.01, rng.Uniform(0.95, 0.99))));
        var treated = Math.Round(used * rng.Uniform(0.35, 0.6));
        events.Add(new SimEvent
        {
            TimeMs = dayStart + ((20 * 60) + (pasture.Index % 30)) * MinuteMs, Order = _order++, Type = SimEventType.Manure, DeviceIndex = pasture.Manure.Index,
            PastureIndex = pasture.Index,
            Detail = new ManureRecord(day, produced, collected, used - treated, treated, cow && pasture.Animals.Length >= 1000 ? "biogas" : "composting"),
        });

        var programmes = _fleet.Profile.Vaccinations.GetValueOrDefault(cow ? "cow" : "goat") ?? [];
        foreach (var programme in programmes)
        {
            var at = dayStart + ((7 * 60) + (pasture.Index % 30)) * MinuteMs;
            AddHealth(events, pasture, at, new HealthRecord("census", programme, pasture.Species, InStock: pasture.Animals.Length, Due: due));
            // Animals come due continuously (calves, calvings): about a thirtieth of the due head a day.
            var vaccinated = (int)Math.Round(due / 30.0 * rng.LogNormal(1.0, 0.25));
            if (vaccinated > 0)
            {
                AddHealth(events, pasture, at + (150 * MinuteMs), new HealthRecord("vaccination", programme, pasture.Species, Vaccinated: vaccinated));
            }
            if (programme == "fmd" && (day.DayNumber + pasture.Index) % 7 == 0)
            {
                // Reciprocal titres, doubling dilutions; about 85 % at or above the protective 128.
                var titres = new int[Math.Clamp(pasture.Animals.Length / 20, 10, 60)];
                for (var i = 0; i < titres.Length; i++)
                {
                    titres[i] = 1 << Math.Clamp((int)Math.Round(rng.Normal(7.6, 1.0)), 3, 11);
                }
                AddHealth(events, pasture, at + (210 * MinuteMs), new HealthRecord("antibody_test", programme, pasture.Species, Titres: titres));
            }
        }
    }

    private void AddHealth(List<SimEvent> events, Pasture pasture, long timeMs, HealthRecord record) =>
        events.Add(new SimEvent { TimeMs = timeMs, Order = _order++, Type = SimEventType.Health, DeviceIndex = pasture.Health.Index, PastureIndex = pasture.Index, Detail = record });

    /// <summary>Milk reaching the tank at <c>TimeMs</c> from the milking that started at <c>MilkingMs</c>.</summary>
    private readonly record struct Inflow(long TimeMs, double Kg, float Fat, float Protein, float Scc, MilkingRemark Remark, long MilkingMs);

    private sealed class SiloBatch(string id, string siloId, AnimalSpecies species, long waveMs)
    {
        public string Id { get; } = id;
        public string SiloId { get; } = siloId;
        public AnimalSpecies Species { get; } = species;
        public long WaveMs { get; } = waveMs;
        public double Kg { get; set; }
    }

    private sealed class PlantRuntime
    {
        private readonly int[] _waveMinutes;
        private readonly Dictionary<int, int> _productLots = [];

        public PlantRuntime(Plant plant)
        {
            Plant = plant;
            _waveMinutes = [.. plant.Profile.ProductionTimes.Select(t => TimeOnly.ParseExact(t, "HH:mm", CultureInfo.InvariantCulture)).Select(t => (t.Hour * 60) + t.Minute).Order()];
        }

        public Plant Plant { get; }
        public Dictionary<(long WaveMs, string Silo), SiloBatch> Batches { get; } = [];

        /// <summary>The first production time at or after <paramref name="readyMs"/>: its time, local day and number (1-based).</summary>
        public (long Ms, DateOnly Day, int Number) WaveAfter(long readyMs)
        {
            for (var day = LocalDayOf(readyMs); ; day = day.AddDays(1))
            {
                for (var w = 0; w < _waveMinutes.Length; w++)
                {
                    var ms = LocalDayStartMs(day) + (_waveMinutes[w] * MinuteMs);
                    if (ms >= readyMs)
                    {
                        return (ms, day, w + 1);
                    }
                }
            }
        }

        /// <summary>The lines take the plant's products in turn, per species of milk.</summary>
        public int NextProductIndex(AnimalSpecies species, int products)
        {
            var made = species == AnimalSpecies.Cow ? _cowLots++ : _goatLots++;
            return (int)(made % products);
        }

        private long _cowLots;
        private long _goatLots;

        public int NextProductLot(DateOnly day)
        {
            var number = _productLots.GetValueOrDefault(day.DayNumber) + 1;
            _productLots[day.DayNumber] = number;
            _productLots.Remove(day.DayNumber - 8);
            return number;
        }
    }

    private static string PlatePrefix(County county) => county.Profile.City switch
    {
        "Baotou" => "蒙B",
        "Ulanqab" => "蒙J",
        "Ordos" => "蒙K",
        _ => "蒙A",
    };

    private sealed class PastureRuntime
    {
        private readonly long[] _pickupAt;

        public PastureRuntime(Pasture pasture)
        {
            Pasture = pasture;
            TankKg = new double[pasture.Tanks.Count];
            RecentKg = new double[pasture.Tanks.Count];
            LotsToday = new int[pasture.Tanks.Count];
            LotDay = new int[pasture.Tanks.Count];
            FatKg = new double[pasture.Tanks.Count];
            ProteinKg = new double[pasture.Tanks.Count];
            SccKg = new double[pasture.Tanks.Count];
            WithdrawalMilkings = new int[pasture.Tanks.Count];
            ColostrumMilkings = new int[pasture.Tanks.Count];
            CoolingFailureFrom = new long[pasture.Tanks.Count];
            Array.Fill(CoolingFailureFrom, long.MaxValue);
            _pickupAt = new long[pasture.Tanks.Count];
            Array.Fill(_pickupAt, long.MaxValue);
        }

        public Pasture Pasture { get; }
        public double[] TankKg { get; }
        public double[] RecentKg { get; }
        public int[] LotsToday { get; }
        public int[] LotDay { get; }
        public int ActiveTank { get; set; }
        /// <summary>When the last filling was said (the milk line's switch to <see cref="ActiveTank"/>).</summary>
        public long LastFillingMs { get; set; }
        public bool SaidPublishedFilling { get; set; }
        /// <summary>kg-weighted sums of what was poured since the last collection, per tank.</summary>
        public double[] FatKg { get; }
        public double[] ProteinKg { get; }
        public double[] SccKg { get; }
        /// <summary>Milkings of animals in withdrawal, and of colostrum, poured since the last collection (the lot's flags), per tank.</summary>
        public int[] WithdrawalMilkings { get; }
        public int[] ColostrumMilkings { get; }
        /// <summary>When a tank's cooling failed (Unix ms), long.MaxValue while it works.</summary>
        public long[] CoolingFailureFrom { get; }
        public int AflatoxinToday { get; set; } = int.MinValue;
        public bool AntibioticLotPending { get; set; }
        /// <summary>The next lot collected carries lead (the forced incident a recall follows).</summary>
        public bool LeadLotPending { get; set; }
        public int SupervisedOn { get; set; } = int.MinValue;

        /// <summary>Hours since the tank's cooling failed, or null while it works.</summary>
        public double? CoolingFailedAt(int tank, long timeMs) =>
            timeMs >= CoolingFailureFrom[tank] ? (timeMs - CoolingFailureFrom[tank]) / 3_600_000.0 : null;

        public bool PickupPending(int tank) => _pickupAt[tank] != long.MaxValue;

        public void SchedulePickup(int tank, long timeMs) => _pickupAt[tank] = Math.Min(_pickupAt[tank], timeMs);

        public void CancelPickup(int tank) => _pickupAt[tank] = long.MaxValue;

        public long NextPickupTime()
        {
            var min = long.MaxValue;
            foreach (var time in _pickupAt)
            {
                min = Math.Min(min, time);
            }
            return min;
        }

        public int TakePickup()
        {
            var min = 0;
            for (var t = 1; t < _pickupAt.Length; t++)
            {
                if (_pickupAt[t] < _pickupAt[min])
                {
                    min = t;
                }
            }
            _pickupAt[min] = long.MaxValue;
            return min;
        }
    }
}
