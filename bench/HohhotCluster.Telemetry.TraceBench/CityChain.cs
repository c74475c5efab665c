using System.Text.Json;
using HohhotCluster.Telemetry.Traceability;

/// <summary>
/// A year of the city's chain at the city-2023 profile's counts (firmware-sim/profiles/city-2023.json): its pastures
/// (every pasture group, the milk-source bases' ranches included) collecting twice a day into bulk tanks of at most
/// 15 t, the day's 10,000 t (the plan's processing target) shared over the pastures by head and species (a cow ~15 kg a
/// day, a goat ~1.3 kg: the profile's 6,900 t from 460,000 cows and 200 t from 150,000 goats); tankers of the
/// profile's 30 t picking up consecutive collections (so a load mixes pastures); each load weighed in at one of the
/// profile's plants in proportion to its daily capacity; receipts pumped in order into silo batches of 150 t (at least
/// one per silo a day), a receipt split over two batches where one fills; product lots of 25 t drawn in order from the
/// plant's batches (a lot at a batch change takes from both), on the plant's lines. Species are not kept apart
/// (goat milk may go to a cow-milk plant here): the graph's shape, not the product, is what is measured.
/// </summary>
internal sealed class CityChain
{
    public const double BulkTankMaxKg = 15_000;
    public const double SiloBatchKg = 150_000;
    public const double ProductLotKg = 25_000;
    private static readonly DateTimeOffset Origin = new(2023, 1, 1, 0, 0, 0, TimeSpan.FromHours(8));

    private readonly List<(string Id, double KgPerDay)> _pastures = [];
    private readonly List<(string Id, double Share, int Silos, string[] Lines)> _plants = [];

    public CityChain(string profilePath, double tonnesPerDay)
    {
        using var profile = JsonDocument.Parse(File.ReadAllText(profilePath));
        var weights = new List<(string, double)>();
        var g = 0;
        foreach (var group in profile.RootElement.GetProperty("pastureGroups").EnumerateArray())
        {
            var count = group.GetProperty("count").GetInt32();
            var perHead = group.GetProperty("species").GetString() == "goat" ? 1.3 : 15.0;
            var weight = group.GetProperty("head").GetDouble() * perHead / count;
            for (var i = 0; i < count; i++)
            {
                weights.Add(($"P{group.GetProperty("county").GetString()}-{g:00}-{i:00}", weight));
            }

            g++;
        }

        var total = weights.Sum(w => w.Item2);
        foreach (var (id, weight) in weights)
        {
            _pastures.Add((id, tonnesPerDay * 1000 * weight / total));
        }

        var plants = profile.RootElement.GetProperty("plants").EnumerateArray().ToList();
        var capacity = plants.Sum(p => p.GetProperty("dailyCapacityT").GetDouble());
        foreach (var plant in plants)
        {
            _plants.Add((plant.GetProperty("id").GetString()!, plant.GetProperty("dailyCapacityT").GetDouble() / capacity, plant.GetProperty("silos").GetInt32(),
                plant.GetProperty("products").EnumerateArray().Select(p => p.GetProperty("line").GetString()!).ToArray()));
        }

        TankerKg = profile.RootElement.GetProperty("tankerCapacityKg").GetDouble();
    }

    public double TankerKg { get; }

    public int Pastures => _pastures.Count;

    public int Plants => _plants.Count;

    public List<string> ProductIds { get; } = [];

    public List<string> BulkIds { get; } = [];

    /// <summary>One day's lots and edges (ids carry the day, so every day is new).</summary>
    public (List<LotNode> Lots, List<EdgeWrite> Edges) Day(int d)
    {
        var lots = new List<LotNode>();
        var edges = new List<EdgeWrite>();
        var day = Origin.AddDays(d);
        string Id(string kind, int n) => $"{kind}{d:000}-{n:00000}";

        // Collections at 07:30 and 19:30, each pasture's half-day in tanks of at most 15 t.
        var bulk = new List<(LotRef Ref, double Kg, DateTimeOffset At)>();
        foreach (var (collection, at) in new[] { (0, day.AddHours(7.5)), (1, day.AddHours(19.5)) })
        {
            foreach (var (pasture, kgPerDay) in _pastures)
            {
                var half = kgPerDay / 2;
                var tanks = (int)Math.Ceiling(half / BulkTankMaxKg);
                for (var t = 0; t < tanks; t++)
                {
                    var lot = new LotNode
                    {
                        Kind = LotKinds.BulkTank, LotId = Id("B", bulk.Count), PastureId = pasture, UnitId = "T" + (t + 1), Kg = Math.Round(half / tanks, 1),
                        TemperatureC = 3.6, At = at.AddMinutes(bulk.Count % 90),
                    };
                    lots.Add(lot);
                    bulk.Add((lot.Ref, lot.Kg!.Value, lot.At!.Value));
                    BulkIds.Add(lot.LotId);
                }
            }
        }

        // Tankers of 30 t picking up collections in order (a load mixes neighbouring pastures).
        var loads = new List<(LotRef Ref, double Kg, DateTimeOffset At)>();
        double inLoad = 0;
        LotRef? current = null;
        var loadAt = day;
        foreach (var (lot, kg, at) in bulk)
        {
            if (current is null || inLoad + kg > TankerKg)
            {
                if (current is { } full)
                {
                    loads.Add((full, inLoad, loadAt));
                }

                current = new LotRef(LotKinds.TankerLoad, Id("T", loads.Count));
                lots.Add(new LotNode { Kind = LotKinds.TankerLoad, LotId = current.Value.Id, UnitId = "蒙A" + (loads.Count % 900).ToString("000", System.Globalization.CultureInfo.InvariantCulture) });
                inLoad = 0;
                loadAt = at.AddHours(1);
            }

            edges.Add(new EdgeWrite(lot, current.Value, kg, at.AddMinutes(20), 3.8));
            inLoad += kg;
        }

        loads.Add((current!.Value, inLoad, loadAt));

        // Each load to a plant in proportion to its capacity (cumulative shares), weighed in two hours after pickup.
        var receiptsOf = _plants.Select(_ => new List<(LotRef Ref, double Kg, DateTimeOffset At)>()).ToArray();
        var given = new double[_plants.Count];
        for (var j = 0; j < loads.Count; j++)
        {
            var plant = 0;
            var best = double.MinValue;
            for (var p = 0; p < _plants.Count; p++)
            {
                var owed = (_plants[p].Share * (j + 1)) - given[p];
                if (owed > best)
                {
                    (best, plant) = (owed, p);
                }
            }

            given[plant]++;
            var (load, kg, at) = loads[j];
            var receipt = new LotNode
            {
                Kind = LotKinds.Receipt, LotId = load.Id, PlantId = _plants[plant].Id, Kg = kg, TemperatureC = 4.2, At = at.AddHours(2), Accepted = true,
            };
            lots.Add(receipt);
            edges.Add(new EdgeWrite(load, receipt.Ref, kg, receipt.At, 4.2));
            receiptsOf[plant].Add((receipt.Ref, kg, receipt.At!.Value));
        }

        // Per plant: receipts into silo batches of 150 t in order; product lots of 25 t from the batches in order.
        var silo = 0;
        var product = 0;
        for (var p = 0; p < _plants.Count; p++)
        {
            var (plantId, _, silos, lines) = _plants[p];
            var milk = receiptsOf[p].Sum(r => r.Kg);
            if (milk <= 0)
            {
                continue;
            }

            var batches = Math.Max(silos, (int)Math.Ceiling(milk / SiloBatchKg));
            var batchKg = milk / batches;
            var made = new List<(LotRef Ref, double Kg)>();
            LotRef? batch = null;
            double room = 0;
            foreach (var (receipt, kg, at) in receiptsOf[p])
            {
                var left = kg;
                while (left > 0.01)
                {
                    if (batch is null || room <= 0.01)
                    {
                        batch = new LotRef(LotKinds.SiloBatch, Id("S", silo++));
                        lots.Add(new LotNode { Kind = LotKinds.SiloBatch, LotId = batch.Value.Id, PlantId = plantId, UnitId = "S" + (made.Count % silos + 1), At = at.AddHours(1) });
                        made.Add((batch.Value, 0));
                        room = batchKg;
                    }

                    var pumped = Math.Min(left, room);
                    edges.Add(new EdgeWrite(receipt, batch.Value, Math.Round(pumped, 1), at.AddHours(1), null));
                    made[^1] = (made[^1].Ref, made[^1].Kg + Math.Round(pumped, 1));
                    left -= pumped;
                    room -= pumped;
                }
            }

            LotNode? lot = null;
            double need = 0;
            foreach (var (source, kg) in made)
            {
                var left = kg;
                while (left > 0.01)
                {
                    if (lot is null || need <= 0.01)
                    {
                        var line = lines[product % lines.Length];
                        lot = new LotNode
                        {
                            Kind = LotKinds.Product, LotId = Id("X", product++), PlantId = plantId, UnitId = line, Product = "UHT whole milk 250 mL",
                            Kg = ProductLotKg * 0.985, At = day.AddHours(20),
                        };
                        lots.Add(lot);
                        ProductIds.Add(lot.LotId);
                        need = ProductLotKg;
                    }

                    var used = Math.Min(left, need);
                    edges.Add(new EdgeWrite(source, lot.Ref, Math.Round(used, 1), day.AddHours(20), null));
                    left -= used;
                    need -= used;
                }
            }
        }

        return (lots, edges);
    }
}
