using System.Security.Cryptography;
using System.Text;

namespace Vectorizer.Ingestion.Chunking;

/// <summary>
/// A piece of a file, as stored in a point's payload: where it came from (1-based, inclusive line range), its
/// text, and hashes that tell whether the chunk or the file changed since it was indexed.
/// </summary>
public sealed record Chunk(
    string FilePath,
    int ChunkIndex,
    int StartLine,
    int EndLine,
    string Content,
    string ContentHash,
    string FileHash,
    DateTimeOffset? Mtime,
    string Language)
{
    /// <summary>
    /// What the chunk stands in, for a prose document (<see cref="DocumentOutline.ContextAt"/>): the document's title
    /// and summary line and the headings above the chunk; embedded with the chunk's text, not stored in
    /// <see cref="Content"/>. Null for code and for documents without a title.
    /// </summary>
    public string? Context { get; init; }
}

/// <summary>Chunk size limits, in characters.</summary>
public sealed record ChunkerOptions
{
    public static readonly ChunkerOptions Default = new();

    /// <summary>Largest chunk, in characters; a single line longer than this is kept whole (never split mid-line).</summary>
    public int MaxChars { get; init; } = 1500;

    /// <summary>Characters that consecutive plain-text chunks share.</summary>
    public int Overlap { get; init; } = 200;
}

/// <summary>One chunk as a chunker finds it: a character range of the text.</summary>
public readonly record struct TextRange(int Start, int End);

/// <summary>Splits a text into ranges; each kind of file has its own rules.</summary>
public interface IChunker
{
    IReadOnlyList<TextRange> Split(string text, ChunkerOptions options);
}

public static class Hashes
{
    /// <summary>SHA-256 of the text's UTF-8 bytes, lower-case hex.</summary>
    public static string Sha256Hex(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
