using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Vectorizer.Server.Rollouts;

/// <summary>
/// The operators' guide's consistent hash: a routing key's bucket in [0, 100) is the first 8 hex digits of the MD5 of
/// its UTF-8 bytes, read as an unsigned number, modulo 100. A key below a stage's percentage goes to the new
/// collection. MD5 is used for its spread and for compatibility with routers built from the guide, not for security.
/// </summary>
public static class RoutingHash
{
    public const int Buckets = 100;

    public static int Bucket(string key)
    {
        var length = Encoding.UTF8.GetMaxByteCount(key.Length);
        byte[]? rented = null;
        var bytes = length <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            var written = Encoding.UTF8.GetBytes(key, bytes);
            Span<byte> hash = stackalloc byte[16];
#pragma warning disable CA5351 // MD5 is the guide's routing rule (spread, not secrecy).
            MD5.HashData(bytes[..written], hash);
#pragma warning restore CA5351
            return (int)(BinaryPrimitives.ReadUInt32BigEndian(hash) % Buckets);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
