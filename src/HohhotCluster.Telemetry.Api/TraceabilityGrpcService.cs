using HohhotCluster.Telemetry.Contracts;
using System.Globalization;
using Grpc.Core;
using HohhotCluster.Telemetry.Protos.V1;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.Traceability;
using Proto = HohhotCluster.Telemetry.Protos.V1;
using Trace = HohhotCluster.Telemetry.Traceability;

namespace HohhotCluster.Telemetry.Api;

/// <summary>
/// Trace back and forward, recall impact, mass balance and EPCIS import/export. The caller's scope comes from its
/// token (<see cref="ChainScopeAsync"/>); refusals become INVALID_ARGUMENT (EPCIS problems also as at most
/// <see cref="MaxProblemTrailers"/> <c>epcis-problem</c> trailers), NOT_FOUND (also for what the caller may not see),
/// PERMISSION_DENIED (a write across owners) or FAILED_PRECONDITION with a message the caller can act on.
/// </summary>
public sealed class TraceabilityGrpcService(
    ChainQueries queries, EpcisImporter importer, EpcisExporter exporter, RegistryStore registry, Trace.Tanker.TankerLogStore tankerLogs)
    : TraceabilityService.TraceabilityServiceBase
{
    public const int MaxProblemTrailers = 20;

    public override Task<TraceBackReply> TraceBack(TraceBackRequest request, ServerCallContext context) => Guard(async () =>
    {
        var caller = await ChainScopeAsync(context);
        var kind = request.Kind == LotKind.Unspecified ? LotKinds.Product : KindOf(request.Kind);
        var result = await queries.TraceBackAsync(caller, new Trace.LotRef(kind, RequireId(request.ProductLotId, "product_lot_id")), context.CancellationToken);
        var reply = new TraceBackReply { Root = ToLot(result.Root, result.Graph) };
        AddGraph(result.Graph, reply.Lots, reply.Edges);
        await AttachRoadsAsync([reply.Root, .. reply.Lots], context.CancellationToken);
        AttachAnimals(reply, result.Animals);
        return reply;
    });

    public override Task<TraceForwardReply> TraceForward(TraceForwardRequest request, ServerCallContext context) => Guard(async () =>
    {
        var caller = await ChainScopeAsync(context);
        var ct = context.CancellationToken;
        var result = request.SourceCase switch
        {
            TraceForwardRequest.SourceOneofCase.BulkTankLotId =>
                await queries.TraceForwardAsync(caller, new Trace.LotRef(LotKinds.BulkTank, RequireId(request.BulkTankLotId, "bulk_tank_lot_id")), ct),
            TraceForwardRequest.SourceOneofCase.TankerLoadId =>
                await queries.TraceForwardAsync(caller, new Trace.LotRef(LotKinds.TankerLoad, RequireId(request.TankerLoadId, "tanker_load_id")), ct),
            TraceForwardRequest.SourceOneofCase.PastureWindow => await queries.TraceForwardFromPastureAsync(caller,
                RequireId(request.PastureWindow.PastureId, "pasture_window.pasture_id"),
                ParseTime(request.PastureWindow.From, "pasture_window.from"), ParseTime(request.PastureWindow.To, "pasture_window.to"), ct),
            TraceForwardRequest.SourceOneofCase.SampleId => await queries.TraceForwardFromSampleAsync(caller, RequireId(request.SampleId, "sample_id"), ct),
            _ => throw new InvalidTraceRequestException("Give one source: bulk_tank_lot_id, tanker_load_id, pasture_window or sample_id."),
        };
        var reply = new TraceForwardReply();
        foreach (var source in result.Sources)
        {
            reply.Sources.Add(ToLot(source, result.Graph));
        }

        foreach (var reached in result.Reached)
        {
            reply.Reached.Add(new Proto.ReachedLot { Lot = ToLot(reached.Lot, result.Graph), SourceKg = reached.SourceKg, Share = reached.Share });
        }

        AddGraph(result.Graph, null, reply.Edges);
        if (result.Sample is { } sample)
        {
            reply.Sample = ToCheck(sample);
        }

        await AttachRoadsAsync([.. reply.Sources, .. reply.Reached.Select(r => r.Lot)], ct);
        return reply;
    });

    public override Task<RecallImpactReply> RecallImpact(RecallImpactRequest request, ServerCallContext context) => Guard(async () =>
    {
        var given = new[] { request.SampleId, request.SiloBatchId, request.LineRunProductLotId }.Count(v => v.Length > 0);
        if (given != 1)
        {
            throw new InvalidTraceRequestException("Give exactly one recall root: sample_id, silo_batch_id or line_run_product_lot_id.");
        }

        var root = request.SampleId.Length > 0 ? RecallRoot.OfSample(RequireId(request.SampleId, "sample_id"))
            : request.SiloBatchId.Length > 0 ? RecallRoot.OfSiloBatch(RequireId(request.SiloBatchId, "silo_batch_id"))
            : RecallRoot.OfLineRun(RequireId(request.LineRunProductLotId, "line_run_product_lot_id"));
        var impact = await queries.RecallAsync(await ChainScopeAsync(context), root, context.CancellationToken);
        var reply = new RecallImpactReply
        {
            SampledLot = new Proto.LotRef { Kind = ProtoKind(impact.Root.Kind), Id = impact.Root.LotId },
            Root = ToLot(impact.Root, new ChainGraph()),
        };
        if (impact.Sample is { } sample)
        {
            reply.Sample = ToCheck(sample);
        }

        foreach (var p in impact.Products)
        {
            reply.Products.Add(new AffectedProduct
            {
                ProductLotId = p.Lot.LotId,
                PlantId = p.Lot.PlantId ?? "",
                Product = p.Lot.Product ?? "",
                Line = p.Lot.UnitId ?? "",
                ProducedAt = p.Lot.At is { } at ? EpcisExporter.Time(at) : "",
                OutputKg = p.HeldKg,
                SourceKg = p.SourceKg,
                Share = p.Share,
                AffectedKg = p.HeldKg,
                Reason = p.Reason,
            });
            reply.TotalOutputKg += p.HeldKg;
            reply.TotalSourceKg += p.SourceKg;
        }

        return reply;
    });

    public override Task<MassBalanceReply> MassBalance(MassBalanceRequest request, ServerCallContext context) => Guard(async () =>
    {
        if (!DateOnly.TryParseExact(request.LocalDate, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            throw new InvalidTraceRequestException("local_date must be a date as yyyy-MM-dd.");
        }

        var result = await queries.MassBalanceAsync(await ChainScopeAsync(context), RequireId(request.PlantId, "plant_id"), date, context.CancellationToken);
        var reply = new MassBalanceReply
        {
            PlantId = result.PlantId,
            LocalDate = result.LocalDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            Tolerance = result.Tolerance,
            PickedUpKg = result.PickedUpKg,
            ReceivedKg = result.ReceivedKg,
            RejectedKg = result.RejectedKg,
            BlendedKg = result.BlendedKg,
            UsedKg = result.UsedKg,
            ProducedKg = result.ProducedKg,
        };
        foreach (var flag in result.Flags)
        {
            reply.Discrepancies.Add(new Discrepancy
            {
                Kind = flag.Kind,
                Lot = new Proto.LotRef { Kind = ProtoKind(flag.Lot.Kind), Id = flag.Lot.Id },
                ExpectedKg = flag.ExpectedKg,
                ActualKg = flag.ActualKg,
                DifferenceKg = flag.DifferenceKg,
                Relative = flag.Relative,
                Detail = flag.Detail,
                Evidence = { flag.Evidence.Select(e => new Evidence { Name = e.Key, Value = e.Value }) },
            });
        }

        return reply;
    });

    public override Task<ImportEpcisReply> ImportEpcis(ImportEpcisRequest request, ServerCallContext context) => Guard(async () =>
    {
        if (string.IsNullOrWhiteSpace(request.DocumentJson))
        {
            throw new InvalidTraceRequestException("document_json is empty.");
        }

        var result = await importer.ImportAsync(await ChainScopeAsync(context), request.DocumentJson, context.CancellationToken);
        var reply = new ImportEpcisReply
        {
            Events = result.Events, Imported = result.Imported, Duplicates = result.Duplicates, Lots = result.Lots, Edges = result.Edges, Retracted = result.Retracted,
        };
        reply.Ignored.Add(result.Ignored);
        reply.Notes.Add(result.Notes);
        return reply;
    });

    public override Task<DeclareRecallReply> DeclareRecall(DeclareRecallRequest request, ServerCallContext context) => Guard(async () =>
    {
        var at = await queries.DeclareRecallAsync(await ChainScopeAsync(context), RequireId(request.ProductLotId, "product_lot_id"), request.Reason,
            context.CancellationToken);
        return new DeclareRecallReply { DeclaredAt = EpcisExporter.Time(at) };
    });

    public override Task<ExportEpcisReply> ExportEpcis(ExportEpcisRequest request, ServerCallContext context) => Guard(async () =>
    {
        var caller = await ChainScopeAsync(context);
        (string json, int events) = request.ScopeCase switch
        {
            ExportEpcisRequest.ScopeOneofCase.Lot => await exporter.ExportLotAsync(caller,
                new Trace.LotRef(KindOf(request.Lot.Kind), RequireId(request.Lot.Id, "lot.id")), context.CancellationToken),
            ExportEpcisRequest.ScopeOneofCase.Window => await exporter.ExportWindowAsync(caller,
                ParseTime(request.Window.From, "window.from"), ParseTime(request.Window.To, "window.to"), context.CancellationToken),
            _ => throw new InvalidTraceRequestException("Give a lot or a time window to export."),
        };
        return new ExportEpcisReply { DocumentJson = json, Events = events };
    });

    private static async Task<T> Guard<T>(Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (InvalidTraceRequestException refusal)
        {
            var trailers = new Metadata();
            foreach (var problem in refusal.Problems.Take(MaxProblemTrailers))
            {
                // Metadata values are ASCII: keep the problem readable, short and the trailer valid.
                trailers.Add("epcis-problem", Ascii(TextLimits.Shorten(problem, 200)));
            }

            if (refusal.Problems.Count > MaxProblemTrailers)
            {
                trailers.Add("epcis-problem", $"... and {refusal.Problems.Count - MaxProblemTrailers} more problems");
            }

            var detail = refusal.Problems.Count > 1 || refusal.Problems[0] != refusal.Message
                ? refusal.Message + " " + string.Join("; ", refusal.Problems.Take(20))
                : refusal.Message;
            throw new RpcException(new Status(StatusCode.InvalidArgument, detail), trailers);
        }
        catch (LotNotFoundException refusal)
        {
            throw new RpcException(new Status(StatusCode.NotFound, refusal.Message));
        }
        catch (ScopeDeniedException refusal)
        {
            throw new RpcException(new Status(StatusCode.PermissionDenied, refusal.Message));
        }
        catch (TracePreconditionException refusal)
        {
            throw new RpcException(new Status(StatusCode.FailedPrecondition, refusal.Message));
        }
        catch (TraceBusyException refusal)
        {
            throw new RpcException(new Status(StatusCode.ResourceExhausted, refusal.Message));
        }
    }

    /// <summary>The chain as the verified caller may see and change it.</summary>
    private async Task<Trace.CallerScope> ChainScopeAsync(ServerCallContext context)
    {
        var caller = context.Caller();
        switch (caller.Kind)
        {
            case Identity.OrganisationKind.PlatformOperator:
                return new Trace.CallerScope(Trace.CallerRole.Operator, caller.OrganisationId, null);
            case Identity.OrganisationKind.Processor:
                return new Trace.CallerScope(Trace.CallerRole.Processor, caller.OrganisationId, caller.PlantIds);
            case Identity.OrganisationKind.PastureOperator:
                return new Trace.CallerScope(Trace.CallerRole.PastureOperator, caller.OrganisationId, [], caller.PastureIds);
            case Identity.OrganisationKind.Regulator when caller.CityWide:
                return new Trace.CallerScope(Trace.CallerRole.Regulator, caller.OrganisationId, null);
            default:
                // A county regulator: the chain of the plants and pastures in its counties.
                var within = new RegistryVisibility(false, caller.CountyIds, [], []);
                var page = new RegistryPage { Size = 100_000 };
                var plants = await registry.ListPlantsAsync(page, within, context.CancellationToken);
                var pastures = await registry.ListPasturesAsync(page, within, context.CancellationToken);
                return new Trace.CallerScope(Trace.CallerRole.Regulator, caller.OrganisationId,
                    plants.Select(p => p.Id).ToArray(), pastures.Select(p => p.Id).ToArray());
        }
    }

    /// <summary>Each tanker load's road (docs/traceability.md, "Road temperatures"), read in one round trip for the whole answer.</summary>
    private async Task AttachRoadsAsync(IReadOnlyList<Proto.Lot> lots, CancellationToken cancellationToken)
    {
        var loads = new HashSet<string>(StringComparer.Ordinal);
        foreach (var lot in lots)
        {
            if (lot.Ref.Kind == LotKind.TankerLoad)
            {
                loads.Add(lot.Ref.Id);
            }
        }

        if (loads.Count == 0)
        {
            return;
        }

        var roads = await tankerLogs.RoadsAsync(loads, cancellationToken);
        foreach (var lot in lots)
        {
            if (lot.Ref.Kind == LotKind.TankerLoad && roads.TryGetValue(lot.Ref.Id, out var road))
            {
                lot.Road = ToRoad(road);
            }
        }
    }

    /// <summary>
    /// Each bulk-tank lot's animals, when an animal source is registered; without one the reply says the animals are
    /// not known (never zero animals). A lot the source has no milkings for carries none.
    /// </summary>
    public static void AttachAnimals(TraceBackReply reply, IReadOnlyDictionary<string, HohhotCluster.Telemetry.Contracts.LotAnimals>? animals)
    {
        if (animals is null)
        {
            reply.Animals = AnimalsKnowledge.NotKnown;
            reply.AnimalsNote = "animals: not known (no animal source is registered on this platform)";
            return;
        }

        reply.Animals = AnimalsKnowledge.Known;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var notRouted = new HashSet<string>(StringComparer.Ordinal);
        foreach (var lot in reply.Lots.Prepend(reply.Root))
        {
            if (lot.Ref.Kind != LotKind.BulkTank || !animals.TryGetValue(lot.Ref.Id, out var found))
            {
                continue;
            }

            if (!found.RoutingKnown)
            {
                // Its pasture never said which tank its milk line fed: no milking could be placed in it (not zero animals).
                if (notRouted.Add(lot.Ref.Id))
                {
                    reply.BulkTankLotsRoutingNotKnown++;
                }

                continue;
            }

            lot.Animals = new Proto.LotAnimals
            {
                Animals = found.Animals,
                MilkKg = (double)found.MilkKg,
                UnderWithdrawalEarTags = { found.UnderWithdrawalEarTags },
                ColostrumIncluded = found.ColostrumIncluded,
                SampleEarTags = { found.SampleEarTags },
                Milkings = found.Milkings,
                WithdrawalMilkings = found.WithdrawalMilkings,
                ColostrumMilkings = found.ColostrumMilkings,
                WindowFrom = found.WindowFrom is { } from ? EpcisExporter.Time(from) : "",
            };
            if (found.UnderWithdrawalEarTags.Count > 0 && seen.Add(lot.Ref.Id))
            {
                reply.BulkTankLotsUnderWithdrawal++;
            }
        }
    }

    public static Proto.TankerRoad ToRoad(Trace.Tanker.TankerRoad road)
    {
        var message = new Proto.TankerRoad
        {
            PickedUpAt = road.PickedUpAt is { } from ? EpcisExporter.Time(from) : "",
            ReceivedAt = road.ReceivedAt is { } to ? EpcisExporter.Time(to) : "",
            LimitC = road.AboveC,
            Readings = road.Readings.Count,
            ReadingsOutsideRoute = road.ReadingsOutsideRoute,
            MaxMinutesAboveLimit = road.LongestAboveLimit.TotalMinutes,
            ImplausibleSteps = road.ImplausibleSteps,
        };
        if (road.RouteTime is { } route)
        {
            message.RouteMinutes = route.TotalMinutes;
        }

        if (road.DistanceKm is { } km)
        {
            message.DistanceKm = Math.Round(km, 3);
        }

        foreach (var c in road.Compartments)
        {
            message.Compartments.Add(new Proto.CompartmentRoad
            {
                Compartment = c.Compartment, Readings = c.Readings, MinC = c.MinC, MaxC = c.MaxC, LastC = c.LastC,
                LastAt = EpcisExporter.Time(c.LastAt), MinutesAboveLimit = c.AboveLimit.TotalMinutes,
            });
        }

        return message;
    }

    private static string RequireId(string id, string field) =>
        string.IsNullOrEmpty(id) ? throw new InvalidTraceRequestException($"{field} is required.")
        : id.Length > 256 ? throw new InvalidTraceRequestException($"{field} is longer than 256 characters.")
        : id;

    private static DateTimeOffset ParseTime(string text, string field) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var time) && text.Contains('T', StringComparison.Ordinal)
            ? time
            : throw new InvalidTraceRequestException($"{field} must be an RFC 3339 time with an offset, e.g. 2026-11-29T06:00:00+08:00.");

    private static string KindOf(LotKind kind) => kind switch
    {
        LotKind.BulkTank => LotKinds.BulkTank,
        LotKind.TankerLoad => LotKinds.TankerLoad,
        LotKind.Receipt => LotKinds.Receipt,
        LotKind.SiloBatch => LotKinds.SiloBatch,
        LotKind.Product => LotKinds.Product,
        _ => throw new InvalidTraceRequestException("lot kind is required."),
    };

    private static LotKind ProtoKind(string kind) => kind switch
    {
        LotKinds.BulkTank => LotKind.BulkTank,
        LotKinds.TankerLoad => LotKind.TankerLoad,
        LotKinds.Receipt => LotKind.Receipt,
        LotKinds.SiloBatch => LotKind.SiloBatch,
        LotKinds.Product => LotKind.Product,
        _ => LotKind.Unspecified,
    };

    private static void AddGraph(ChainGraph graph, Google.Protobuf.Collections.RepeatedField<Proto.Lot>? lots, Google.Protobuf.Collections.RepeatedField<Proto.TraceEdge> edges)
    {
        if (lots is not null)
        {
            foreach (var lot in graph.Lots.Values)
            {
                lots.Add(ToLot(lot, graph));
            }
        }

        foreach (var edge in graph.Edges)
        {
            if (!graph.Lots.TryGetValue(edge.Parent, out var from) || !graph.Lots.TryGetValue(edge.Child, out var to))
            {
                continue;
            }

            var message = new Proto.TraceEdge
            {
                From = new Proto.LotRef { Kind = ProtoKind(from.Kind), Id = from.LotId },
                To = new Proto.LotRef { Kind = ProtoKind(to.Kind), Id = to.LotId },
                Kg = edge.Kg,
                Time = edge.At is { } at ? EpcisExporter.Time(at) : "",
            };
            if (edge.TemperatureC is { } t)
            {
                message.TemperatureC = t;
            }

            edges.Add(message);
        }
    }

    private static Proto.Lot ToLot(LotNode lot, ChainGraph graph)
    {
        var message = new Proto.Lot
        {
            Ref = new Proto.LotRef { Kind = ProtoKind(lot.Kind), Id = lot.LotId },
            PastureId = lot.PastureId ?? "",
            PlantId = lot.PlantId ?? "",
            UnitId = lot.UnitId ?? "",
            Kg = lot.Kg ?? 0,
            Time = lot.At is { } at ? EpcisExporter.Time(at) : "",
            Product = lot.Product ?? "",
            DetailsJson = lot.Details,
            Source = lot.Source,
            RejectionReason = lot.RejectionReason ?? "",
        };
        if (lot.TemperatureC is { } t)
        {
            message.TemperatureC = t;
        }

        if (lot.Accepted is { } accepted)
        {
            message.Accepted = accepted;
        }

        foreach (var check in graph.QualityChecks)
        {
            if (check.LotKind == lot.Kind && check.LotId == lot.LotId)
            {
                message.QualityChecks.Add(ToCheck(check));
            }
        }

        return message;
    }

    private static Proto.QualityCheck ToCheck(Trace.QualityCheck check) => new()
    {
        SampleId = check.SampleId,
        SampleKind = check.SampleKind,
        Verdict = check.Verdict,
        RuleVersion = check.RuleVersion,
        SampledAt = EpcisExporter.Time(check.SampledAt),
        ItemsJson = check.ItemsJson,
    };

    private static string Ascii(string text)
    {
        var chars = text.ToCharArray();
        for (var i = 0; i < chars.Length; i++)
        {
            if (chars[i] is < ' ' or > '~')
            {
                chars[i] = '?';
            }
        }

        return new string(chars);
    }
}
