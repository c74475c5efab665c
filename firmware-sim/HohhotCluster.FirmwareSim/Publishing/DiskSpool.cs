namespace HohhotCluster.FirmwareSim.Publishing;

/// <summary>
/// A gateway's bounded on-disk store-and-forward queue: length-prefixed records appended to one
/// file and read back oldest first. Records left by an earlier run are sent first. The file is
/// truncated whenever it has been read to the end. Used by one gateway loop only (not thread-safe).
/// </summary>
internal sealed class DiskSpool : IDisposable
{
    private readonly FileStream _file;
    private readonly long _maxBytes;
    private long _readPosition;

    public DiskSpool(string path, long maxBytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read, 1 << 16);
        _maxBytes = maxBytes;
        Count = CountRecords();
    }

    public int Count { get; private set; }

    public long Bytes => _file.Length - _readPosition;

    public bool TryAppend(OutboundMessage message)
    {
        using var buffer = new MemoryStream(message.Payload.Length + 256);
        using (var writer = new BinaryWriter(buffer, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(0);
            message.WriteTo(writer);
        }
        if (Bytes + buffer.Length > _maxBytes)
        {
            return false;
        }
        var bytes = buffer.GetBuffer();
        BitConverter.TryWriteBytes(bytes.AsSpan(0, 4), (int)buffer.Length - 4);
        _file.Seek(0, SeekOrigin.End);
        _file.Write(bytes, 0, (int)buffer.Length);
        _file.Flush(flushToDisk: false);
        Count++;
        return true;
    }

    public OutboundMessage? TryDequeue()
    {
        if (Count == 0)
        {
            return null;
        }
        _file.Seek(_readPosition, SeekOrigin.Begin);
        using var reader = new BinaryReader(_file, System.Text.Encoding.UTF8, leaveOpen: true);
        var length = reader.ReadInt32();
        var message = OutboundMessage.ReadFrom(reader);
        _readPosition += 4 + length;
        Count--;
        if (Count == 0)
        {
            _file.SetLength(0);
            _readPosition = 0;
        }
        return message;
    }

    public void Dispose() => _file.Dispose();

    private int CountRecords()
    {
        var count = 0;
        var position = 0L;
        Span<byte> header = stackalloc byte[4];
        while (position + 4 <= _file.Length)
        {
            _file.Seek(position, SeekOrigin.Begin);
            _file.ReadExactly(header);
            var length = BitConverter.ToInt32(header);
            if (length <= 0 || position + 4 + length > _file.Length)
            {
                // A torn record from a crash: drop it and what follows.
                _file.SetLength(position);
                break;
            }
            position += 4 + length;
            count++;
        }
        return count;
    }
}
