namespace HohhotCluster.Telemetry.Tests;

/// <summary>Finds files of the repository and of <c>../shared</c> (beside the repository) from the test's folder.</summary>
public static class SharedData
{
    public static string RepoRoot { get; } = FindRepoRoot();

    public static string SharedRoot
    {
        get
        {
            var shared = Path.Combine(Path.GetDirectoryName(RepoRoot)!, "shared");
            return Directory.Exists(Path.Combine(shared, "data"))
                ? shared
                : throw new DirectoryNotFoundException($"Expected the shared reference data at {shared}/data (../shared beside the repository).");
        }
    }

    private static string FindRepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "HohhotCluster.Telemetry.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("HohhotCluster.Telemetry.sln not found above " + AppContext.BaseDirectory);
    }
}
