using HohhotCluster.FirmwareSim.Cli;

using var interrupt = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    interrupt.Cancel();
};

var cli = new CommandLine(args);
var command = cli.Positional.Count > 0 ? cli.Positional[0] : "help";
try
{
    return command switch
    {
        "profile" when cli.Positional.Count > 1 && cli.Positional[1] == "show" => await Commands.ProfileShowAsync(cli),
        "registry" => await Commands.RegistryAsync(cli),
        "register" => await Commands.RegisterAsync(cli),
        "credentials" => await Commands.CredentialsAsync(cli),
        "run" => await Commands.RunAsync(cli, interrupt.Token),
        "record" => await Commands.RecordAsync(cli, interrupt.Token),
        "replay" => await Commands.ReplayAsync(cli, interrupt.Token),
        "dump" => await Commands.DumpAsync(cli),
        "chain" => await Commands.ChainAsync(cli),
        "verify" => await Commands.VerifyAsync(cli, interrupt.Token),
        "help" or "--help" or "-h" => Help(0),
        _ => Help(64),
    };
}
catch (UsageException exception)
{
    Console.Error.WriteLine($"hohhot-sim: {exception.Message}");
    return 64;
}
catch (Exception exception) when (exception is InvalidDataException or FileNotFoundException or Grpc.Core.RpcException or HttpRequestException)
{
    Console.Error.WriteLine($"hohhot-sim {command}: {exception.Message}");
    return 1;
}

static int Help(int code)
{
    (code == 0 ? Console.Out : Console.Error).WriteLine(Commands.Usage);
    return code;
}
