using System.Globalization;
using HohhotCluster.FirmwareSim.Fleet;

namespace HohhotCluster.FirmwareSim.Simulation;

/// <summary>
/// Generates what the fleet's devices report, one local day (UTC+8) at a time. Days must be
/// generated in order: animals, tanks and tanker routes carry their state from day to day.
/// Mass balance holds by construction: every kg put in a tank is collected exactly once, and a
/// tanker delivers what it collected less a small shrink.
/// </summary>
internal sealed class DairySimulation
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

    public DairySimulation(FleetModel fleet)
    {
        _fleet = fleet;
        _pastures = new PastureRuntime[fleet.Pastures.Count];
        for (var i = 0; i < _pastures.Length; i++)
        {
            _pastures[i] = new PastureRuntime(fleet.Pastures[i]);
        }
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

        var events = new List<SimEvent>(EstimateEvents());
        var sweepCollections = new List<TankCollection>[_sweepMinutes.Length];
        for (var s = 0; s < sweepCollections.Length; s++)
        {
            sweepCollections[s] = [];
        }
        var loads = new List<TankerLoad>();
        foreach (var runtime in _pastures)
        {
            if (advance)
            {
                AdvanceAnimals(runtime.Pasture, day);
            }
            GeneratePastureDay(runtime, day, events, sweepCollections, loads);
        }
        for (var s = 0; s < sweepCollections.Length; s++)
        {
            PackSweep(sweepCollections[s], loads);
        }
        foreach (var load in loads)
        {
            foreach (var pickup in load.Pickups)
            {
                events.Add(new SimEvent
                {
                    TimeMs = pickup.TimeMs, Order = _order++, Type = SimEventType.TankCollection, DeviceIndex = pickup.Tank.Index,
                    PastureIndex = pickup.Pasture.Index, Kg = (float)pickup.Kg, Detail = pickup,
                });
            }
            events.Add(new SimEvent
            {
                TimeMs = load.DeliveryMs, Order = _order++, Type = SimEventType.PlantIntake, DeviceIndex = load.Weighbridge.Index,
                Kg = (float)load.NetKg, Detail = load,
            });
        }
        return events;
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
        return curve.DailyYieldKg(dim) * animal.YieldFactor * rng.LogNormal(1.0, 0.06) * factor;
    }

    public static void AdvanceAnimals(long seed, Pasture pasture, DateOnly day)
    {
        var animals = pasture.Animals;
        var treatmentChance = pasture.Species == AnimalSpecies.Cow ? 0.0015 : 0.0008;
        for (var i = 0; i < animals.Length; i++)
        {
            ref var animal = ref animals[i];
            animal.DaysSinceCalving++;
            if (animal.Parity == 0 && animal.DaysSinceCalving >= 1)
            {
                animal.Parity = 1;
            }
            else if (animal.DaysSinceCalving > animal.CalvingInterval)
            {
                animal.Parity++;
                animal.DaysSinceCalving = 1;
                var rng = new DeterministicRandom(seed, 3, AnimalKey(pasture, i), animal.Parity);
                animal.LactationLength = pasture.Species == AnimalSpecies.Cow ? animal.CalvingInterval - rng.NextInt(50, 71) : rng.NextInt(240, 291);
            }
            if (animal.WithdrawalDaysLeft > 0)
            {
                animal.WithdrawalDaysLeft--;
            }
            else if (animal.DaysInMilk > ColostrumDays)
            {
                var rng = new DeterministicRandom(seed, 4, AnimalKey(pasture, i), day.DayNumber);
                if (rng.Chance(treatmentChance))
                {
                    animal.WithdrawalDaysLeft = rng.NextInt(4, 8);
                }
            }
        }
    }

    private void AdvanceAnimals(Pasture pasture, DateOnly day) => AdvanceAnimals(_fleet.Seed, pasture, day);

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
        var inflow = new List<(long TimeMs, double Kg)>(pasture.Animals.Length * pasture.MilkingsPerDay);
        for (var session = 0; session < sessionMinutes.Length; session++)
        {
            var sessionStart = dayStart + (sessionMinutes[session] * MinuteMs);
            foreach (var herd in pasture.Herds)
            {
                var meters = herd.MilkMeters.Count;
                var slot = 0;
                for (var a = herd.FirstAnimal; a < herd.FirstAnimal + herd.AnimalCount; a++)
                {
                    ref readonly var animal = ref pasture.Animals[a];
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
                    var sick = remark == MilkingRemark.Withdrawal;
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
                    if (remark == MilkingRemark.None)
                    {
                        inflow.Add((startMs + ((long)duration * 1000), kg));
                    }
                }
            }
        }
        inflow.Sort(static (x, y) => x.TimeMs.CompareTo(y.TimeMs));
        RunTanks(runtime, day, dayStart, inflow, events, sweepCollections, loads);
    }

    /// <summary>Walks a pasture's day in time order: inflow, tank-full pickups, sweeps and level samples.</summary>
    private void RunTanks(PastureRuntime runtime, DateOnly day, long dayStart, List<(long TimeMs, double Kg)> inflow,
        List<SimEvent> events, List<TankCollection>[] sweepCollections, List<TankerLoad> loads)
    {
        var pasture = runtime.Pasture;
        var dayEnd = dayStart + (1440 * MinuteMs);
        var next = 0;
        var sweep = 0;
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
                    Pour(runtime, inflow[next].Kg, inflowTime);
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
                    TemperatureC = (float)Math.Round(3.3 + (fresh * 4.0) + rng.Normal(0, 0.15), 1),
                });
                runtime.RecentKg[t] = 0;
            }
        }
        // Inflow after the last sample (up to and past midnight): pour it now, the next day's first
        // sample reports it and its pickups and sweeps run then.
        for (; next < inflow.Count; next++)
        {
            Pour(runtime, inflow[next].Kg, inflow[next].TimeMs);
        }
    }

    private static void Pour(PastureRuntime runtime, double kg, long timeMs)
    {
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
        var collection = new TankCollection
        {
            Pasture = pasture,
            Tank = device,
            LotId = $"BTL-{pasture.Id}-{device.TankId}-{day:yyyyMMdd}-{lotNumber}",
            TimeMs = timeMs,
            Kg = runtime.TankKg[tank],
            TemperatureC = (float)Math.Round(rng.Uniform(3.0, 4.2), 1),
        };
        runtime.TankKg[tank] = 0;
        return collection;
    }

    /// <summary>Packs a sweep's collections into tanker routes per plant, in route order, first fit.</summary>
    private void PackSweep(List<TankCollection> collections, List<TankerLoad> loads)
    {
        collections.Sort(static (x, y) => x.Pasture.Plant.Index != y.Pasture.Plant.Index
            ? x.Pasture.Plant.Index.CompareTo(y.Pasture.Plant.Index)
            : x.TimeMs != y.TimeMs ? x.TimeMs.CompareTo(y.TimeMs) : x.Tank.Index.CompareTo(y.Tank.Index));
        var route = new List<TankCollection>();
        var routeKg = 0.0;
        foreach (var collection in collections)
        {
            if (route.Count > 0 && (route[0].Pasture.Plant != collection.Pasture.Plant || routeKg + collection.Kg > _fleet.Profile.TankerCapacityKg))
            {
                loads.Add(NewLoad(route, route[^1].TimeMs));
                route = [];
                routeKg = 0;
            }
            route.Add(collection);
            routeKg += collection.Kg;
        }
        if (route.Count > 0)
        {
            loads.Add(NewLoad(route, route[^1].TimeMs));
        }
    }

    private TankerLoad NewLoad(List<TankCollection> pickups, long lastPickupMs)
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
        var rng = new DeterministicRandom(_fleet.Seed, 9, DeterministicRandom.StableHash(id));
        var collected = 0.0;
        foreach (var pickup in pickups)
        {
            pickup.TankerLoadId = id;
            collected += pickup.Kg;
        }
        var lastCounty = pickups[^1].Pasture.County;
        var delivery = lastPickupMs + ((lastCounty.Profile.TravelMinutes + rng.NextInt(0, 16)) * MinuteMs);
        return new TankerLoad
        {
            Id = id,
            Plant = plant,
            Weighbridge = plant.Weighbridges[number % plant.Weighbridges.Count],
            Pickups = pickups,
            DeliveryMs = delivery,
            NetKg = Math.Round(collected * (1 - rng.Uniform(0.0005, 0.002)), 1),
            Plate = PlatePrefix(pickups[0].Pasture.County) + rng.NextInt(10000, 100000).ToString(CultureInfo.InvariantCulture),
            SiloId = "S" + (1 + rng.NextInt(0, Math.Max(1, plant.Profile.Silos))).ToString(CultureInfo.InvariantCulture),
            TemperatureC = (float)Math.Round(rng.Uniform(3.5, 6.5), 1),
        };
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
            _pickupAt = new long[pasture.Tanks.Count];
            Array.Fill(_pickupAt, long.MaxValue);
        }

        public Pasture Pasture { get; }
        public double[] TankKg { get; }
        public double[] RecentKg { get; }
        public int[] LotsToday { get; }
        public int[] LotDay { get; }
        public int ActiveTank { get; set; }

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
