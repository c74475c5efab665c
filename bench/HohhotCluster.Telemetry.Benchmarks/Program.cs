using BenchmarkDotNet.Running;

// dotnet hohhot-benchmarks.dll --filter '*' [--job short|dry] [--inProcess]   (bench/run.sh passes these)
BenchmarkSwitcher.FromAssembly(typeof(HohhotCluster.Telemetry.Benchmarks.PayloadParseBenchmarks).Assembly).Run(args);
