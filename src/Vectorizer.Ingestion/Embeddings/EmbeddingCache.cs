using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Ingestion.Embeddings;

/// <summary>
/// A persistent content-hash → vector cache for paid or slow embedding providers, so unchanged text is never
/// embedded twice, across restarts too. The key is SHA-256 over the endpoint, model, requested dimensions and
/// text. One append-only file: an 8-byte magic, then records <c>[u32 length][u32 crc32c][32-byte key][f32 × n]</c>.
/// Loaded into memory at open; a torn or damaged tail (a crash mid-append) is cut off at the first bad record.
/// Appends are not fsynced: a lost record only costs one more embedding call.
/// </summary>
public sealed class EmbeddingCache : IDisposable
{
    private static ReadOnlySpan<byte> Magic => "VZEMBC01"u8;

    private readonly Dictionary<CacheKey, float[]> entries = [];
    private readonly Lock sync = new();
    private readonly FileStream file;

    private EmbeddingCache(FileStream file)
    {
        this.file = file;
    }

    public int Count
    {
        get
        {
            lock (sync)
            {
                return entries.Count;
            }
        }
    }

    public static EmbeddingCache Open(string path, ILogger logger)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        var stream = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read);
        var cache = new EmbeddingCache(stream);
        cache.Load(logger, path);
        return cache;
    }

    public static CacheKey Key(string endpoint, string model, int? dimensions, string text)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(Encoding.UTF8.GetBytes($"{endpoint}\n{model}\n{dimensions}\n"));
        hash.AppendData(Encoding.UTF8.GetBytes(text));
        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        return CacheKey.From(digest);
    }

    public bool TryGet(CacheKey key, out float[] vector)
    {
        lock (sync)
        {
            return entries.TryGetValue(key, out vector!);
        }
    }

    public void Add(CacheKey key, float[] vector)
    {
        var record = new byte[8 + 32 + (vector.Length * 4)];
        key.Write(record.AsSpan(8, 32));
        MemoryMarshal.AsBytes(vector.AsSpan()).CopyTo(record.AsSpan(40));
        BinaryPrimitives.WriteUInt32LittleEndian(record, (uint)(record.Length - 8));
        BinaryPrimitives.WriteUInt32LittleEndian(record.AsSpan(4), Crc32C.Compute(record.AsSpan(8)));
        lock (sync)
        {
            if (!entries.TryAdd(key, vector))
            {
                return;
            }

            file.Seek(0, SeekOrigin.End);
            file.Write(record);
            file.Flush();
        }
    }

    private void Load(ILogger logger, string path)
    {
        if (file.Length == 0)
        {
            file.Write(Magic);
            file.Flush();
            return;
        }

        var bytes = new byte[file.Length];
        file.ReadExactly(bytes);
        if (bytes.Length < Magic.Length || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
        {
            logger.LogWarning("Embedding cache {Path} has an unknown format; starting an empty one", path);
            file.SetLength(0);
            file.Write(Magic);
            file.Flush();
            return;
        }

        var position = Magic.Length;
        while (position + 8 <= bytes.Length)
        {
            var length = (int)BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(position));
            if (length < 32 || (length - 32) % 4 != 0 || position + 8L + length > bytes.Length)
            {
                break;
            }

            var body = bytes.AsSpan(position + 8, length);
            if (Crc32C.Compute(body) != BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(position + 4)))
            {
                break;
            }

            entries[CacheKey.From(body[..32])] = MemoryMarshal.Cast<byte, float>(body[32..]).ToArray();
            position += 8 + length;
        }

        if (position != bytes.Length)
        {
            logger.LogWarning("Embedding cache {Path}: cutting a damaged tail at byte {Position} of {Length}", path, position, bytes.Length);
            file.SetLength(position);
        }

        file.Seek(0, SeekOrigin.End);
    }

    public void Dispose()
    {
        lock (sync)
        {
            file.Dispose();
        }
    }
}

/// <summary>A SHA-256 digest as four words (a cheap dictionary key).</summary>
public readonly record struct CacheKey(ulong A, ulong B, ulong C, ulong D)
{
    public static CacheKey From(ReadOnlySpan<byte> digest) => new(
        BinaryPrimitives.ReadUInt64LittleEndian(digest),
        BinaryPrimitives.ReadUInt64LittleEndian(digest[8..]),
        BinaryPrimitives.ReadUInt64LittleEndian(digest[16..]),
        BinaryPrimitives.ReadUInt64LittleEndian(digest[24..]));

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, A);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], B);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], C);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[24..], D);
    }
}
