namespace Vectorizer.Engine.Storage;

/// <summary>A write-only stream wrapper that keeps a running CRC-32C of everything written.</summary>
public sealed class ChecksumStream(Stream inner) : Stream
{
    public uint Crc { get; private set; }

    public long Written { get; private set; }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => Written;

    public override long Position
    {
        get => Written;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Crc = Crc32C.Compute(buffer, Crc);
        Written += buffer.Length;
        inner.Write(buffer);
    }

    public override void WriteByte(byte value) => Write([value]);

    public override void Flush() => inner.Flush();

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>Writes a file through a CRC, appends the CRC as a 4-byte trailer, and fsyncs.</summary>
public static class ChecksummedFile
{
    public static void Write(string path, Action<Stream> write)
    {
        using var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var checksum = new ChecksumStream(file);
        write(checksum);
        Span<byte> trailer = stackalloc byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(trailer, checksum.Crc);
        file.Write(trailer);
        file.Flush(flushToDisk: true);
    }

    /// <summary>Reads a file written by <see cref="Write"/> and returns its body, or throws when the CRC does not match.</summary>
    public static ReadOnlyMemory<byte> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length < 4)
        {
            throw new InvalidDataException($"{path}: too short");
        }

        var body = bytes.AsSpan(0, bytes.Length - 4);
        var expected = System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4));
        if (Crc32C.Compute(body) != expected)
        {
            throw new InvalidDataException($"{path}: checksum mismatch");
        }

        return bytes.AsMemory(0, bytes.Length - 4);
    }
}
