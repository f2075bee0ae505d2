namespace Vectorizer.Engine.Storage;

/// <summary>
/// The version of every binary or JSON file the engine writes, in one place. Readers accept the versions they know
/// and refuse newer ones with <see cref="UnsupportedFormatException"/> (never by treating the file as damaged).
/// Changing a layout means a new version here, a reader for the old one, and a new folder of golden fixtures
/// (<c>tests/Vectorizer.Engine.Tests/Fixtures/vN</c>) that every later commit must still read.
/// </summary>
public static class OnDiskFormat
{
    /// <summary>
    /// WAL segment header and record framing, and the body layout of every <c>WalOperationKind</c>. Version 2 added
    /// the <c>CreateVector</c> and <c>DeleteVector</c> records (framing and the other bodies unchanged); version 1
    /// segments are still read, and a log whose last segment is version 1 starts a new segment before its next record.
    /// </summary>
    public const ushort WalSegment = 2;

    /// <summary>The oldest WAL segment version this code reads.</summary>
    public const ushort OldestWalSegment = 1;

    /// <summary>
    /// <c>checkpoints/&lt;lsn&gt;/manifest.json</c>, and with it the layouts it points to that carry no version of their
    /// own: <c>sparse.bin</c>, <c>&lt;vector&gt;.tail</c> and <c>vectors/g&lt;n&gt;/&lt;vector&gt;/chunk-N.bin</c> (raw float32).
    /// </summary>
    public const int CheckpointManifest = 1;

    /// <summary><c>points.bin</c> of a checkpoint (after its magic <c>VZPOINT1</c>).</summary>
    public const int CheckpointPoints = 1;

    /// <summary>A persisted HNSW graph (<c>&lt;vector&gt;.graph</c>, after its magic <c>VZHNSW01</c>).</summary>
    public const int HnswGraph = 1;
}
