using System.Text.Json;
using System.Text.Json.Serialization;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Sparse;
using Vectorizer.Engine.Storage;
using Vectorizer.Ingestion.Text;

namespace Vectorizer.Ingestion.Embeddings;

/// <summary>
/// BM25 as sparse vectors. A document's value for term t is the term-frequency part of BM25,
/// tf · (k1 + 1) / (tf + k1 · (1 − b + b · |d| / avgdl)); the query is each distinct term with value 1. The
/// collection's sparse vector uses <c>modifier: idf</c>, so the engine multiplies each query term by its IDF over
/// the live documents at search time, and the dot product is the BM25 score.
/// <para>
/// Term ids are stable hashes of the terms (<see cref="StableHash.TermId"/>), not vocabulary positions. So a
/// query needs no vocabulary at all: nothing that maps words to ids can be lost, go stale or disagree between
/// processes (the failure that made a comparable server return nothing after a restart). The price is rare
/// collisions in 2^32 ids (about one pair per 100,000 distinct terms), which merge two terms' postings. The only
/// state is the document count and total length (for avgdl), kept in a small JSON file in the collection's
/// directory, replaced atomically after each successful write. If a crash lands between the write and the stats
/// update, later documents get a slightly different length normalisation; search stays correct.
/// </para>
/// </summary>
public sealed class Bm25SparseEmbedder : ISparseEmbedder
{
    public const double DefaultK1 = 1.2;
    public const double DefaultB = 0.75;

    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly string statsPath;
    private Bm25Stats stats;

    public Bm25SparseEmbedder(string statsPath, double k1 = DefaultK1, double b = DefaultB)
    {
        this.statsPath = statsPath;
        K1 = k1;
        B = b;
        stats = Load(statsPath);
    }

    public double K1 { get; }

    public double B { get; }

    /// <summary>Documents counted so far and their total length in tokens.</summary>
    public Bm25Stats Stats => Volatile.Read(ref stats);

    public async Task<T> EmbedDocumentsAsync<T>(IReadOnlyList<string> texts, Func<IReadOnlyList<SparseVector>, Task<T>> write, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var frequencies = new Dictionary<uint, int>();
            var documents = new List<(uint[] Ids, int[] Counts, int Length)>(texts.Count);
            var next = stats;
            foreach (var text in texts)
            {
                frequencies.Clear();
                using var tokens = Tokenizer.Tokenize(text);
                for (var i = 0; i < tokens.Count; i++)
                {
                    var id = StableHash.TermId(tokens[i]);
                    frequencies[id] = frequencies.GetValueOrDefault(id) + 1;
                }

                documents.Add(([.. frequencies.Keys], [.. frequencies.Values], tokens.Count));
                next = next with { Documents = next.Documents + 1, TotalLength = next.TotalLength + tokens.Count };
            }

            // avgdl includes this batch, so the first documents of a collection are normalised against themselves.
            var averageLength = next.Documents == 0 ? 1.0 : Math.Max(1.0, (double)next.TotalLength / next.Documents);
            var vectors = new List<SparseVector>(documents.Count);
            foreach (var (ids, counts, length) in documents)
            {
                var values = new float[ids.Length];
                var norm = K1 * (1 - B + (B * length / averageLength));
                for (var i = 0; i < ids.Length; i++)
                {
                    values[i] = (float)(counts[i] * (K1 + 1) / (counts[i] + norm));
                }

                vectors.Add(SparseVector.Create(ids, values));
            }

            var result = await write(vectors).ConfigureAwait(false);
            Save(next);
            return result;
        }
        finally
        {
            gate.Release();
        }
    }

    public SparseVector EmbedQuery(string text)
    {
        using var tokens = Tokenizer.Tokenize(text);
        var ids = new HashSet<uint>();
        for (var i = 0; i < tokens.Count; i++)
        {
            ids.Add(StableHash.TermId(tokens[i]));
        }

        var values = new float[ids.Count];
        Array.Fill(values, 1f);
        return SparseVector.Create([.. ids], values);
    }

    private void Save(Bm25Stats next)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(statsPath)!);
        FileUtil.WriteAtomic(statsPath, JsonSerializer.SerializeToUtf8Bytes(next));
        Volatile.Write(ref stats, next);
    }

    private static Bm25Stats Load(string path)
    {
        if (!File.Exists(path))
        {
            return new Bm25Stats(0, 0);
        }

        try
        {
            return JsonSerializer.Deserialize<Bm25Stats>(File.ReadAllBytes(path)) ?? new Bm25Stats(0, 0);
        }
        catch (JsonException e)
        {
            throw new VectorizerException(ErrorCode.StorageFailure, $"BM25 statistics in {path} are unreadable: {e.Message}", e);
        }
    }
}

/// <summary>What BM25 keeps per collection: documents counted and their total length in tokens (avgdl = total / documents).</summary>
public sealed record Bm25Stats(
    [property: JsonPropertyName("documents")] long Documents,
    [property: JsonPropertyName("total_length")] long TotalLength);
