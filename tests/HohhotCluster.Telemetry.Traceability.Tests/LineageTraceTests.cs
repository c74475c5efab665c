using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Traceability;
using Npgsql;

namespace HohhotCluster.Telemetry.Traceability.Tests;

/// <summary>
/// Issue 17: trace back from a product lot reads the precomputed lineage (<c>trace_lineage</c>, kept current by
/// <see cref="ChainLineage"/> in every edge write's transaction). These tests hold its answers to the recursive walk and
/// to the stepwise path on generated chains written in a shuffled order (so edges come after the product lots they
/// feed), with loads that mix pastures, after a late pickup, after an EPCIS error declaration, and hold the lineage's kg
/// to trace forward's source kg and to a set-wise rebuild.
/// </summary>
public sealed class LineageTraceTests(ChainDatabase db) : IClassFixture<ChainDatabase>
{
    private static readonly CallerScope Regulator = CallerScope.CityRegulator;
    private static readonly DateTimeOffset Day = new(2026, 4, 2, 6, 0, 0, TimeSpan.FromHours(8));

    private static string Prefix() => "l" + Guid.NewGuid().ToString("N")[..8];

    /// <summary>
    /// A random chain: bulk-tank lots of several pastures, tanker loads of 2-4 of them from any pasture, each load's
    /// receipt pumped into 1-2 silo batches, product lots from 1-2 silo batches. One write per edge, in shuffled order.
    /// </summary>
    private sealed class GeneratedChain
    {
        public List<string> Products { get; } = [];
        public List<string> BulkLots { get; } = [];
        public List<ChainWrite> Writes { get; } = [];
        public string Plant { get; }

        public GeneratedChain(string p, int seed)
        {
            var random = new Random(seed);
            Plant = p + "-PL";
            var loads = new List<string>();
            for (var i = 0; i < 30; i++)
            {
                BulkLots.Add($"{p}-B{i:00}");
            }

            var bulk = BulkLots.OrderBy(_ => random.Next()).ToList();
            for (var j = 0; bulk.Count > 0; j++)
            {
                var load = $"{p}-T{j:00}";
                loads.Add(load);
                var take = Math.Min(bulk.Count, random.Next(2, 5));
                double loadKg = 0;
                foreach (var lot in bulk.Take(take))
                {
                    var kg = 2_000 + random.Next(8_000);
                    loadKg += kg;
                    Writes.Add(Edge(
                        new LotNode { Kind = LotKinds.BulkTank, LotId = lot, PastureId = $"{p}-PA{random.Next(5)}", Kg = kg, At = Day, UnitId = "T1" },
                        new LotNode { Kind = LotKinds.TankerLoad, LotId = load, UnitId = "蒙A" + j }, kg));
                }

                bulk.RemoveRange(0, take);
                Writes.Add(Edge(new LotNode { Kind = LotKinds.TankerLoad, LotId = load },
                    new LotNode { Kind = LotKinds.Receipt, LotId = load, PlantId = Plant, Kg = loadKg, At = Day.AddHours(3), Accepted = true, TemperatureC = 4.1 }, loadKg));
                var silo = random.Next(4);
                if (random.Next(3) == 0)
                {
                    var part = Math.Round(loadKg * 0.4);
                    Writes.Add(Edge(new LotNode { Kind = LotKinds.Receipt, LotId = load }, Silo(p, silo), part));
                    Writes.Add(Edge(new LotNode { Kind = LotKinds.Receipt, LotId = load }, Silo(p, (silo + 1) % 4), loadKg - part));
                }
                else
                {
                    Writes.Add(Edge(new LotNode { Kind = LotKinds.Receipt, LotId = load }, Silo(p, silo), loadKg));
                }
            }

            for (var x = 0; x < 8; x++)
            {
                var product = $"{p}-X{x}";
                Products.Add(product);
                var node = new LotNode { Kind = LotKinds.Product, LotId = product, PlantId = Plant, UnitId = "L1", Product = "UHT", Kg = 5_000, At = Day.AddHours(8) };
                var first = random.Next(4);
                Writes.Add(Edge(Silo(p, first), node, 2_000 + random.Next(3_000)));
                if (x % 2 == 0)
                {
                    Writes.Add(Edge(Silo(p, (first + 2) % 4), node, 1_000 + random.Next(2_000)));
                }
            }

            var shuffled = Writes.OrderBy(_ => random.Next()).ToList();
            Writes.Clear();
            Writes.AddRange(shuffled);
        }

        private LotNode Silo(string p, int k) => new() { Kind = LotKinds.SiloBatch, LotId = $"{p}-S{k}", PlantId = Plant, UnitId = "S" + k, At = Day.AddHours(4) };

        private static ChainWrite Edge(LotNode parent, LotNode child, double kg)
        {
            var write = new ChainWrite();
            write.Lots.Add(parent);
            write.Lots.Add(child);
            write.Edges.Add(new EdgeWrite(parent.Ref, child.Ref, kg, parent.At ?? child.At, 4.0));
            return write;
        }
    }

    private async Task AssertEveryPathAgreesAsync(IEnumerable<string> products)
    {
        foreach (var product in products)
        {
            var lot = new LotRef(LotKinds.Product, product);
            var lineage = await OneStatementTraceTests.Answer(() => db.Queries.TraceBackAsync(Regulator, lot, default), r => OneStatementTraceTests.Describe(r.Root, r.Graph));
            Assert.Equal(await OneStatementTraceTests.Answer(() => db.Queries.RecursiveTraceBackAsync(Regulator, lot, default), r => OneStatementTraceTests.Describe(r.Root, r.Graph)), lineage);
            Assert.Equal(await OneStatementTraceTests.Answer(() => db.Queries.StepwiseTraceBackAsync(Regulator, lot, default), r => OneStatementTraceTests.Describe(r.Root, r.Graph)), lineage);
        }
    }

    private async Task<Dictionary<(string Product, string Ancestor), (int Depth, double Kg)>> LineageOfAsync(string prefix)
    {
        await using var command = db.DataSource.CreateCommand(
            """
            select p.lot_id, a.kind || ':' || a.lot_id, l.depth, l.kg from trace_lineage l join trace_lot p on p.id = l.product join trace_lot a on a.id = l.ancestor
            where p.lot_id like $1 || '%'
            """);
        command.Parameters.AddWithValue(prefix);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new Dictionary<(string, string), (int, double)>();
        while (await reader.ReadAsync())
        {
            rows[(reader.GetString(0), reader.GetString(1))] = (reader.GetInt16(2), reader.GetDouble(3));
        }

        return rows;
    }

    [Fact]
    public async Task Generated_chains_written_in_shuffled_order_trace_back_by_lineage_as_by_the_recursive_walk_and_the_stepwise_path()
    {
        for (var seed = 1; seed <= 3; seed++)
        {
            var p = Prefix();
            var chain = new GeneratedChain(p, seed);
            foreach (var write in chain.Writes)
            {
                await db.Store.ApplyAsync([write], default);
            }

            var quality = DateTimeOffset.UtcNow;
            await db.AddQualityResultAsync("bulk_tank_lot", chain.BulkLots[3], p + "-Q1", "fail", """[{"item": "antibiotic", "value": "positive"}]""", quality);
            await db.AddQualityResultAsync(LotKinds.TankerLoad, p + "-T01", p + "-Q2", "pass", "[]", quality.AddMinutes(1), "plant_acceptance");
            await db.AddQualityResultAsync("product_lot", chain.Products[0], p + "-Q3", "pass", "[]", quality.AddMinutes(2));
            await AssertEveryPathAgreesAsync(chain.Products);

            // Some loads mix pastures, and every product lot reaches bulk-tank lots through its lineage.
            var back = await db.Queries.TraceBackAsync(Regulator, new LotRef(LotKinds.Product, chain.Products[0]), default);
            Assert.True(back.Graph.Lots.Values.Count(l => l.Kind == LotKinds.BulkTank) > 0);
            var lineage = await LineageOfAsync(p);
            Assert.All(chain.Products, x => Assert.Contains(lineage.Keys, k => k.Product == x));
            Assert.Contains(lineage.Keys, k => k.Ancestor.StartsWith("bulk_tank:", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task The_lineage_kg_of_each_bulk_tank_lot_in_a_product_lot_is_trace_forwards_source_kg_and_a_rebuild_writes_the_same_rows()
    {
        var p = Prefix();
        var chain = new GeneratedChain(p, 11);
        foreach (var write in chain.Writes)
        {
            await db.Store.ApplyAsync([write], default);
        }

        var lineage = await LineageOfAsync(p);
        var compared = 0;
        foreach (var bulk in chain.BulkLots)
        {
            var forward = await db.Queries.TraceForwardAsync(Regulator, new LotRef(LotKinds.BulkTank, bulk), default);
            foreach (var reached in forward.Reached.Where(r => r.Lot.Kind == LotKinds.Product))
            {
                Assert.True(lineage.TryGetValue((reached.Lot.LotId, "bulk_tank:" + bulk), out var row), $"{bulk} -> {reached.Lot.LotId} is not in the lineage");
                Assert.Equal(reached.SourceKg, row.Kg, 6);
                Assert.Equal(4, row.Depth);
                compared++;
            }
        }

        Assert.Equal(lineage.Keys.Count(k => k.Ancestor.StartsWith("bulk_tank:", StringComparison.Ordinal)), compared);
        await using (var connection = await db.DataSource.OpenConnectionAsync())
        {
            await ChainLineage.RebuildAllAsync(connection, 3, default);
        }

        Assert.Equal(lineage.OrderBy(r => r.Key).Select(r => $"{r.Key} {r.Value.Depth} {r.Value.Kg:0.######}"),
            (await LineageOfAsync(p)).OrderBy(r => r.Key).Select(r => $"{r.Key} {r.Value.Depth} {r.Value.Kg:0.######}"));
    }

    [Fact]
    public async Task A_pickup_written_after_the_product_lot_was_made_joins_its_lineage_with_its_kg_share()
    {
        var c = new HandBuiltChain(Prefix());
        await c.BuildAsync(db);
        var x1 = new LotRef(LotKinds.Product, c.X1);
        var before = await db.Queries.TraceBackAsync(Regulator, x1, default);

        // A late collection picked up into T1, which was weighed in, blended into S1 and bottled as X1 hours ago.
        var late = c.B1 + "-LATE";
        await db.CollectAsync(c.PastureB, late, 6_000, HandBuiltChain.Day.AddMinutes(50));
        await db.PublishAsync(new TankerPickupKind(db.Store), ChainDatabase.Device(c.PastureB, "pasture"), HandBuiltChain.Day.AddHours(9),
            HandBuiltChain.Pickup(late, c.T1, 6_000));
        var after = await db.Queries.TraceBackAsync(Regulator, x1, default);

        Assert.DoesNotContain(before.Graph.Lots.Values, l => l.LotId == late);
        Assert.Contains(after.Graph.Lots.Values, l => l.LotId == late && l.PastureId == c.PastureB);
        Assert.Single(after.Graph.Edges, e => after.Graph.Lots[e.Parent].LotId == late);
        await AssertEveryPathAgreesAsync([c.X1, c.X2]);
        // T1 now holds 24,000 kg (B1 10,000, B2 8,000, late 6,000) and went all into S1 (18,000 of 24,000 kg: its
        // receipt still says 18,000): X1 took 12,000 of S1's 24,000, so 12,000 x 18/24 of T1's receipt, a quarter of it late milk.
        var lineage = await LineageOfAsync(c.X1[..^3]);
        Assert.Equal(12_000.0 * 18_000 / 24_000 * 6_000 / 24_000, lineage[(c.X1, "bulk_tank:" + late)].Kg, 6);
    }

    [Fact]
    public async Task An_epcis_error_declaration_takes_the_retracted_loading_out_of_the_product_lots_lineage()
    {
        var p = Prefix();
        var plant = p + "-PL";
        var dairy = CallerScope.ProcessorOf(p + "-org", plant);
        var load = "urn:epcglobal:cbv:bt:6901234000004:" + p;
        var wrong = "urn:uuid:" + Guid.NewGuid();
        var wrongLot = $"urn:epc:class:lgtin:6901234.000001.{p}W";
        var goodLot = $"urn:epc:class:lgtin:6901234.000001.{p}G";
        await db.Importer.ImportAsync(dairy, Document(
            PartnerLoading(wrong, wrongLot, 300, load), PartnerLoading("urn:uuid:" + Guid.NewGuid(), goodLot, 500, load)), default);
        // The partner's load weighed in, blended and bottled at the plant, by the plant's own telemetry.
        await db.IntakeAsync(plant, load, 800, Day.AddHours(2));
        var device = ChainDatabase.Device(plant, "plant");
        await db.PublishAsync(new SiloTransferKind(db.Store), device, Day.AddHours(3), HandBuiltChain.Transfer(p + "-S1", (load, 800)));
        await db.PublishAsync(new ProductionKind(db.Store), device, Day.AddHours(5), HandBuiltChain.Production(p + "-X1", 790, (p + "-S1", 800)));
        var before = await LineageOfAsync(p + "-X1");

        var declaration = Document(PartnerLoading(wrong, wrongLot, 300, load,
            """
            "errorDeclaration": {"declarationTime": "2026-04-02T13:00:00.000+08:00", "reason": "incorrect_data"}
            """));
        Assert.Equal(1, (await db.Importer.ImportAsync(dairy, declaration, default)).Retracted);
        var after = await LineageOfAsync(p + "-X1");

        Assert.Contains((p + "-X1", "bulk_tank:" + wrongLot), before.Keys);
        Assert.DoesNotContain((p + "-X1", "bulk_tank:" + wrongLot), after.Keys);
        Assert.Contains((p + "-X1", "bulk_tank:" + goodLot), after.Keys);
        await AssertEveryPathAgreesAsync([p + "-X1"]);
        var back = await db.Queries.TraceBackAsync(Regulator, new LotRef(LotKinds.Product, p + "-X1"), default);
        Assert.DoesNotContain(back.Graph.Lots.Values, l => l.LotId == wrongLot);
    }

    [Fact]
    public async Task Trace_back_carries_the_animals_of_each_bulk_tank_lot_from_a_registered_source_and_none_when_none_is_registered()
    {
        var c = new HandBuiltChain(Prefix());
        await c.BuildAsync(db);
        var x2 = new LotRef(LotKinds.Product, c.X2);
        await using (var create = db.DataSource.CreateCommand(
            """
            create table if not exists test_lot_animals (bulk_tank_lot_id text primary key, animals int not null, milk_kg numeric not null,
                under_withdrawal text[] not null, colostrum boolean not null, samples text[] not null)
            """))
        {
            await create.ExecuteNonQueryAsync();
        }

        await using (var command = db.DataSource.CreateCommand(
            """
            insert into test_lot_animals values ($1, 310, 10000, '{}', false, '{150121000000001}'), ($2, 402, 12000, '{150121000000777}', false, '{150121000000777}');
            """))
        {
            command.Parameters.AddWithValue(c.B1);
            command.Parameters.AddWithValue(c.B3);
            await command.ExecuteNonQueryAsync();
        }

        var withSource = new ChainQueries(db.DataSource, db.Options, new TableLotAnimalSource(db.DataSource));
        var known = await withSource.TraceBackAsync(Regulator, x2, default);
        var unknown = await db.Queries.TraceBackAsync(Regulator, x2, default);

        Assert.Null(unknown.Animals);
        Assert.NotNull(known.Animals);
        Assert.Equal([c.B1, c.B3], known.Animals.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(["150121000000777"], known.Animals[c.B3].UnderWithdrawalEarTags);
        Assert.Equal(310, known.Animals[c.B1].Animals);
        Assert.False(known.Animals.ContainsKey(c.B2));
        Assert.Equal(OneStatementTraceTests.Describe(unknown.Root, unknown.Graph), OneStatementTraceTests.Describe(known.Root, known.Graph));
    }

    /// <summary>A table-backed source of the shape the animals component's will have (one indexed read by the lot ids).</summary>
    private sealed class TableLotAnimalSource(NpgsqlDataSource dataSource) : ILotAnimalSource
    {
        public async Task<IReadOnlyDictionary<string, LotAnimals>> ReadAsync(IReadOnlyCollection<string> bulkTankLotIds, CancellationToken cancellationToken)
        {
            await using var command = dataSource.CreateCommand(
                "select bulk_tank_lot_id, animals, milk_kg, under_withdrawal, colostrum, samples from test_lot_animals where bulk_tank_lot_id = any($1)");
            command.Parameters.AddWithValue(bulkTankLotIds.ToArray());
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var found = new Dictionary<string, LotAnimals>(StringComparer.Ordinal);
            while (await reader.ReadAsync(cancellationToken))
            {
                found[reader.GetString(0)] = new LotAnimals(reader.GetString(0), reader.GetInt32(1), reader.GetDecimal(2),
                    reader.GetFieldValue<string[]>(3), reader.GetBoolean(4), reader.GetFieldValue<string[]>(5));
            }

            return found;
        }
    }

    private static string PartnerLoading(string id, string bulkLot, double kg, string load, string? errorDeclaration = null) => $$"""
        { "type": "ObjectEvent", "eventID": "{{id}}", "action": "OBSERVE", "bizStep": "loading",
          "eventTime": "2026-04-02T05:00:00.000+08:00", "eventTimeZoneOffset": "+08:00",
          "readPoint": {"id": "urn:epc:id:sgln:6901234.00001.0"},
          "quantityList": [{"epcClass": "{{bulkLot}}", "quantity": {{kg}}, "uom": "KGM"}],
          "bizTransactionList": [{"type": "bol", "bizTransaction": "{{load}}"}]{{(errorDeclaration is null ? "" : ", " + errorDeclaration)}} }
        """;

    private static string Document(params string[] events) => $$"""
        { "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "EPCISDocument",
          "schemaVersion": "2.0", "creationDate": "2026-04-02T12:00:00.000+08:00",
          "epcisBody": { "eventList": [{{string.Join(",", events)}}] } }
        """;
}
