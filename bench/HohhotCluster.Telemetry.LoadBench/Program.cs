using HohhotCluster.Telemetry.LoadBench;

// hohhot-loadbench run --work DIR --data-dir DIR --sim DLL --host DLL --city-file F --city-registry F ... (see bench/run.sh)
// hohhot-loadbench cluster --work DIR --repo DIR --port-base N ... (1 and 3 hosts by deploy/cluster.sh; see bench/run.sh --cluster)
// hohhot-loadbench raw-endpoint --port N --credentials F   (the raw MQTTnet endpoint; the run starts it itself)
var options = BenchOptions.Parse(args);
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

return options.Command switch
{
    "run" => await new BenchRun(options).RunAsync(cancel.Token),
    "cluster" => await new ClusterBenchRun(options).RunAsync(cancel.Token),
    "raw-endpoint" => await RawEndpointServer.RunAsync(options, cancel.Token),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: hohhot-loadbench run [options]   (bench/run.sh passes them; see BENCHMARKS.md)");
    return 64;
}
