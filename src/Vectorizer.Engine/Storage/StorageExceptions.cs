namespace Vectorizer.Engine.Storage;

/// <summary>
/// Stored bytes that fail a checksum, a framing or a consistency check: the file is damaged (a torn write, a bad
/// sector, an edit by hand). The one exception a decoder of stored data throws for bad bytes; any other exception
/// type from a decoder is a bug and must never be taken for damage.
/// </summary>
public sealed class CorruptDataException : IOException
{
    public CorruptDataException(string message)
        : base(message)
    {
    }

    public CorruptDataException(string message, Exception inner)
        : base(message, inner)
    {
    }
}

/// <summary>
/// A file written in a format version this code does not know (by a newer Vectorizer, most likely). Never treated
/// as damage: the data is left as it is and the collection is not opened.
/// </summary>
public sealed class UnsupportedFormatException : IOException
{
    public UnsupportedFormatException(string message)
        : base(message)
    {
    }
}
