using System.Buffers.Binary;

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

/// <summary>A buffered, sequential, write-only stream over an <see cref="IStorageFile"/> (written from offset 0).</summary>
public sealed class StorageWriteStream(IStorageFile file, int bufferSize = 1 << 20) : Stream
{
    private readonly byte[] buffer = new byte[bufferSize];
    private int buffered;
    private long position;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => position + buffered;

    public override long Position
    {
        get => position + buffered;
        set => throw new NotSupportedException();
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> data)
    {
        while (data.Length > 0)
        {
            if (buffered == 0 && data.Length >= buffer.Length)
            {
                file.Write(data, position);
                position += data.Length;
                return;
            }

            var take = Math.Min(data.Length, buffer.Length - buffered);
            data[..take].CopyTo(buffer.AsSpan(buffered));
            buffered += take;
            data = data[take..];
            if (buffered == buffer.Length)
            {
                Flush();
            }
        }
    }

    public override void WriteByte(byte value) => Write([value]);

    /// <summary>Hands the buffered bytes to the file (not an fsync: see <see cref="IStorageFile.Flush"/>).</summary>
    public override void Flush()
    {
        if (buffered > 0)
        {
            file.Write(buffer.AsSpan(0, buffered), position);
            position += buffered;
            buffered = 0;
        }
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();
}

/// <summary>Writes a file through a CRC, appends the CRC as a 4-byte trailer, and fsyncs.</summary>
public static class ChecksummedFile
{
    public static void Write(string path, Action<Stream> write) => Write(PhysicalStorage.Instance, path, write);

    public static void Write(IStorage storage, string path, Action<Stream> write)
    {
        using var file = storage.OpenFile(path, StorageOpenMode.Create);
        using (var stream = new StorageWriteStream(file))
        {
            var checksum = new ChecksumStream(stream);
            write(checksum);
            Span<byte> trailer = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32LittleEndian(trailer, checksum.Crc);
            stream.Write(trailer);
            stream.Flush();
        }

        file.Flush();
    }

    public static ReadOnlyMemory<byte> Read(string path) => Read(PhysicalStorage.Instance, path);

    /// <summary>Reads a file written by <see cref="Write(IStorage, string, Action{Stream})"/> and returns its body, or throws <see cref="CorruptDataException"/> when the CRC does not match.</summary>
    public static ReadOnlyMemory<byte> Read(IStorage storage, string path)
    {
        var bytes = storage.ReadAllBytes(path);
        if (bytes.Length < 4)
        {
            throw new CorruptDataException($"{path}: too short");
        }

        var body = bytes.AsSpan(0, bytes.Length - 4);
        var expected = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4));
        if (Crc32C.Compute(body) != expected)
        {
            throw new CorruptDataException($"{path}: checksum mismatch");
        }

        return bytes.AsMemory(0, bytes.Length - 4);
    }
}
