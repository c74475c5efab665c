using System.Text;

namespace HohhotCluster.FirmwareSim.Publishing;

/// <summary>
/// A recorded run: a header (magic, seed) and the exact topic, payload and key of every message in
/// publish order, in the same binary form the spool uses. Replay reads it back.
/// </summary>
internal sealed class RunFileWriter : IMessageSink, IDisposable
{
    private const string Magic = "HOHHOT-SIM-RUN-3"; // 3: animal facts per message (issue 17)
    private readonly BinaryWriter _writer;

    public RunFileWriter(string path, long seed)
    {
        _writer = new BinaryWriter(new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.Read, 1 << 20), Encoding.UTF8);
        _writer.Write(Magic);
        _writer.Write(seed);
    }

    public long Count { get; private set; }

    public ValueTask SendAsync(OutboundMessage message, CancellationToken cancellationToken)
    {
        _writer.Write(true);
        message.WriteTo(_writer);
        Count++;
        return ValueTask.CompletedTask;
    }

    public void Dispose()
    {
        _writer.Write(false);
        _writer.Dispose();
    }

    public static IEnumerable<OutboundMessage> Read(string path, out long seed)
    {
        var reader = new BinaryReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20), Encoding.UTF8);
        if (reader.ReadString() != Magic)
        {
            reader.Dispose();
            throw new InvalidDataException($"{path} is not a hohhot-sim run file");
        }
        seed = reader.ReadInt64();
        return ReadMessages(reader);
    }

    private static IEnumerable<OutboundMessage> ReadMessages(BinaryReader reader)
    {
        using (reader)
        {
            while (reader.BaseStream.Position < reader.BaseStream.Length && reader.ReadBoolean())
            {
                yield return OutboundMessage.ReadFrom(reader);
            }
        }
    }
}
