using Vectorizer.Engine.Index;
using Vectorizer.Engine.Vectors;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// One named dense vector space of a collection: the vectors, which offsets are searchable (live and having
/// this vector), and the HNSW graph covering the offsets below <see cref="IndexedUpTo"/>.
/// </summary>
public sealed class VectorSlot
{
    private HnswGraph? graph;
    private int indexedUpTo;

    public VectorSlot(string name, VectorParams parameters, HnswConfig hnsw)
    {
        Name = name;
        Parameters = parameters;
        Hnsw = hnsw;
        Store = new DenseVectorStore(parameters.Size);
    }

    public string Name { get; }

    public VectorParams Parameters { get; }

    public Distance Distance => Parameters.Distance;

    public int Dimension => Parameters.Size;

    public HnswConfig Hnsw { get; set; }

    public DenseVectorStore Store { get; }

    /// <summary>Offsets of live points that have this vector.</summary>
    public Bitmap Searchable { get; internal set; } = new();

    /// <summary>The graph, once indexing has started.</summary>
    public HnswGraph? Graph
    {
        get => Volatile.Read(ref graph);
        set => Volatile.Write(ref graph, value);
    }

    /// <summary>Every offset below this was considered by the indexer (inserted, or skipped as not searchable).</summary>
    public int IndexedUpTo
    {
        get => Volatile.Read(ref indexedUpTo);
        set => Volatile.Write(ref indexedUpTo, value);
    }

    /// <summary>Suffix of the file names of this slot's data: the hex of the name's UTF-8 bytes ("default" for "").</summary>
    public string FileKey => Name.Length == 0 ? "default" : "v-" + Convert.ToHexStringLower(System.Text.Encoding.UTF8.GetBytes(Name));

    public HnswGraph CreateGraph() => new(Math.Max(2, Hnsw.M), Hnsw.EfConstruct);
}
