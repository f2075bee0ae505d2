using System.Runtime.CompilerServices;

namespace Vectorizer.Engine.Vectors.Quantization;

/// <summary>
/// A compressed copy of one vector slot, searched by the graph instead of the float32 originals (which then
/// only re-score the few best candidates). Trained once from a sample of the vectors present when quantization
/// starts; codes are appended in offset order as the indexer reaches each vector, so every graph node has one.
/// Codes are always in RAM (anonymous memory), whether or not the originals are <c>on_disk</c>. Each code is the
/// payload of a <see cref="NodeArena"/> record with room for the graph's layer-0 links in front (Qdrant calls this
/// inline storage): once the graph moves its links there, a search over the codes reads one record per node.
/// </summary>
public abstract unsafe class QuantizedVectors
{
    /// <summary>Vectors sampled to train a quantizer (evenly spread over the offsets present).</summary>
    protected const int TrainingSample = 20_000;

    private int count;

    /// <param name="settings">What was asked for.</param>
    /// <param name="distance">The vectors' distance.</param>
    /// <param name="dimension">The vectors' dimension.</param>
    /// <param name="codeBytes">Bytes per code.</param>
    /// <param name="linkSlots">Layer-0 links to reserve before each code (0: none).</param>
    protected QuantizedVectors(QuantizationSettings settings, Distance distance, int dimension, int codeBytes, int linkSlots)
    {
        Settings = settings;
        Distance = distance;
        Dimension = dimension;
        Codes = new NodeArena(linkSlots, codeBytes);
    }

    public QuantizationSettings Settings { get; }

    public Distance Distance { get; }

    public int Dimension { get; }

    /// <summary>The codes, as the payload of node records.</summary>
    public NodeArena Codes { get; }

    /// <summary>Offsets below this have codes.</summary>
    public int Count => Volatile.Read(ref count);

    /// <summary>Bytes of codes plus the quantizer's own tables.</summary>
    public long RamBytes => ((long)Count * Codes.PayloadBytes) + TableBytes;

    protected virtual long TableBytes => 0;

    /// <summary>
    /// Trains the quantizer that <paramref name="settings"/> asks for on the first <paramref name="count"/> vectors
    /// of <paramref name="store"/>, with room for <paramref name="linkSlots"/> layer-0 links before each code.
    /// </summary>
    public static QuantizedVectors Train(QuantizationSettings settings, Distance distance, DenseVectorStore store, int count, int linkSlots = 0) =>
        settings.Kind switch
        {
            QuantizationKind.Scalar => ScalarQuantizer.TrainScalar(settings, distance, store, count, linkSlots),
            QuantizationKind.Binary => new BinaryQuantizer(settings, distance, store.Dimension, linkSlots),
            QuantizationKind.Product => ProductQuantizer.TrainProduct(settings, distance, store, count, linkSlots),
            _ => throw new ArgumentOutOfRangeException(nameof(settings)),
        };

    /// <summary>Encodes the vectors of <paramref name="store"/> up to <paramref name="upTo"/>. Single writer only.</summary>
    public void ExtendTo(DenseVectorStore store, int upTo)
    {
        var from = count;
        if (upTo <= from)
        {
            return;
        }

        Codes.EnsureCapacity(upTo);
        for (var offset = from; offset < upTo; offset++)
        {
            Encode(new ReadOnlySpan<float>(store.GetPointer(offset), Dimension), Codes.PayloadPointer(offset));
        }

        Volatile.Write(ref count, upTo);
        GC.KeepAlive(store);
    }

    /// <summary>Writes the code of one (preprocessed) vector.</summary>
    protected abstract void Encode(ReadOnlySpan<float> vector, byte* destination);

    /// <summary>Offsets sampled evenly from [0, count) for training.</summary>
    protected static int[] SampleOffsets(int count, int max)
    {
        var n = Math.Min(count, max);
        var offsets = new int[n];
        for (var i = 0; i < n; i++)
        {
            offsets[i] = (int)((long)i * count / n);
        }

        return offsets;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    protected static int Pad16(int length) => (length + 15) & ~15;
}
