using HohhotCluster.FirmwareSim.Fleet;
using HohhotCluster.FirmwareSim.Simulation;

namespace HohhotCluster.FirmwareSim.Animals;

/// <summary>
/// The animals' lives, one day at a time: culls (sold, slaughtered or dead, each place refilled by a bought in-calf
/// heifer), calvings with their calves, dry-offs and herd moves, treatments with a milk withdrawal, breeding (heats,
/// inseminations with sexed or conventional semen, embryo transfers, pregnancy checks, abortions), vaccinations per
/// programme and antibody tests, and the calves' sales and deaths. Every draw is keyed by (seed, animal, day index of
/// the run), so the registry's state after N days does not depend on the calendar: <c>register</c> imports the
/// stock the run starts from without knowing its date. Treatments keep the calendar key they had before (the
/// registry does not hold withdrawals).
/// </summary>
internal static class AnimalLife
{
    public const int ColostrumDays = 7;
    private const long MinuteMs = 60_000L;
    private const int PregnancyCheckDays = 35;

    public static int GestationDays(AnimalSpecies species) => species == AnimalSpecies.Cow ? 280 : 150;

    private static int VoluntaryWaitingDays(AnimalSpecies species) => species == AnimalSpecies.Cow ? 50 : 60;

    public static string Breed(AnimalSpecies species) => species == AnimalSpecies.Cow ? "HOL" : "SAA";

    /// <summary>At generation: the animal's birth day and its breeding plan for the cycle it is in.</summary>
    public static void Begin(ref AnimalState animal, long seed, int pastureIndex, int animalIndex, AnimalSpecies species, AnimalLifeProfile profile)
    {
        var rng = new DeterministicRandom(seed, 30, pastureIndex, animalIndex);
        var firstCalvingAge = FirstCalvingAge(ref rng, species);
        var age = animal.Parity == 0
            ? firstCalvingAge - (1 - animal.DaysSinceCalving)
            : firstCalvingAge + ((animal.Parity - 1) * animal.CalvingInterval) + animal.DaysSinceCalving;
        animal.BornDayIndex = -Math.Max(30, age);
        Plan(ref animal, seed, Key(pastureIndex, animalIndex), species, profile);
    }

    private static int FirstCalvingAge(ref DeterministicRandom rng, AnimalSpecies species) =>
        species == AnimalSpecies.Cow ? rng.NextInt(700, 761) : rng.NextInt(365, 421);

    public static long Key(int pastureIndex, int animalIndex) => ((long)pastureIndex << 32) | (uint)animalIndex;

    /// <summary>The breeding plan of the cycle that began at the last calving (or, for a heifer, of her first pregnancy).</summary>
    private static void Plan(ref AnimalState animal, long seed, long key, AnimalSpecies species, AnimalLifeProfile profile)
    {
        var cow = species == AnimalSpecies.Cow;
        var heifer = animal.Parity == 0;
        var rng = new DeterministicRandom(seed, 31, key ^ ((long)animal.Serial << 20), animal.Parity);
        var gestation = GestationDays(species);
        animal.ConceptionDsc = heifer ? 1 - gestation : animal.CalvingInterval + 1 - gestation;
        var rate = !cow ? profile.GoatConceptionRate : heifer ? profile.HeiferConceptionRate : profile.CowConceptionRate;
        var services = 1;
        while (services < 6 && !rng.Chance(rate))
        {
            services++;
        }
        if (!heifer)
        {
            services = Math.Clamp(services, 1, Math.Max(1, ((animal.ConceptionDsc - VoluntaryWaitingDays(species)) / 21) + 1));
        }
        animal.Embryo = 0;
        if (cow && heifer && rng.Chance(profile.HeiferEmbryoTransferShare))
        {
            animal.Embryo = (byte)(rng.Chance(profile.ImportedEmbryoShare) ? 2 : 1);
            services = 1;
        }
        animal.Services = (byte)services;
        animal.ConceivingSexed = animal.Embryo == 0 && cow && rng.Chance(heifer ? profile.HeiferSexedShare : profile.CowSexedShare);
        animal.AbortionDsc = rng.Chance(profile.AbortionShare)
            ? animal.ConceptionDsc + rng.NextInt(PregnancyCheckDays + 25, gestation - 60)
            : int.MinValue;
    }

    /// <summary>A service that did not conceive: sexed semen by the same shares.</summary>
    private static bool ServiceSexed(long seed, in AnimalState animal, int service, AnimalSpecies species, AnimalLifeProfile profile) =>
        species == AnimalSpecies.Cow
        && new DeterministicRandom(seed, 32, animal.Serial, (animal.Parity * 16) + service).Chance(animal.Parity == 0 ? profile.HeiferSexedShare : profile.CowSexedShare);

    /// <summary>
    /// Advances a pasture's animals by one day and reports what happened (<paramref name="emit"/>: event time in Unix ms,
    /// the event; null when only the state matters, as for <c>register</c>).
    /// </summary>
    public static void Advance(long seed, Pasture pasture, DateOnly day, int dayIndex, DateOnly firstDay, AnimalLifeProfile profile,
        IReadOnlyList<string> programmes, Action<long, AnimalLifeEvent>? emit)
    {
        var dayStart = DairySimulation.LocalDayStartMs(day);
        var species = pasture.Species;
        var cow = species == AnimalSpecies.Cow;
        var treatmentChance = cow ? 0.0015 : 0.0008;
        var cullHazard = (cow ? profile.CowCullPerYear : profile.GoatCullPerYear) / 365.0;
        var calfHazard = profile.CalfMortality60Days / 60.0;

        // The calves first, so those born today are not judged today.
        for (var c = pasture.Calves.Count - 1; c >= 0; c--)
        {
            var calf = pasture.Calves[c];
            var rng = new DeterministicRandom(seed, 38, calf.Serial, dayIndex);
            if (calf.SaleDayIndex <= dayIndex)
            {
                emit?.Invoke(dayStart + (rng.NextInt(9 * 60, 12 * 60) * MinuteMs), new AnimalLifeEvent
                {
                    Type = AnimalEventType.Departure, EarTag = pasture.TagOf(calf.Serial), Pasture = pasture, Reason = "Sale",
                });
                pasture.Calves.RemoveAt(c);
            }
            else if (rng.Chance(calfHazard))
            {
                emit?.Invoke(dayStart + (rng.NextInt(10, 200) * MinuteMs), new AnimalLifeEvent
                {
                    Type = AnimalEventType.Death, EarTag = pasture.TagOf(calf.Serial), Pasture = pasture, Reason = "Disease",
                });
                pasture.Calves.RemoveAt(c);
            }
        }

        var animals = pasture.Animals;
        for (var i = 0; i < animals.Length; i++)
        {
            ref var animal = ref animals[i];
            var key = Key(pasture.Index, i);
            var herdId = pasture.Herds[animal.HerdIndex].Id;
            var life = new DeterministicRandom(seed, 34, key, dayIndex);

            // 1. Culled: leaves at night; a bought in-calf heifer takes its place before the first milking.
            if (animal.Parity > 0 && life.Chance(cullHazard))
            {
                var died = life.Chance(profile.CullDeathShare);
                var at = dayStart + (life.NextInt(5, 120) * MinuteMs);
                emit?.Invoke(at, new AnimalLifeEvent
                {
                    Type = died ? AnimalEventType.Death : AnimalEventType.Departure, EarTag = pasture.EarTag(i), Pasture = pasture,
                    Reason = died ? (life.Chance(0.5) ? "Disease" : "Accident") : (life.Chance(0.6) ? "Slaughter" : "Sale"),
                });
                ReplaceWithBoughtHeifer(ref animal, seed, key, dayIndex, pasture, profile);
                emit?.Invoke(at + (60 * MinuteMs), new AnimalLifeEvent
                {
                    Type = AnimalEventType.Arrival, EarTag = pasture.EarTag(i), Pasture = pasture, HerdId = herdId, Reason = "Purchase",
                    BirthDate = firstDay.AddDays(animal.BornDayIndex), Parity = 0,
                });
                continue;
            }

            // 2. Calving (the lactation model's own rule: a heifer at day 1, a cow after her calving interval).
            var calved = false;
            var embryoImplant = animal.Embryo > 0;
            var sexedPregnancy = animal.ConceivingSexed;
            animal.DaysSinceCalving++;
            if (animal.Parity == 0 && animal.DaysSinceCalving >= 1)
            {
                animal.Parity = 1;
                calved = true;
            }
            else if (animal.DaysSinceCalving > animal.CalvingInterval)
            {
                animal.Parity++;
                animal.DaysSinceCalving = 1;
                var rng = new DeterministicRandom(seed, 3, key, animal.Parity);
                animal.LactationLength = cow ? animal.CalvingInterval - rng.NextInt(50, 71)
                    : rng.NextInt(pasture.Lactation.MinDays, pasture.Lactation.MaxDays + 1);
                calved = true;
            }
            if (calved)
            {
                var at = dayStart + (life.NextInt(10, 210) * MinuteMs);
                var count = !cow && life.Chance(profile.GoatTwinShare) ? 2 : 1;
                var progeny = new string[count];
                for (var k = 0; k < count; k++)
                {
                    progeny[k] = life.Chance(sexedPregnancy ? profile.SexedFemaleShare : profile.ConventionalFemaleShare) ? "Female" : "Male";
                }
                emit?.Invoke(at, new AnimalLifeEvent
                {
                    Type = AnimalEventType.Calving, EarTag = pasture.EarTag(i), Pasture = pasture, HerdId = herdId, Parity = animal.Parity,
                    Progeny = progeny, EmbryoImplant = embryoImplant,
                });
                for (var k = 0; k < count; k++)
                {
                    var female = progeny[k] == "Female";
                    var calf = new Calf
                    {
                        Serial = ++pasture.County.LastSerial, Female = female, BornDayIndex = dayIndex, HerdIndex = animal.HerdIndex,
                        SaleDayIndex = female ? int.MaxValue : dayIndex + life.NextInt(profile.MaleCalfSaleMinDays, profile.MaleCalfSaleMaxDays + 1),
                    };
                    pasture.Calves.Add(calf);
                    emit?.Invoke(at + ((k + 1) * MinuteMs), new AnimalLifeEvent
                    {
                        Type = AnimalEventType.Birth, EarTag = pasture.TagOf(calf.Serial), Pasture = pasture, HerdId = herdId, Female = female,
                        BirthDate = day, Parity = 0, Reason = "Born",
                    });
                }
                Plan(ref animal, seed, key, species, profile);
            }

            // 3. Dried off the day after the last milking; half move to the next herd (the dry group).
            if (!calved && animal.Parity > 0 && animal.DaysSinceCalving == animal.LactationLength + 1)
            {
                var at = dayStart + (life.NextInt(5, 180) * MinuteMs);
                emit?.Invoke(at, new AnimalLifeEvent { Type = AnimalEventType.DryOff, EarTag = pasture.EarTag(i), Pasture = pasture, HerdId = herdId });
                if (pasture.Herds.Count > 1 && life.Chance(profile.HerdMoveAtDryOff))
                {
                    animal.HerdIndex = (short)((animal.HerdIndex + 1) % pasture.Herds.Count);
                    emit?.Invoke(at + (30 * MinuteMs), new AnimalLifeEvent
                    {
                        Type = AnimalEventType.HerdMove, EarTag = pasture.EarTag(i), Pasture = pasture, HerdId = pasture.Herds[animal.HerdIndex].Id,
                    });
                }
            }

            // 4. Treatment and withdrawal (draws keyed by the calendar day, as before the registry existed).
            if (animal.WithdrawalDaysLeft > 0)
            {
                animal.WithdrawalDaysLeft--;
            }
            else if (animal.DaysInMilk > ColostrumDays)
            {
                var rng = new DeterministicRandom(seed, 4, key, day.DayNumber);
                if (rng.Chance(treatmentChance))
                {
                    animal.WithdrawalDaysLeft = rng.NextInt(4, 8);
                    EmitTreatment(emit, pasture, i, herdId, dayStart, day, animal.WithdrawalDaysLeft, ref life);
                }
            }

            // 5. Breeding.
            Breed(ref animal, seed, key, pasture, i, herdId, dayStart, species, profile, ref life, emit);

            // 6. Vaccination per programme, and an antibody test of a share 28 days later.
            var age = dayIndex - animal.BornDayIndex;
            for (var p = 0; p < programmes.Count && age >= 90; p++)
            {
                var interval = Math.Max(1, profile.VaccinationIntervalDays.GetValueOrDefault(programmes[p], 180));
                var phase = (int)((((ulong)animal.Serial * 2654435761UL) + ((ulong)p * 40503UL)) % (ulong)interval);
                if ((dayIndex + phase) % interval == 0)
                {
                    emit?.Invoke(dayStart + (((9 * 60) + 30 + life.NextInt(0, 120)) * MinuteMs), Vaccination(pasture, i, herdId, programmes[p]));
                }
                else if (((dayIndex - 28 + phase) % interval + interval) % interval == 0 && age >= 118)
                {
                    var test = new DeterministicRandom(seed, 37, animal.Serial, (dayIndex * 8) + p);
                    if (test.Chance(profile.AntibodyTestShare))
                    {
                        emit?.Invoke(dayStart + (((13 * 60) + life.NextInt(0, 120)) * MinuteMs), new AnimalLifeEvent
                        {
                            Type = AnimalEventType.AntibodyTest, EarTag = pasture.EarTag(i), Pasture = pasture, HerdId = herdId, Programme = programmes[p],
                            Protective = test.Chance(profile.ProtectiveShare),
                        });
                    }
                }
            }
        }
    }

    /// <summary>The forced withdrawal_milk incident: a cow in milk is treated today and her first milking goes to the tank.</summary>
    public static bool ForceWithdrawalToTank(Pasture pasture, DateOnly day, Action<long, AnimalLifeEvent>? emit, long seed)
    {
        var animals = pasture.Animals;
        for (var i = 0; i < animals.Length; i++)
        {
            ref var animal = ref animals[i];
            if (animal.DaysInMilk > ColostrumDays && animal.WithdrawalDaysLeft == 0 && animal.DaysInMilk < animal.LactationLength - 10)
            {
                animal.WithdrawalDaysLeft = 5;
                animal.ForceToTank = true;
                var life = new DeterministicRandom(seed, 40, Key(pasture.Index, i), day.DayNumber);
                EmitTreatment(emit, pasture, i, pasture.Herds[animal.HerdIndex].Id, DairySimulation.LocalDayStartMs(day), day, 5, ref life);
                return true;
            }
        }
        return false;
    }

    private static readonly (string Name, string Id, string Procedure, double DoseMl)[] s_cowMedicines =
    [
        ("Ceftiofur hydrochloride intramammary", "CN-VET-CEF-01", "Intramammary", 10),
        ("Cefquinome sulfate intramammary", "CN-VET-CFQ-02", "Intramammary", 8),
        ("Oxytetracycline injection", "CN-VET-OTC-03", "Intramuscular", 20),
    ];

    private static readonly (string Name, string Id, string Procedure, double DoseMl)[] s_goatMedicines =
    [
        ("Procaine penicillin G injection", "CN-VET-PEN-11", "Intramuscular", 5),
        ("Oxytetracycline injection", "CN-VET-OTC-03", "Intramuscular", 4),
    ];

    private static void EmitTreatment(Action<long, AnimalLifeEvent>? emit, Pasture pasture, int i, string herdId, long dayStart, DateOnly day, int withdrawalDays,
        ref DeterministicRandom life)
    {
        var medicines = pasture.Species == AnimalSpecies.Cow ? s_cowMedicines : s_goatMedicines;
        var medicine = medicines[life.NextInt(0, medicines.Length)];
        // Treated at night after the evening's milking showed it: every milking of the withdrawal days comes after it.
        emit?.Invoke(dayStart + (life.NextInt(20, 200) * MinuteMs), new AnimalLifeEvent
        {
            Type = AnimalEventType.Treatment, EarTag = pasture.EarTag(i), Pasture = pasture, HerdId = herdId,
            Medicine = medicine.Name, MedicineId = medicine.Id, Procedure = medicine.Procedure, DoseMl = medicine.DoseMl,
            MilkWithdrawalEndMs = DairySimulation.LocalDayStartMs(day.AddDays(withdrawalDays)),
        });
    }

    private static AnimalLifeEvent Vaccination(Pasture pasture, int i, string herdId, string programme) => new()
    {
        Type = AnimalEventType.Vaccination, EarTag = pasture.EarTag(i), Pasture = pasture, HerdId = herdId, Programme = programme,
        Procedure = "Vaccination",
        Medicine = programme switch
        {
            "fmd" => "Foot-and-mouth disease bivalent inactivated vaccine (O + A)",
            "brucellosis" => "Brucellosis live vaccine (S2 strain)",
            "ppr" => "Peste des petits ruminants live vaccine (Clone 9 strain)",
            _ => programme + " vaccine",
        },
        MedicineId = "CN-VAC-" + programme.ToUpperInvariant(),
        DoseMl = programme == "fmd" ? 2 : 1,
    };

    private static void Breed(ref AnimalState animal, long seed, long key, Pasture pasture, int i, string herdId, long dayStart, AnimalSpecies species,
        AnimalLifeProfile profile, ref DeterministicRandom life, Action<long, AnimalLifeEvent>? emit)
    {
        if (animal.Services == 0)
        {
            return;
        }
        var dsc = animal.DaysSinceCalving;
        var gap = animal.ConceptionDsc - dsc;
        var breeding = gap >= 0 && gap % 21 == 0 && gap / 21 < animal.Services;
        if (!breeding && dsc != animal.ConceptionDsc + PregnancyCheckDays && dsc != animal.AbortionDsc)
        {
            return;
        }
        var tag = pasture.EarTag(i);
        if (gap >= 0 && gap % 21 == 0 && gap / 21 < animal.Services)
        {
            var service = animal.Services - (gap / 21);
            var conceiving = gap == 0;
            if (conceiving && animal.Embryo > 0)
            {
                var imported = animal.Embryo == 2;
                emit?.Invoke(dayStart + (((10 * 60) + life.NextInt(0, 120)) * MinuteMs), new AnimalLifeEvent
                {
                    Type = AnimalEventType.EmbryoTransfer, EarTag = tag, Pasture = pasture, HerdId = herdId, ImportedEmbryo = imported,
                    EmbryoId = (imported ? "EMB-IMP-" : "EMB-NM-") + animal.Serial.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    SireId = Sire(seed, animal.Serial, species),
                });
            }
            else
            {
                emit?.Invoke(dayStart + (((6 * 60) + life.NextInt(0, 120)) * MinuteMs), new AnimalLifeEvent
                {
                    Type = AnimalEventType.Heat, EarTag = tag, Pasture = pasture, HerdId = herdId,
                });
                emit?.Invoke(dayStart + (((14 * 60) + life.NextInt(0, 120)) * MinuteMs), new AnimalLifeEvent
                {
                    Type = AnimalEventType.Insemination, EarTag = tag, Pasture = pasture, HerdId = herdId,
                    Sexed = conceiving ? animal.ConceivingSexed : ServiceSexed(seed, animal, service, species, profile),
                    SireId = Sire(seed, animal.Serial + service, species),
                });
            }
        }
        if (dsc == animal.ConceptionDsc + PregnancyCheckDays)
        {
            emit?.Invoke(dayStart + (((10 * 60) + life.NextInt(0, 110)) * MinuteMs), new AnimalLifeEvent
            {
                Type = AnimalEventType.PregnancyCheck, EarTag = tag, Pasture = pasture, HerdId = herdId, PregnancyResult = "Pregnant",
            });
        }
        if (dsc == animal.AbortionDsc)
        {
            emit?.Invoke(dayStart + (life.NextInt(10, 180) * MinuteMs), new AnimalLifeEvent
            {
                Type = AnimalEventType.Abortion, EarTag = tag, Pasture = pasture, HerdId = herdId,
            });
            // Bred again 30 days later with one service; the calving moves with it.
            var gestation = GestationDays(species);
            animal.AbortionDsc = int.MinValue;
            animal.Services = 1;
            animal.Embryo = 0;
            animal.ConceivingSexed = false;
            if (animal.Parity == 0)
            {
                animal.DaysSinceCalving = 1 - 30 - gestation;
                animal.ConceptionDsc = 1 - gestation;
            }
            else
            {
                animal.ConceptionDsc = dsc + 30;
                animal.CalvingInterval = animal.ConceptionDsc + gestation - 1;
            }
        }
    }

    /// <summary>A bull from the simulator's small catalogue (ranked-bull ids are the simulator's, unverified).</summary>
    private static string Sire(long seed, int serial, AnimalSpecies species)
    {
        var n = new DeterministicRandom(seed, 41, serial).NextInt(1, 41);
        return (species == AnimalSpecies.Cow ? "CN-HOL-BULL-" : "CN-SAA-BUCK-") + n.ToString("D3", System.Globalization.CultureInfo.InvariantCulture);
    }

    private static void ReplaceWithBoughtHeifer(ref AnimalState animal, long seed, long key, int dayIndex, Pasture pasture, AnimalLifeProfile profile)
    {
        var rng = new DeterministicRandom(seed, 35, key, dayIndex);
        var cow = pasture.Species == AnimalSpecies.Cow;
        var calvingInterval = cow ? rng.NextInt(370, 421) : 365;
        var dsc = -rng.NextInt(20, 61);
        var herd = animal.HerdIndex;
        animal = new AnimalState
        {
            Serial = ++pasture.County.LastSerial,
            Parity = 0,
            DaysSinceCalving = dsc,
            CalvingInterval = calvingInterval,
            LactationLength = cow ? calvingInterval - rng.NextInt(50, 71) : rng.NextInt(pasture.Lactation.MinDays, pasture.Lactation.MaxDays + 1),
            YieldFactor = (float)Math.Clamp(rng.LogNormal(1.0, 0.12), 0.6, 1.6),
            SccMedianThousand = (float)rng.LogNormal(cow ? 110 : 500, cow ? 0.6 : 0.5),
            FatPercent = (float)Math.Clamp(rng.Normal(cow ? 3.85 : 3.6, 0.3), 2.9, 5.2),
            ProteinPercent = (float)Math.Clamp(rng.Normal(cow ? 3.25 : 3.1, 0.15), 2.7, 3.9),
            HerdIndex = herd,
            BornDayIndex = dayIndex - (FirstCalvingAge(ref rng, pasture.Species) - (1 - dsc)),
        };
        Plan(ref animal, seed, key, pasture.Species, profile);
        animal.AbortionDsc = int.MinValue; // bought confirmed in calf
    }
}
