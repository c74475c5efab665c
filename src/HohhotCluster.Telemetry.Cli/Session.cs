using System.Text.Json;

namespace HohhotCluster.Telemetry.Cli;

/// <summary>What `hohhot login` keeps for the next commands: the API, its CA and the token (a file only its owner reads).</summary>
internal sealed record Session(string Api, string? Ca, string Token)
{
    public static string Path => Environment.GetEnvironmentVariable("HOHHOT_SESSION_FILE") is { Length: > 0 } file
        ? file
        : System.IO.Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".config", "hohhot", "token");

    public static Session? Load()
    {
        try
        {
            return File.Exists(Path) ? JsonSerializer.Deserialize<Session>(File.ReadAllText(Path)) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public void Save()
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        File.WriteAllText(Path, JsonSerializer.Serialize(this));
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
    }
}
