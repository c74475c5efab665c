using System.Globalization;
using HohhotCluster.FirmwareSim.Animals;
using HohhotCluster.FirmwareSim.Fleet;
using HohhotCluster.FirmwareSim.Publishing;

namespace HohhotCluster.FirmwareSim.Simulation;

/// <summary>
/// <c>animal_event</c> bodies (docs/mqtt-contract.md "Animal kinds"; the new types as the shared wire decisions of
/// issue 17 have them): the <c>animalEvent</c> member is the ICAR ADE 1.3 resource its <c>resourceType</c> names, the
/// platform's members (herdId, programme, antibodyTest, embryoOrigin) beside it at the top level.
/// </summary>
internal sealed partial class MessageFactory
{
    private static AnimalFacts? MilkingFacts(in SimEvent simEvent) => simEvent.Remark switch
    {
        MilkingRemark.Withdrawal => new AnimalFacts { Remark = "withdrawal_separate" },
        MilkingRemark.WithdrawalToTank => new AnimalFacts { Remark = "withdrawal_tank" },
        MilkingRemark.Colostrum => new AnimalFacts { Remark = "colostrum_separate" },
        MilkingRemark.ColostrumToTank => new AnimalFacts { Remark = "colostrum_tank" },
        _ => null,
    };

    private AnimalFacts WriteAnimalEvent(AnimalLifeEvent e, string deviceId, long epoch, long seq)
    {
        var species = e.Pasture.Species;
        var inv = CultureInfo.InvariantCulture;
        if (e.Type is AnimalEventType.Birth or AnimalEventType.Arrival && e.HerdId is { } herd)
        {
            _writer.WriteString("herdId", herd);
        }
        if (e.Programme is { } programme)
        {
            _writer.WriteString("programme", programme);
        }
        if (e.Type == AnimalEventType.AntibodyTest)
        {
            _writer.WriteStartObject("antibodyTest");
            _writer.WriteString("result", e.Protective ? "protective" : "not_protective");
            _writer.WriteEndObject();
        }
        if (e.Type == AnimalEventType.EmbryoTransfer)
        {
            _writer.WriteString("embryoOrigin", e.ImportedEmbryo ? "imported" : "domestic");
        }

        _writer.WriteStartObject("animalEvent");
        _writer.WriteString("resourceType", AnimalEventTypes.ResourceType(e.Type));
        _writer.WriteString("id", string.Create(inv, $"{deviceId}-{epoch}-{seq}"));
        WriteIdentifier("animal", "cn.moa.eartag", e.EarTag);
        switch (e.Type)
        {
            case AnimalEventType.Birth:
            case AnimalEventType.Arrival:
                if (e.Type == AnimalEventType.Birth)
                {
                    _writer.WriteString("registrationReason", "Born");
                }
                else
                {
                    _writer.WriteString("arrivalReason", e.Reason ?? "Purchase");
                }
                // ICAR requires the birth's location; the pasture's registry id (the platform reads the topic's).
                WriteIdentifier("location", "cn.hohhot.pasture", e.Pasture.Id);
                _writer.WriteStartObject("animalDetail");
                WriteIdentifier("identifier", "cn.moa.eartag", e.EarTag);
                _writer.WriteString("specie", species == AnimalSpecies.Cow ? "Cattle" : "Goat");
                _writer.WriteString("gender", e.Female ? "Female" : "Male");
                if (e.BirthDate is { } born)
                {
                    _writer.WriteString("birthDate", born.ToString("yyyy-MM-dd", inv));
                }
                _writer.WriteNumber("parity", e.Parity);
                _writer.WriteStartObject("primaryBreed");
                _writer.WriteString("scheme", "cn.hohhot.breed");
                _writer.WriteString("id", AnimalLife.Breed(species));
                _writer.WriteEndObject();
                _writer.WriteEndObject();
                break;
            case AnimalEventType.Departure:
                _writer.WriteString("departureKind", e.Reason ?? "Sale");
                break;
            case AnimalEventType.Death:
                _writer.WriteString("deathReason", e.Reason ?? "Unknown");
                break;
            case AnimalEventType.HerdMove:
                _writer.WriteString("animalSetId", e.HerdId);
                break;
            case AnimalEventType.Calving:
                _writer.WriteBoolean("isEmbryoImplant", e.EmbryoImplant);
                _writer.WriteNumber("damParity", e.Parity);
                _writer.WriteNumber("liveProgeny", e.Progeny.Count);
                _writer.WriteNumber("totalProgeny", e.Progeny.Count);
                _writer.WriteStartArray("progenyDetails");
                foreach (var gender in e.Progeny)
                {
                    _writer.WriteStartObject();
                    _writer.WriteString("gender", gender);
                    _writer.WriteBoolean("isLiveBirth", true);
                    _writer.WriteEndObject();
                }
                _writer.WriteEndArray();
                break;
            case AnimalEventType.Treatment:
            case AnimalEventType.Vaccination:
                _writer.WriteStartObject("medicine");
                _writer.WriteString("name", e.Medicine);
                _writer.WriteStartObject("registeredIdentifier");
                _writer.WriteString("scheme", "cn.moa.vetdrug");
                _writer.WriteString("id", e.MedicineId);
                _writer.WriteEndObject();
                _writer.WriteEndObject();
                _writer.WriteString("procedure", e.Procedure);
                _writer.WriteStartObject("dose");
                _writer.WriteNumber("doseQuantity", e.DoseMl);
                _writer.WriteString("doseUnits", "MLT");
                _writer.WriteEndObject();
                if (e.MilkWithdrawalEndMs is { } endMs)
                {
                    _writer.WriteStartArray("withdrawals");
                    _writer.WriteStartObject();
                    _writer.WriteString("productType", "Milk");
                    WriteTime("endDate", endMs, local: true);
                    _writer.WriteEndObject();
                    _writer.WriteEndArray();
                }
                break;
            case AnimalEventType.AntibodyTest:
                _writer.WriteStartArray("diagnoses");
                _writer.WriteStartObject();
                _writer.WriteString("id", "SERO-" + e.Programme);
                _writer.WriteString("name", e.Programme + " antibody test");
                _writer.WriteEndObject();
                _writer.WriteEndArray();
                break;
            case AnimalEventType.Heat:
                _writer.WriteString("heatDetectionMethod", "Pedometer");
                _writer.WriteString("certainty", "Suspect");
                break;
            case AnimalEventType.Insemination:
                _writer.WriteString("inseminationType", "Insemination");
                _writer.WriteStartObject("straw");
                _writer.WriteBoolean("isSexedSemen", e.Sexed);
                if (e.Sexed)
                {
                    _writer.WriteString("sexedGender", "Female");
                }
                _writer.WriteStartArray("sireIdentifiers");
                WriteIdentifierValue("cn.hohhot.sire", e.SireId!);
                _writer.WriteEndArray();
                _writer.WriteEndObject();
                break;
            case AnimalEventType.EmbryoTransfer:
                _writer.WriteString("inseminationType", "Implantation");
                _writer.WriteStartObject("embryo");
                _writer.WriteStartObject("id");
                _writer.WriteString("scheme", e.ImportedEmbryo ? "int.embryo" : "cn.hohhot.embryo");
                _writer.WriteString("id", e.EmbryoId);
                _writer.WriteEndObject();
                _writer.WriteString("collectionCentre", e.ImportedEmbryo ? "imported embryo centre (unverified)" : "Hohhot embryo centre (unverified)");
                _writer.WriteStartArray("sireIdentifiers");
                WriteIdentifierValue("cn.hohhot.sire", e.SireId!);
                _writer.WriteEndArray();
                _writer.WriteEndObject();
                break;
            case AnimalEventType.PregnancyCheck:
                _writer.WriteString("method", "Echography");
                _writer.WriteString("result", e.PregnancyResult ?? "Pregnant");
                break;
            case AnimalEventType.DryOff:
            case AnimalEventType.Abortion:
                break;
        }
        _writer.WriteEndObject();

        return new AnimalFacts
        {
            Event = AnimalEventTypes.Name(e.Type), EarTag = e.EarTag, StockAfter = e.StockAfter, Sexed = e.Sexed,
            EmbryoOrigin = e.Type == AnimalEventType.EmbryoTransfer ? (e.ImportedEmbryo ? "imported" : "domestic") : null,
            Result = e.PregnancyResult, Species = species == AnimalSpecies.Cow ? "cow" : "goat", InHohhot = e.Pasture.County.IsInHohhot,
        };
    }

    private void WriteIdentifier(string name, string scheme, string id)
    {
        _writer.WriteStartObject(name);
        _writer.WriteString("scheme", scheme);
        _writer.WriteString("id", id);
        _writer.WriteEndObject();
    }

    private void WriteIdentifierValue(string scheme, string id)
    {
        _writer.WriteStartObject();
        _writer.WriteString("scheme", scheme);
        _writer.WriteString("id", id);
        _writer.WriteEndObject();
    }
}
