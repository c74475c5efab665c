using System.ComponentModel.DataAnnotations;

namespace HohhotCluster.Telemetry.Storage;

public sealed class PostgresOptions
{
    public const string Section = "Postgres";

    [Required(ErrorMessage = "Postgres:ConnectionString is required (e.g. Host=127.0.0.1;Port=55432;Username=hohhot;Password=...;Database=hohhot; deploy/servers.sh env prints the instance's).")]
    public string ConnectionString { get; set; } = "";

    /// <summary>Apply pending schema migrations at start-up.</summary>
    public bool MigrateOnStart { get; set; } = true;
}
