using HohhotCluster.Telemetry.Host;

var builder = WebApplication.CreateBuilder(args);
builder.AddTelemetryPlatform();

var app = builder.Build();
app.MapTelemetryPlatform();
app.Run();
