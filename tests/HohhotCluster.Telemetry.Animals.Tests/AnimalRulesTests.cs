using System.Text.Json;
using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Animals.Tests;

/// <summary>
/// Ear tags, the animal_event body and the registry's rules in memory: each quarantine reason of docs/animals.md is
/// given by the event that breaks it, and the next state by one that does not.
/// </summary>
public sealed class AnimalRulesTests
{
    private static readonly PastureFacts Cows = new("P1", "150121", AnimalSpecies.Cow);
    private static readonly PastureFacts Goats = new("P2", "150123", AnimalSpecies.Goat);
    private static readonly PastureFacts OtherCows = new("P3", "150123", AnimalSpecies.Cow);
    private static readonly DateTimeOffset T0 = new(2026, 4, 1, 8, 0, 0, TimeSpan.FromHours(8));
    private const string Cow = "215012100000017";
    private const string Goat = "315012300000001";

    private static AnimalEventRecord Parse(object body, DateTimeOffset? at = null)
    {
        using var json = JsonDocument.Parse(JsonSerializer.Serialize(body));
        Assert.True(AnimalEventPayloads.TryParse(json.RootElement, at ?? T0, out var record, out var rejection), rejection.Detail);
        return record;
    }

    private static Rejection ParseRefusal(object body)
    {
        using var json = JsonDocument.Parse(JsonSerializer.Serialize(body));
        Assert.False(AnimalEventPayloads.TryParse(json.RootElement, T0, out _, out var rejection));
        return rejection;
    }

    private static AnimalState Apply(AnimalState? state, object body, PastureFacts pasture, DateTimeOffset at)
    {
        Assert.True(AnimalRules.TryApply(state, Parse(body, at), at, pasture, out var next, out var rejection), rejection.Detail);
        return next;
    }

    private static Rejection Refuse(AnimalState? state, object body, PastureFacts pasture, DateTimeOffset at)
    {
        Assert.False(AnimalRules.TryApply(state, Parse(body, at), at, pasture, out _, out var rejection));
        return rejection;
    }

    /// <summary>A cow bought in, lactating in her first lactation, on P1's herd H1.</summary>
    private static AnimalState LactatingCow() => Apply(null, AnimalBodies.Arrival(Cow, "P1-H1"), Cows, T0);

    [Theory]
    [InlineData("215012100000017", true)]
    [InlineData("315012300000001", true)]
    [InlineData("115012100000017", false)]
    [InlineData("21501210000001", false)]
    [InlineData("2150121000000170", false)]
    [InlineData("21501210000001x", false)]
    public void An_ear_tag_is_15_digits_led_by_the_species_code(string text, bool valid)
    {
        Assert.Equal(valid, EarTag.TryParse(text, out var tag, out var problem));
        if (valid)
        {
            Assert.Equal(text[1..7], tag.CountyCode);
            Assert.Equal(text[7..], tag.Serial);
        }
        else
        {
            Assert.NotEmpty(problem);
        }
    }

    [Fact]
    public void A_body_names_the_member_it_breaks()
    {
        Assert.Equal(("missing_field", "animalEvent is required"), Pair(ParseRefusal(new { herdId = "H" })));
        Assert.StartsWith("animalEvent.resourceType must be one of", ParseRefusal(new { animalEvent = new { resourceType = "icarWeightEventResource", animal = AnimalBodies.Tag(Cow) } }).Detail);
        Assert.Equal("animalEvent.animal.id must start with the species code 2 (cattle) or 3 (sheep and goats)",
            ParseRefusal(AnimalBodies.Departure("915012100000017")).Detail);
        Assert.StartsWith("animalEvent.animal.scheme must be cn.moa.eartag",
            ParseRefusal(new { animalEvent = new { resourceType = "icarMilkingDryOffEventResource", animal = new { scheme = "nl.ubn", id = Cow } } }).Detail);
        Assert.Equal(("missing_field", "herdId is required"),
            Pair(ParseRefusal(new { animalEvent = new { resourceType = "icarMovementBirthEventResource", animal = AnimalBodies.Tag(Cow), animalDetail = AnimalBodies.Detail() } })));
        Assert.Equal(("missing_field", "animalEvent.animalDetail is required"),
            Pair(ParseRefusal(new { herdId = "H", animalEvent = new { resourceType = "icarMovementArrivalEventResource", animal = AnimalBodies.Tag(Cow) } })));
        Assert.StartsWith("animalEvent.animalDetail.specie must be Cattle or Goat", ParseRefusal(AnimalBodies.Arrival(Cow, "H", AnimalBodies.Detail(specie: "Pig"))).Detail);
        Assert.StartsWith("animalEvent.animalDetail.gender must be one of", ParseRefusal(AnimalBodies.Arrival(Cow, "H", AnimalBodies.Detail(gender: "F"))).Detail);
        Assert.StartsWith("animalEvent.animalDetail.birthDate must be", ParseRefusal(AnimalBodies.Arrival(Cow, "H", AnimalBodies.Detail(birthDate: "1/2/2024"))).Detail);
        Assert.StartsWith("animalEvent.animalDetail.parity must be at least 1 for an animal in milk",
            ParseRefusal(AnimalBodies.Arrival(Cow, "H", AnimalBodies.Detail(lactationStatus: "Lactating"))).Detail);
        Assert.StartsWith("animalEvent.animalDetail.lactationStatus is for a female",
            ParseRefusal(AnimalBodies.Arrival(Cow, "H", AnimalBodies.Detail(gender: "Male", parity: 1, lactationStatus: "Dry"))).Detail);
        Assert.StartsWith("animalEvent.animalDetail.parity must be 0", ParseRefusal(AnimalBodies.Birth(Cow, "H", AnimalBodies.Detail(parity: 2))).Detail);
        Assert.StartsWith("animalEvent.departureKind must be one of", ParseRefusal(AnimalBodies.Departure(Cow, "Sold")).Detail);
        Assert.StartsWith("animalEvent.deathReason must be one of", ParseRefusal(AnimalBodies.Death(Cow, "Old")).Detail);
        Assert.Equal(("missing_field", "animalEvent.animalSetId is required"),
            Pair(ParseRefusal(new { animalEvent = new { resourceType = "icarAnimalSetJoinEventResource", animal = AnimalBodies.Tag(Cow) } })));
    }

    [Fact]
    public void Each_icar_resource_is_its_event()
    {
        Assert.Equal(AnimalEventType.Birth, Parse(AnimalBodies.Birth(Cow, "H")).Event);
        Assert.Equal(AnimalEventType.Arrival, Parse(AnimalBodies.Arrival(Cow, "H")).Event);
        Assert.Equal(AnimalEventType.Departure, Parse(AnimalBodies.Departure(Cow)).Event);
        Assert.Equal(AnimalEventType.Death, Parse(AnimalBodies.Death(Cow)).Event);
        var move = Parse(AnimalBodies.HerdMove(Cow, "P1-H2"));
        Assert.Equal((AnimalEventType.HerdMove, "P1-H2"), (move.Event, move.HerdId));
        Assert.Equal(AnimalEventType.DryOff, Parse(AnimalBodies.DryOff(Cow)).Event);
        Assert.Equal(AnimalEventType.Calving, Parse(AnimalBodies.Calving(Cow)).Event);
    }

    [Fact]
    public void A_calf_is_born_alive_with_parity_0_on_its_herd_and_on_the_day_of_its_birth()
    {
        var calf = Apply(null, AnimalBodies.Birth(Cow, "P1-H1"), Cows, T0);
        Assert.Equal((AnimalStatus.Alive, 0, (string?)null, "P1-H1", "P1", "150121"), (calf.Status, calf.Parity, calf.LactationStatus, calf.HerdId, calf.PastureId, calf.CountyId));
        Assert.Equal(new DateOnly(2026, 4, 1), calf.BirthDate);
    }

    [Fact]
    public void Calving_adds_one_to_parity_and_starts_a_lactation_and_dry_off_ends_it()
    {
        var cow = LactatingCow();
        var dry = Apply(cow, AnimalBodies.DryOff(Cow), Cows, T0.AddDays(250));
        Assert.Equal(("Dry", 1), (dry.LactationStatus, dry.Parity));
        var fresh = Apply(dry, AnimalBodies.Calving(Cow), Cows, T0.AddDays(310));
        Assert.Equal(("Fresh", 2, new DateOnly(2027, 2, 5)), (fresh.LactationStatus, fresh.Parity, fresh.LactationStart));
    }

    [Fact]
    public void A_herd_move_changes_the_herd_and_nothing_else()
    {
        var moved = Apply(LactatingCow(), AnimalBodies.HerdMove(Cow, "P1-H2"), Cows, T0.AddDays(1));
        Assert.Equal(("P1-H2", AnimalStatus.Alive, 1, "Lactating"), (moved.HerdId, moved.Status, moved.Parity, moved.LactationStatus));
    }

    [Fact]
    public void Departure_and_death_leave_the_herd_with_their_status()
    {
        Assert.Equal((AnimalStatus.OffFarm, (string?)null), Tuple(Apply(LactatingCow(), AnimalBodies.Departure(Cow), Cows, T0.AddDays(1))));
        Assert.Equal((AnimalStatus.Dead, (string?)null), Tuple(Apply(LactatingCow(), AnimalBodies.Death(Cow), Cows, T0.AddDays(1))));
    }

    [Fact]
    public void An_event_of_an_animal_not_in_the_registry_is_unknown_animal()
    {
        foreach (var body in new[] { AnimalBodies.Departure(Cow), AnimalBodies.Death(Cow), AnimalBodies.HerdMove(Cow, "P1-H2"), AnimalBodies.DryOff(Cow), AnimalBodies.Calving(Cow) })
        {
            Assert.Equal(QuarantineReasons.UnknownAnimal, Refuse(null, body, Cows, T0).Reason);
        }
    }

    [Fact]
    public void A_calf_tagged_with_another_countys_code_is_tag_county_mismatch()
    {
        var r = Refuse(null, AnimalBodies.Birth("215012300000017", "P1-H1"), Cows, T0);
        Assert.Equal(QuarantineReasons.TagCountyMismatch, r.Reason);
        Assert.Contains("150123", r.Detail);
    }

    [Fact]
    public void A_bought_in_animal_keeps_the_tag_of_the_county_it_was_born_in()
    {
        var bought = Apply(null, AnimalBodies.Arrival("215012300000017", "P1-H1"), Cows, T0);
        Assert.Equal(("P1", "150121"), (bought.PastureId, bought.CountyId));
    }

    [Fact]
    public void A_goat_tag_on_a_cow_pasture_or_a_cow_on_a_goat_pasture_is_species_mismatch()
    {
        Assert.Equal(QuarantineReasons.SpeciesMismatch, Refuse(null, AnimalBodies.Arrival(Goat, "P1-H1", AnimalBodies.Detail(specie: "Goat")), Cows, T0).Reason);
        Assert.Equal(QuarantineReasons.SpeciesMismatch, Refuse(null, AnimalBodies.Arrival(Goat, "P2-H1", AnimalBodies.Detail(specie: "Cattle")), Goats, T0).Reason);
        Assert.Equal(QuarantineReasons.SpeciesMismatch, Refuse(null, AnimalBodies.Arrival(Cow, "P2-H1", AnimalBodies.Detail(specie: "Goat")), Goats, T0).Reason);
        var kid = Apply(null, AnimalBodies.Birth(Goat, "P2-H1", AnimalBodies.Detail(specie: "Goat", birthDate: null)), Goats, T0);
        Assert.Equal(AnimalSpecies.Goat, kid.Species);
    }

    [Fact]
    public void A_second_birth_or_an_arrival_of_an_animal_alive_anywhere_is_animal_already_registered()
    {
        var cow = LactatingCow();
        Assert.Equal(QuarantineReasons.AnimalAlreadyRegistered, Refuse(cow, AnimalBodies.Birth(Cow, "P1-H1"), Cows, T0.AddDays(1)).Reason);
        Assert.Equal(QuarantineReasons.AnimalAlreadyRegistered, Refuse(cow, AnimalBodies.Arrival(Cow, "P1-H1"), Cows, T0.AddDays(1)).Reason);
        var elsewhere = Refuse(cow, AnimalBodies.Arrival(Cow, "P3-H1"), OtherCows, T0.AddDays(1));
        Assert.Equal(QuarantineReasons.AnimalAlreadyRegistered, elsewhere.Reason);
        Assert.Contains("its departure from there comes first", elsewhere.Detail);
    }

    [Fact]
    public void An_animal_that_departed_comes_back_by_an_arrival_on_any_pasture()
    {
        var sold = Apply(LactatingCow(), AnimalBodies.Departure(Cow, "InternalTransfer"), Cows, T0.AddDays(1));
        var there = Apply(sold, AnimalBodies.Arrival(Cow, "P3-H1", AnimalBodies.Detail(parity: 1, lactationStatus: "Lactating"), "InternalTransfer"), OtherCows, T0.AddDays(2));
        Assert.Equal((AnimalStatus.Alive, "P3", "150123", "P3-H1"), (there.Status, there.PastureId, there.CountyId, there.HerdId));
        Assert.Equal(QuarantineReasons.AnimalAlreadyRegistered, Refuse(sold, AnimalBodies.Birth(Cow, "P1-H1"), Cows, T0.AddDays(2)).Reason);
    }

    [Fact]
    public void Any_event_of_a_departed_animal_but_its_arrival_is_animal_departed()
    {
        var sold = Apply(LactatingCow(), AnimalBodies.Departure(Cow), Cows, T0.AddDays(1));
        foreach (var body in new[] { AnimalBodies.Departure(Cow), AnimalBodies.Death(Cow), AnimalBodies.HerdMove(Cow, "P1-H2"), AnimalBodies.DryOff(Cow), AnimalBodies.Calving(Cow) })
        {
            Assert.Equal(QuarantineReasons.AnimalDeparted, Refuse(sold, body, Cows, T0.AddDays(2)).Reason);
        }
    }

    [Fact]
    public void Any_event_of_a_dead_animal_is_animal_dead()
    {
        var dead = Apply(LactatingCow(), AnimalBodies.Death(Cow), Cows, T0.AddDays(1));
        foreach (var body in new[] { AnimalBodies.Arrival(Cow, "P1-H1"), AnimalBodies.Departure(Cow), AnimalBodies.Death(Cow), AnimalBodies.Calving(Cow) })
        {
            Assert.Equal(QuarantineReasons.AnimalDead, Refuse(dead, body, Cows, T0.AddDays(2)).Reason);
        }
    }

    [Fact]
    public void An_event_from_another_pasture_than_the_animals_is_animal_not_on_pasture()
    {
        var r = Refuse(LactatingCow(), AnimalBodies.Departure(Cow), OtherCows, T0.AddDays(1));
        Assert.Equal(QuarantineReasons.AnimalNotOnPasture, r.Reason);
        Assert.Contains("'P1', not 'P3'", r.Detail);
    }

    [Fact]
    public void Calving_or_dry_off_of_a_male_is_animal_not_female()
    {
        var bull = Apply(null, AnimalBodies.Arrival(Cow, "P1-H1", AnimalBodies.Detail(gender: "Male")), Cows, T0);
        Assert.Equal(QuarantineReasons.AnimalNotFemale, Refuse(bull, AnimalBodies.Calving(Cow), Cows, T0.AddDays(1)).Reason);
        Assert.Equal(QuarantineReasons.AnimalNotFemale, Refuse(bull, AnimalBodies.DryOff(Cow), Cows, T0.AddDays(1)).Reason);
    }

    [Fact]
    public void Dry_off_of_a_dry_cow_or_a_heifer_is_animal_not_lactating()
    {
        var dry = Apply(LactatingCow(), AnimalBodies.DryOff(Cow), Cows, T0.AddDays(1));
        Assert.Equal(QuarantineReasons.AnimalNotLactating, Refuse(dry, AnimalBodies.DryOff(Cow), Cows, T0.AddDays(2)).Reason);
        var heifer = Apply(null, AnimalBodies.Birth(Cow, "P1-H1"), Cows, T0);
        Assert.Equal(QuarantineReasons.AnimalNotLactating, Refuse(heifer, AnimalBodies.DryOff(Cow), Cows, T0.AddDays(2)).Reason);
    }

    [Fact]
    public void An_event_older_than_the_animals_newest_is_animal_event_out_of_order()
    {
        var moved = Apply(LactatingCow(), AnimalBodies.HerdMove(Cow, "P1-H2"), Cows, T0.AddDays(5));
        var r = Refuse(moved, AnimalBodies.DryOff(Cow), Cows, T0.AddDays(4));
        Assert.Equal(QuarantineReasons.AnimalEventOutOfOrder, r.Reason);
        // At the same moment is in order.
        Apply(moved, AnimalBodies.DryOff(Cow), Cows, T0.AddDays(5));
    }

    [Fact]
    public void A_birth_date_after_the_event_is_invalid_field()
    {
        var r = Refuse(null, AnimalBodies.Arrival(Cow, "P1-H1", AnimalBodies.Detail(birthDate: "2026-04-02")), Cows, T0);
        Assert.Equal(QuarantineReasons.InvalidField, r.Reason);
        Assert.StartsWith("animalDetail.birthDate", r.Detail);
    }

    [Fact]
    public void Every_reason_the_rules_give_is_a_registered_quarantine_reason()
    {
        foreach (var reason in new[]
        {
            QuarantineReasons.UnknownAnimal, QuarantineReasons.AnimalAlreadyRegistered, QuarantineReasons.TagCountyMismatch,
            QuarantineReasons.SpeciesMismatch, QuarantineReasons.AnimalDeparted, QuarantineReasons.AnimalDead,
            QuarantineReasons.AnimalNotOnPasture, QuarantineReasons.AnimalNotFemale, QuarantineReasons.AnimalNotLactating,
            QuarantineReasons.AnimalEventOutOfOrder,
        })
        {
            Assert.Contains(reason, QuarantineReasons.All);
        }
    }

    private static (string, string) Pair(Rejection r) => (r.Reason, r.Detail);

    private static (AnimalStatus, string?) Tuple(AnimalState s) => (s.Status, s.HerdId);
}
