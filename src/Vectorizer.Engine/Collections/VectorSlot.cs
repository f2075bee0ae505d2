using Vectorizer.Engine.Index;
using Vectorizer.Engine.Vectors;
using Vectorizer.Engine.Vectors.Quantization;

namespace Vectorizer.Engine.Collections;

/// <summary>
/// One named dense vector space of a collection: the vectors, which offsets are searchable (live and having
/// this vector), and the HNSW graph covering the offsets below <see cref="IndexedUpTo"/>.
/// </summary>
public sealed class VectorSlot
{
    private HnswGraph? graph;
    private QuantizedVectors? quantized;
    private int indexedUpTo;

    /// <param name="name">The vector's name ("" for the unnamed vector).</param>
    /// <param name="parameters">Size, distance and per-vector overrides.</param>
    /// <param name="hnsw">The effective HNSW parameters.</param>
    /// <param name="quantization">The effective quantization, if any.</param>
    /// <param name="spillDirectory">Where <c>on_disk</c> vectors are memory-mapped; null keeps them in RAM.</param>
    public VectorSlot(string name, VectorParams parameters, HnswConfig hnsw, QuantizationSettings? quantization = null, string? spillDirectory = null)
    {
        Name = name;
        Parameters = parameters;
        Hnsw = hnsw;
        Quantization = quantization;
        // In RAM, each vector shares a record with the graph's layer-0 links (hnswlib's layout), sized for the M
        // configured now; a graph built later with a larger M keeps its links apart.
        Store = new DenseVectorStore(parameters.Size, parameters.OnDisk == true ? spillDirectory : null, hnsw.M > 0 ? 2 * Math.Max(2, hnsw.M) : 0);
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

    /// <summary>The quantization the config asks for (the indexer trains <see cref="Quantized"/> to match it).</summary>
    public QuantizationSettings? Quantization { get; set; }

    /// <summary>The compressed copy searched by the graph, once trained; covers at least the offsets below <see cref="IndexedUpTo"/> when published.</summary>
    public QuantizedVectors? Quantized
    {
        get => Volatile.Read(ref quantized);
        set => Volatile.Write(ref quantized, value);
    }

    /// <summary>True when <see cref="Quantized"/> is missing, stale or behind the graph.</summary>
    public bool NeedsQuantizing =>
        Quantization is { } wanted && Graph is not null && (Quantized is not { } q || q.Settings != wanted || q.Count < IndexedUpTo);

    /// <summary>Every offset below this was considered by the indexer (inserted, or skipped as not searchable).</summary>
    public int IndexedUpTo
    {
        get => Volatile.Read(ref indexedUpTo);
        set => Volatile.Write(ref indexedUpTo, value);
    }

    /// <summary>Suffix of the file names of this slot's data: the hex of the name's UTF-8 bytes ("default" for "").</summary>
    public string FileKey => Name.Length == 0 ? "default" : "v-" + Convert.ToHexStringLower(System.Text.Encoding.UTF8.GetBytes(Name));

    public HnswGraph CreateGraph() => new(Math.Max(2, Hnsw.M), Hnsw.EfConstruct, layer0: Store.Nodes);

    /// <summary>Reads a saved graph (<see cref="HnswGraph.Save"/>), its layer 0 placed as <see cref="CreateGraph"/> places it.</summary>
    public (HnswGraph Graph, int NodeCount) LoadGraph(ReadOnlySpan<byte> data) => HnswGraph.Load(data, Store.Nodes);

    /// <summary>
    /// Moves the graph's layer-0 links next to what searches score: the quantized codes when searches use them,
    /// else the vectors when those are in RAM, else records of the graph's own. Only while nothing is inserted into
    /// the graph (the indexer, between batches); every inserted node must be below <paramref name="nodeCount"/>.
    /// </summary>
    public void PlaceLayer0(int nodeCount)
    {
        if (Graph is not { } graph)
        {
            return;
        }

        if (Quantized is { } quantized && quantized.Count >= nodeCount && graph.MoveLayer0(quantized.Codes, nodeCount))
        {
            return;
        }

        if (Store.Nodes is { } nodes && graph.MoveLayer0(nodes, nodeCount))
        {
            return;
        }

        graph.MoveLayer0(null, nodeCount);
    }
}
