using HohhotCluster.Telemetry.Host;

// appsettings.json ships beside the binary; environment variables (Postgres__ConnectionString, ...) override it.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = args, ContentRootPath = AppContext.BaseDirectory });
builder.AddTelemetryPlatform();

var app = builder.Build();
app.MapTelemetryPlatform();
app.Run();
