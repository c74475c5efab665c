using System.Diagnostics;
using System.Globalization;
using HohhotCluster.Telemetry.Storage;
using HohhotCluster.Telemetry.Traceability;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Npgsql;
using NpgsqlTypes;

// Usage: hohhot-tracebench [--scale 1.0] [--days 365] [--queries 4000] [--callers 16] [--rounds 1] [--verify 100]
//   [--reuse] [--no-prepare] [--no-quality] [--new-only | --old-only]
// Needs HOHHOT_PG_CONNECTION; creates (or with --reuse keeps) a database named tracebench_<scale>.
var scale = Arg("--scale", 1.0);
var days = (int)Arg("--days", 365);
var queries = (int)Arg("--queries", 4000);
var callers = (int)Arg("--callers", 16);
var reuse = args.Contains("--reuse");
var shape = new ChainShape(scale);
var admin = new NpgsqlConnectionStringBuilder(Environment.GetEnvironmentVariable("HOHHOT_PG_CONNECTION")
    ?? throw new InvalidOperationException("HOHHOT_PG_CONNECTION is not set (deploy/servers.sh env prints it)."));
var database = "tracebench_" + scale.ToString("0.###", CultureInfo.InvariantCulture).Replace('.', '_');

await using (var connection = new NpgsqlConnection(admin.ConnectionString))
{
    await connection.OpenAsync();
    var exists = (long)(await new NpgsqlCommand($"select count(*) from pg_database where datname = '{database}'", connection).ExecuteScalarAsync())! > 0;
    if (exists && !reuse)
    {
        await new NpgsqlCommand($"drop database \"{database}\" with (force)", connection).ExecuteNonQueryAsync();
    }

    if (!exists || !reuse)
    {
        await new NpgsqlCommand($"create database \"{database}\"", connection).ExecuteNonQueryAsync();
        reuse = false;
    }
}

admin.Database = database;
admin.MaxPoolSize = callers + 4;
// As the host should run it: statements prepared once per connection, not planned per call.
admin.MaxAutoPrepare = args.Contains("--no-prepare") ? 0 : 32;
await using var dataSource = NpgsqlDataSource.Create(admin.ConnectionString);
if (!reuse)
{
    await new SchemaMigrator(dataSource, [new MigrationSource(typeof(SchemaMigrator).Assembly), new MigrationSource(typeof(ChainStore).Assembly)],
        NullLogger<SchemaMigrator>.Instance).MigrateAsync();
    var load = Stopwatch.StartNew();
    await LoadAsync(dataSource, shape, days);
    Console.WriteLine($"loaded in {load.Elapsed.TotalSeconds:0} s (COPY, then ANALYZE)");
}

if (args.Contains("--no-quality"))
{
    // As before the audits component: no quality_result table (each trace checks for it and reads no checks).
    await using var drop = dataSource.CreateCommand("drop table if exists quality_result");
    await drop.ExecuteNonQueryAsync();
}
else
{
    await EnsureQualityResultsAsync(dataSource);
}

await using (var command = dataSource.CreateCommand(
    "select (select count(*) from trace_lot), (select count(*) from trace_edge), pg_size_pretty(pg_database_size(current_database()))"))
await using (var reader = await command.ExecuteReaderAsync())
{
    await reader.ReadAsync();
    Console.WriteLine($"scale {scale}: {reader.GetInt64(0):N0} lots, {reader.GetInt64(1):N0} edges, database {reader.GetString(2)}");
}

var trace = new ChainQueries(dataSource, Options.Create(new TraceabilityOptions()));
var regulator = CallerScope.CityRegulator;
var rows = 0L;
LotRef RandomProduct(Random random) => new(LotKinds.Product, shape.ProductId(random.Next(days), random.Next(shape.ProductsPerDay)));
LotRef RandomBulk(Random random) => new(LotKinds.BulkTank, shape.BulkId(random.Next(days), random.Next(shape.BulkPerDay)));

// Both paths must give the same answers before their times mean anything.
var verify = (int)Arg("--verify", 100);
for (var i = 0; i < verify; i++)
{
    var random = new Random(77 + i);
    var product = RandomProduct(random);
    var bulk = RandomBulk(random);
    var back1 = await trace.TraceBackAsync(regulator, product, default);
    var back0 = await trace.StepwiseTraceBackAsync(regulator, product, default);
    var forward1 = await trace.TraceForwardAsync(regulator, bulk, default);
    var forward0 = await trace.StepwiseTraceForwardAsync(regulator, bulk, default);
    if (Describe(back0.Graph) != Describe(back1.Graph) || Describe(forward0.Graph) != Describe(forward1.Graph)
        || string.Join(";", forward0.Reached.Select(r => FormattableString.Invariant($"{r.Lot.Key}:{r.SourceKg:0.######}:{r.Share:0.########}")))
           != string.Join(";", forward1.Reached.Select(r => FormattableString.Invariant($"{r.Lot.Key}:{r.SourceKg:0.######}:{r.Share:0.########}"))))
    {
        throw new InvalidOperationException($"The one-statement and stepwise answers differ for {product} or {bulk}.");
    }
}

Console.WriteLine($"verified: {verify} trace backs and {verify} trace forwards answer the same on both paths");

// Old (stepwise: 4-5 statements) and new (one statement) paths in the same session, each round with its own baseline,
// so a change in the machine's load shows as a change of the baseline too.
var paths = args.Contains("--new-only") ? new[] { true } : args.Contains("--old-only") ? [false] : [false, true];
var rounds = (int)Arg("--rounds", 1);
for (var round = 1; round <= rounds; round++)
{
    Console.WriteLine($"round {round} of {rounds}, load average {File.ReadAllText("/proc/loadavg").Trim()}");
    var baseline = await MeasureAsync("primary-key lookup", async random =>
    {
        await using var connection = await dataSource.OpenConnectionAsync();
        var lot = await ChainQueries.FindLotAsync(connection, RandomProduct(random), default);
        Interlocked.Add(ref rows, lot is null ? 0 : 1);
    });
    foreach (var oneStatement in paths)
    {
        var path = oneStatement ? "one statement" : "stepwise";
        var back = await MeasureAsync($"trace back ({path})", async random =>
        {
            var result = oneStatement
                ? await trace.TraceBackAsync(regulator, RandomProduct(random), default)
                : await trace.StepwiseTraceBackAsync(regulator, RandomProduct(random), default);
            Interlocked.Add(ref rows, result.Graph.Edges.Count);
        });
        var forward = await MeasureAsync($"trace forward ({path})", async random =>
        {
            var result = oneStatement
                ? await trace.TraceForwardAsync(regulator, RandomBulk(random), default)
                : await trace.StepwiseTraceForwardAsync(regulator, RandomBulk(random), default);
            Interlocked.Add(ref rows, result.Graph.Edges.Count);
        });
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {path}: p99 / pk-lookup p99: trace back {back.P99 / baseline.P99:0.0}x, trace forward {forward.P99 / baseline.P99:0.0}x; p50 / pk-lookup p50: {back.P50 / baseline.P50:0.0}x, {forward.P50 / baseline.P50:0.0}x"));
    }
}

Console.WriteLine($"load average {File.ReadAllText("/proc/loadavg").Trim()}");

static string Describe(ChainGraph graph) =>
    string.Join("\n", graph.Lots.OrderBy(l => l.Key).Select(l => l.Value.ToString()))
    + string.Join("\n", graph.Edges.OrderBy(e => e.Parent).ThenBy(e => e.Child).Select(e => e.ToString()))
    + string.Join("\n", graph.QualityChecks.Select(q => q.ToString()).Order(StringComparer.Ordinal));

async Task<(double P50, double P99)> MeasureAsync(string name, Func<Random, Task> call)
{
    rows = 0;
    // Warm-up with the same concurrency, so the pool's connections are open before anything is timed.
    await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
    {
        for (var i = 0; i < 20; i++)
        {
            await call(new Random(-1 - (c * 100) - i));
        }
    })));

    rows = 0;
    var latencies = new double[queries];
    var next = -1;
    var clock = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, callers).Select(c => Task.Run(async () =>
    {
        var random = new Random(1000 + c);
        for (int i; (i = Interlocked.Increment(ref next)) < queries;)
        {
            var start = Stopwatch.GetTimestamp();
            await call(random);
            latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
    })));
    Array.Sort(latencies);
    var p50 = latencies[queries / 2];
    var p99 = latencies[(int)(queries * 0.99)];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"{name,-32} {callers} callers, {queries} calls: p50 {p50:0.00} ms, p99 {p99:0.00} ms, max {latencies[^1]:0.00} ms, {queries / clock.Elapsed.TotalSeconds:0} calls/s, {rows / (double)queries:0.0} edges per answer"));
    return (p50, p99);
}

// Quality checks as the audits component (issue 5, migration 0200) stores them, so the traces' quality lookup reads a
// real table: a plant acceptance test of every tanker load and a check of every tenth bulk-tank and product lot.
static async Task EnsureQualityResultsAsync(NpgsqlDataSource dataSource)
{
    await using var connection = await dataSource.OpenConnectionAsync();
    await using (var exists = new NpgsqlCommand("select to_regclass('quality_result') is not null", connection))
    {
        if ((bool)(await exists.ExecuteScalarAsync())!)
        {
            return;
        }
    }

    var clock = Stopwatch.StartNew();
    await using var command = new NpgsqlCommand(
        """
        create table quality_result (
            sample_id text primary key, lot_kind text not null, lot_id text not null, sample_kind text not null,
            sampled_at timestamptz not null, verdict text not null, rule_version text not null, items jsonb not null);
        insert into quality_result
        select 'Q-' || kind || '-' || lot_id,
               case kind when 'bulk_tank' then 'bulk_tank_lot' when 'product' then 'product_lot' else kind end, lot_id,
               case kind when 'bulk_tank' then 'pasture_self_check' when 'product' then 'supervisory' else 'plant_acceptance' end,
               at + interval '1 hour', 'pass', 'GB19301-2010+A1',
               '[{"item": "fat", "unit": "g/100g", "value": 3.6, "verdict": "pass"}, {"item": "freezing_point", "unit": "°C", "value": -0.52, "verdict": "pass"}]'::jsonb
        from trace_lot where kind = 'tanker_load' or (kind in ('bulk_tank', 'product') and id % 10 = 0);
        create index quality_result_lot on quality_result (lot_kind, lot_id);
        analyze quality_result;
        """, connection);
    command.CommandTimeout = 0;
    await command.ExecuteNonQueryAsync();
    Console.WriteLine($"quality_result filled in {clock.Elapsed.TotalSeconds:0} s");
}

static async Task LoadAsync(NpgsqlDataSource dataSource, ChainShape shape, int days)
{
    await using var connection = await dataSource.OpenConnectionAsync();
    var origin = new DateTimeOffset(2023, 1, 1, 0, 0, 0, TimeSpan.FromHours(8));
    // Identity values are handed out in COPY order on a fresh table, so lot d/offset has key base(d) + offset.
    await using (var lots = await connection.BeginBinaryImportAsync(
        "copy trace_lot (kind, lot_id, pasture_id, plant_id, unit_id, kg, temperature_c, at, accepted, product) from stdin (format binary)"))
    {
        for (var d = 0; d < days; d++)
        {
            var day = origin.AddDays(d).ToUniversalTime();
            for (var i = 0; i < shape.BulkPerDay; i++)
            {
                await Row(lots, LotKinds.BulkTank, shape.BulkId(d, i), "P" + (i % 1000), null, "T1", shape.BulkKg, 3.5, day.AddMinutes(i % 720), null, null);
            }

            for (var j = 0; j < shape.LoadsPerDay; j++)
            {
                await Row(lots, LotKinds.TankerLoad, shape.LoadId(d, j), null, null, "蒙A" + j, shape.LoadKg, null, day.AddHours(13), null, null);
            }

            for (var j = 0; j < shape.LoadsPerDay; j++)
            {
                await Row(lots, LotKinds.Receipt, shape.LoadId(d, j), null, shape.Plant(j), null, shape.LoadKg, 4.2, day.AddHours(15), true, null);
            }

            for (var k = 0; k < shape.SilosPerDay; k++)
            {
                await Row(lots, LotKinds.SiloBatch, shape.SiloId(d, k), null, shape.Plant(k), "S" + (k / ChainShape.Plants), null, null, day.AddHours(16), null, null);
            }

            for (var x = 0; x < shape.ProductsPerDay; x++)
            {
                await Row(lots, LotKinds.Product, shape.ProductId(d, x), null, shape.Plant(x), "L" + (x % 7), shape.ProductKg, null, day.AddHours(20), null, "UHT milk");
            }
        }

        await lots.CompleteAsync();
    }

    await using (var edges = await connection.BeginBinaryImportAsync("copy trace_edge (parent, child, kg, at, temperature_c) from stdin (format binary)"))
    {
        for (var d = 0; d < days; d++)
        {
            var day = origin.AddDays(d).ToUniversalTime();
            var b = shape.Base(d);
            for (var i = 0; i < shape.BulkPerDay; i++)
            {
                await Edge(edges, b + i, b + shape.BulkPerDay + (i / ChainShape.BulkPerLoad), shape.BulkKg, day.AddHours(12), 3.8);
            }

            var receipts = b + shape.BulkPerDay + shape.LoadsPerDay;
            var silos = receipts + shape.LoadsPerDay;
            var products = silos + shape.SilosPerDay;
            for (var j = 0; j < shape.LoadsPerDay; j++)
            {
                await Edge(edges, b + shape.BulkPerDay + j, receipts + j, shape.LoadKg, day.AddHours(15), 4.2);
                foreach (var k in shape.SilosOfReceipt(j))
                {
                    await Edge(edges, receipts + j, silos + k, shape.LoadKg / ChainShape.SilosPerReceipt, day.AddHours(16), null);
                }
            }

            for (var x = 0; x < shape.ProductsPerDay; x++)
            {
                foreach (var k in shape.SilosOfProduct(x))
                {
                    await Edge(edges, silos + k, products + x, shape.ProductKg / ChainShape.SilosPerProduct, day.AddHours(20), null);
                }
            }
        }

        await edges.CompleteAsync();
    }

    await new NpgsqlCommand("analyze trace_lot; analyze trace_edge", connection).ExecuteNonQueryAsync();

    static async Task Row(NpgsqlBinaryImporter w, string kind, string id, string? pasture, string? plant, string? unit, double? kg, double? temperature, DateTimeOffset at, bool? accepted, string? product)
    {
        await w.StartRowAsync();
        await w.WriteAsync(kind, NpgsqlDbType.Text);
        await w.WriteAsync(id, NpgsqlDbType.Text);
        await WriteOrNull(w, pasture, NpgsqlDbType.Text);
        await WriteOrNull(w, plant, NpgsqlDbType.Text);
        await WriteOrNull(w, unit, NpgsqlDbType.Text);
        await WriteOrNull(w, kg, NpgsqlDbType.Double);
        await WriteOrNull(w, temperature, NpgsqlDbType.Double);
        await w.WriteAsync(at, NpgsqlDbType.TimestampTz);
        await WriteOrNull(w, accepted, NpgsqlDbType.Boolean);
        await WriteOrNull(w, product, NpgsqlDbType.Text);
    }

    static async Task Edge(NpgsqlBinaryImporter w, long parent, long child, double kg, DateTimeOffset at, double? temperature)
    {
        await w.StartRowAsync();
        await w.WriteAsync(parent, NpgsqlDbType.Bigint);
        await w.WriteAsync(child, NpgsqlDbType.Bigint);
        await w.WriteAsync(kg, NpgsqlDbType.Double);
        await w.WriteAsync(at, NpgsqlDbType.TimestampTz);
        await WriteOrNull(w, temperature, NpgsqlDbType.Double);
    }

    static Task WriteOrNull<T>(NpgsqlBinaryImporter w, T? value, NpgsqlDbType type) =>
        value is null ? w.WriteNullAsync() : w.WriteAsync(value, type);
}

double Arg(string name, double fallback)
{
    var at = Array.IndexOf(args, name);
    return at >= 0 && at + 1 < args.Length ? double.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
}

/// <summary>
/// One day of city-2023-like chain at scale 1: 8,000 bulk-tank lots of 1.25 t (about 4,000 collection points
/// collecting twice a day, 10,000 t/day), tankers of 20 pickups (400 loads of 25 t), each load weighed in at one of ten
/// plants and pumped into three silo batches of its plant (300 batches), 8,000 product lots each made from three silo
/// batches of its plant. A year: about 6.2 million lots and 12.3 million edges.
/// </summary>
internal sealed class ChainShape(double scale)
{
    public const int Plants = 10;
    public const int BulkPerLoad = 20;
    public const int SilosPerReceipt = 3;
    public const int SilosPerProduct = 3;

    public int LoadsPerDay { get; } = Math.Max(Plants, (int)(400 * scale) / Plants * Plants);
    public int BulkPerDay => LoadsPerDay * BulkPerLoad;
    public int SilosPerDay { get; } = Math.Max(Plants * 3, (int)(300 * scale) / Plants * Plants);
    public int ProductsPerDay { get; } = Math.Max(Plants, (int)(8000 * scale) / Plants * Plants);
    public double BulkKg => 1_250;
    public double LoadKg => BulkKg * BulkPerLoad;
    public double ProductKg => LoadKg * LoadsPerDay / ProductsPerDay;
    public int PerDay => BulkPerDay + (2 * LoadsPerDay) + SilosPerDay + ProductsPerDay;

    public long Base(int day) => ((long)day * PerDay) + 1;

    public string BulkId(int day, int i) => $"B{day:000}-{i:00000}";

    public string LoadId(int day, int j) => $"T{day:000}-{j:0000}";

    public string SiloId(int day, int k) => $"S{day:000}-{k:0000}";

    public string ProductId(int day, int x) => $"X{day:000}-{x:00000}";

    public string Plant(int index) => "PL" + (index % Plants);

    /// <summary>Silo batches of the receipt's own plant (index % Plants), spread over the day's batches.</summary>
    public IEnumerable<int> SilosOfReceipt(int j)
    {
        var perPlant = SilosPerDay / Plants;
        for (var s = 0; s < SilosPerReceipt; s++)
        {
            yield return (j % Plants) + (Plants * (((j / Plants * SilosPerReceipt) + s) % perPlant));
        }
    }

    public IEnumerable<int> SilosOfProduct(int x)
    {
        var perPlant = SilosPerDay / Plants;
        for (var s = 0; s < SilosPerProduct; s++)
        {
            // Steps of 7 batches (as at scale 1), or 1 where 7 or 14 is a multiple of the plant's batches (scale 0.25:
            // 7 batches a plant), so a product's three batches stay distinct.
            var step = 14 % perPlant == 0 ? 1 : 7;
            yield return (x % Plants) + (Plants * (((x / Plants) + (s * step)) % perPlant));
        }
    }
}
