using HohhotCluster.Telemetry.LoadBench;

// hohhot-loadbench run --work DIR --data-dir DIR --sim DLL --host DLL --city-file F --city-registry F ... (see bench/run.sh)
var options = BenchOptions.Parse(args);
if (options.Command != "run")
{
    Console.Error.WriteLine("usage: hohhot-loadbench run [options]   (bench/run.sh passes them; see BENCHMARKS.md)");
    return 64;
}

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

return await new BenchRun(options).RunAsync(cancel.Token);
