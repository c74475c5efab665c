using HohhotCluster.Telemetry.Cli;

return await CliCommands.RunAsync(args, Console.Out, Console.Error);
