using System.Globalization;

namespace Vectorizer.Engine.Collections;

/// <summary>The files of one collection under <c>data_dir/collections/&lt;name&gt;/</c>.</summary>
public sealed record CollectionPaths(string Root)
{
    public string ConfigFile => Path.Combine(Root, "collection.json");

    public string WalDirectory => Path.Combine(Root, "wal");

    public string CheckpointsDirectory => Path.Combine(Root, "checkpoints");

    public string VectorsDirectory => Path.Combine(Root, "vectors");

    /// <summary>Memory-mapped scratch files of <c>on_disk</c> vectors (unlinked as soon as they are mapped).</summary>
    public string SpillDirectory => Path.Combine(Root, "mmap");

    public string Checkpoint(long lsn) => Path.Combine(CheckpointsDirectory, lsn.ToString("D20", CultureInfo.InvariantCulture));

    public string VectorGeneration(long generation) => Path.Combine(VectorsDirectory, "g" + generation.ToString(CultureInfo.InvariantCulture));
}
