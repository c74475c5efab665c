using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Ingestion;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Traceability;

/// <summary>
/// Builds the chain from the core readings: a bulk-tank collection opens (closes, in the tank's terms) a bulk-tank lot
/// and, when it names its tanker load, the pickup edge; a plant intake is the receipt of a tanker load at the plant,
/// accepted unless it arrived warmer than <see cref="TraceabilityOptions.RejectAboveC"/>. Every write is keyed by
/// the lot's natural id, so a redelivered reading changes nothing.
/// </summary>
public sealed class TelemetryChainObserver(ChainStore store, IOptions<TraceabilityOptions> options) : IAcceptedReadingObserver
{
    public async Task OnAcceptedAsync(IReadOnlyList<object> readings, CancellationToken cancellationToken)
    {
        var writes = new List<ChainWrite>();
        foreach (var reading in readings)
        {
            switch (reading)
            {
                case BulkTankReading { Kind: BulkTankEventKind.Collection, LotId: { } lotId } collection:
                    writes.Add(FromCollection(collection, lotId));
                    break;
                case PlantIntakeReading intake:
                    writes.Add(FromIntake(intake, options.Value.RejectAboveC));
                    break;
            }
        }

        if (writes.Count > 0)
        {
            await store.ApplyAsync(writes, cancellationToken);
        }
    }

    public static ChainWrite FromCollection(BulkTankReading collection, string lotId)
    {
        var write = new ChainWrite();
        var lot = new LotNode
        {
            Kind = LotKinds.BulkTank,
            LotId = lotId,
            PastureId = collection.PastureId,
            UnitId = collection.TankId,
            Kg = collection.CollectedKg,
            TemperatureC = collection.TemperatureC,
            At = collection.EventTime,
            Details = JsonSerializer.Serialize(new Dictionary<string, string> { ["collectionKey"] = collection.Key.ToString() }),
        };
        write.Lots.Add(lot);
        if (collection.TankerLoadId is { Length: > 0 } load && collection.CollectedKg is { } kg)
        {
            // The pickup message (tanker_pickup), when it comes, is the handover slip and overrides this kg.
            write.Edges.Add(new EdgeWrite(lot.Ref, new LotRef(LotKinds.TankerLoad, load), kg, collection.EventTime, collection.TemperatureC, Authoritative: false));
        }

        return write;
    }

    public static ChainWrite FromIntake(PlantIntakeReading intake, double rejectAboveC)
    {
        var write = new ChainWrite();
        var details = new Dictionary<string, string> { ["intakeKey"] = intake.Key.ToString() };
        if (intake.SiloId is { } silo)
        {
            details["siloId"] = silo;
        }

        var receipt = new LotNode
        {
            Kind = LotKinds.Receipt,
            LotId = intake.TankerLoadId,
            PlantId = intake.PlantId,
            UnitId = intake.TankerPlate,
            Kg = intake.NetKg,
            TemperatureC = intake.TemperatureC,
            At = intake.EventTime,
            Accepted = intake.TemperatureC is not { } t || t <= rejectAboveC,
            Details = JsonSerializer.Serialize(details),
        };
        write.Lots.Add(new LotNode { Kind = LotKinds.TankerLoad, LotId = intake.TankerLoadId, UnitId = intake.TankerPlate });
        write.Lots.Add(receipt);
        write.Edges.Add(new EdgeWrite(new LotRef(LotKinds.TankerLoad, intake.TankerLoadId), receipt.Ref, intake.NetKg, intake.EventTime, intake.TemperatureC));
        return write;
    }
}
