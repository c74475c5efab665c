using HohhotCluster.Telemetry.Contracts;
using HohhotCluster.Telemetry.Kinds;

namespace HohhotCluster.Telemetry.Ingestion;

/// <summary>
/// A payload whose envelope passed every check that needs no registry (size, UTF-8, JSON, depth, topic, device, boot,
/// sequence, event time) and whose body its kind parsed into <see cref="Record"/>. The device's registration and the
/// kind's own checks come next.
/// </summary>
public sealed record ParsedReading(TelemetryTopic Topic, ReadingKey Key, DateTimeOffset EventTime, IParsedRecord Record);
