using System.Text.Unicode;

namespace Vectorizer.Ingestion.Text;

/// <summary>
/// FNV-1a (64-bit) over the UTF-8 bytes of text. Stable across processes, machines and .NET versions, unlike
/// <see cref="string.GetHashCode()"/>, which is randomised per process: hashed feature and term ids are persisted
/// in the collection, so they must never change.
/// </summary>
public static class StableHash
{
    public const ulong Seed = 14695981039346656037UL;
    private const ulong Prime = 1099511628211UL;

    /// <summary>Continues the hash <paramref name="state"/> with the UTF-8 bytes of <paramref name="text"/>.</summary>
    public static ulong Fnv1a64(ReadOnlySpan<char> text, ulong state = Seed)
    {
        Span<byte> buffer = stackalloc byte[256];
        while (!text.IsEmpty)
        {
            Utf8.FromUtf16(text, buffer, out var read, out var written, replaceInvalidSequences: true, isFinalBlock: true);
            state = Fnv1a64(buffer[..written], state);
            text = text[read..];
        }

        return state;
    }

    public static ulong Fnv1a64(ReadOnlySpan<byte> bytes, ulong state = Seed)
    {
        foreach (var b in bytes)
        {
            state = (state ^ b) * Prime;
        }

        return state;
    }

    /// <summary>One byte (a separator or a namespace tag) into the hash.</summary>
    public static ulong Fnv1a64(byte value, ulong state) => (state ^ value) * Prime;

    /// <summary>A 32-bit term id: the 64-bit hash folded, so both halves count.</summary>
    public static uint TermId(ReadOnlySpan<char> term)
    {
        var hash = Fnv1a64(term);
        return (uint)(hash ^ (hash >> 32));
    }
}
