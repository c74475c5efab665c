namespace HohhotCluster.Telemetry.Contracts;

/// <summary>
/// The identity every device message carries: who sent it, which boot of the device, which message of that boot.
/// MQTT packet ids and the DUP flag cannot de-duplicate, so this key is what makes a redelivery recognisable.
/// </summary>
[GenerateSerializer, Immutable, Alias("hohhot.ReadingKey")]
public readonly record struct ReadingKey(
    [property: Id(0)] string DeviceId,
    [property: Id(1)] long BootEpoch,
    [property: Id(2)] long Sequence)
{
    public override string ToString() => $"{DeviceId}/{BootEpoch}/{Sequence}";
}
