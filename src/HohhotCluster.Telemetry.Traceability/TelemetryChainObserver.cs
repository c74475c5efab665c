using System.Text.Json;
using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;
using Microsoft.Extensions.Options;

namespace HohhotCluster.Telemetry.Traceability;

/// <summary>
/// Builds the chain from the core readings: a bulk-tank collection opens (closes, in the tank's terms) a bulk-tank lot
/// and, when it names its tanker load, the pickup edge; a plant intake is the receipt of a tanker load at the plant,
/// accepted unless it arrived warmer than <see cref="TraceabilityOptions.RejectAboveC"/>. Every write is keyed by
/// the lot's natural id, so a redelivered reading changes nothing.
/// </summary>
public sealed class TelemetryChainObserver(ChainStore store, IOptions<TraceabilityOptions> options)
    : IAcceptedObserver<BulkTankDraft>, IAcceptedObserver<PlantIntakeDraft>
{
    /// <summary>A collection names its lot (and maybe the tanker load it went into): the lot node and its edge.</summary>
    public Task OnAcceptedAsync(IReadOnlyList<Accepted<BulkTankDraft>> records, CancellationToken cancellationToken)
    {
        var writes = new List<ChainWrite>();
        foreach (var record in records)
        {
            if (record.Record is { Kind: BulkTankEventKind.Collection, LotId: { } lotId })
            {
                writes.Add(FromCollection(record.ToReading(), lotId));
            }
        }

        return writes.Count > 0 ? store.ApplyAsync(writes, cancellationToken) : Task.CompletedTask;
    }

    /// <summary>An intake is the load's receipt at the plant.</summary>
    public Task OnAcceptedAsync(IReadOnlyList<Accepted<PlantIntakeDraft>> records, CancellationToken cancellationToken)
    {
        var writes = new List<ChainWrite>(records.Count);
        foreach (var record in records)
        {
            writes.Add(FromIntake(record.ToReading(), options.Value.RejectAboveC));
        }

        return writes.Count > 0 ? store.ApplyAsync(writes, cancellationToken) : Task.CompletedTask;
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
