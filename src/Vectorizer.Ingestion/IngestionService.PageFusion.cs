using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Ingestion.Embeddings;

namespace Vectorizer.Ingestion;

public sealed partial class IngestionService
{
    /// <summary>
    /// Hybrid text search of a collection with page vectors, fused per document: three rankings of documents — by
    /// their best chunk in the dense list, by their best chunk in the BM25 list (both lists of chunks, read deep and
    /// with the request's filter), and by their page vector — are fused with RRF (k = <see cref="TextSearchRrfK"/>,
    /// equal weights: the engine's formula, the constants of the chunk-level fusion). A document is a candidate only
    /// when one of its chunks is in the chunk lists (so a filter keeps its meaning, and every answer has a chunk to
    /// show); its chunks in the answer are its best ones by the chunk-level RRF of the dense and BM25 lists, at most
    /// <see cref="TextSearchRequest.MaxPerDocument"/>, each scored with the document's fused score. Points that are
    /// no chunk of a document stand alone, with no page. On git's documentation, paraphrased top-5 0.690 → 0.738
    /// (bench/results/relevance-git-doc.md).
    /// </summary>
    private static (List<ScoredPoint> Points, int? FeedbackDocuments) PageFused(Collection collection, TextSearchRequest request, QueryRequest dense, QueryRequest sparse, PageVectorConfig page, PseudoRelevanceFeedback? feedback)
    {
        var wanted = request.Offset + request.Limit;
        var depth = Math.Max(PageFusionDepth, 4 * wanted);
        // Feedback reads the first pass's vectors of one kind: the chunks' (from both chunk lists) or the pages'.
        var chunkVectors = feedback?.Source == FeedbackSource.Chunk;
        var pageVectors = feedback?.Source == FeedbackSource.Page;
        int? feedbackDocuments = null;
        while (true)
        {
            var sparseList = collection.Query(sparse with { Filter = request.Filter, Limit = depth, WithPayload = PayloadSelector.All, WithVector = chunkVectors ? new VectorSelector(true, [dense.Using!]) : VectorSelector.None });
            var (documents, chunkScores, denseCount) = Rank(dense, feedback is not null);
            if (feedback is not null && Feedback(documents, chunkScores, feedback, (DenseVectorQuery)dense.Query!) is { } expanded)
            {
                feedbackDocuments = expanded.Documents;
                (documents, chunkScores, denseCount) = Rank(dense with { Query = expanded.Query }, false);
            }

            var answer = new List<ScoredPoint>(wanted);
            foreach (var document in documents.Values.OrderByDescending(d => d.Score).ThenBy(d => d.Order))
            {
                if (request.ScoreThreshold is { } threshold && document.Score < threshold)
                {
                    break;
                }

                foreach (var chunk in document.Chunks.Values.OrderByDescending(c => chunkScores[c.Id]).Take(request.MaxPerDocument))
                {
                    answer.Add(chunk with { Score = (float)document.Score, Vectors = null });
                    if (answer.Count == wanted)
                    {
                        break;
                    }
                }

                if (answer.Count == wanted)
                {
                    break;
                }
            }

            // Done when the page is full, when both chunk rankings ran out, or past the depth a page is worth.
            if (answer.Count == wanted || (denseCount < depth && sparseList.Count < depth) || depth >= MaxGroupingDepth)
            {
                return ([.. answer.Skip(request.Offset).Select(p => p with { Payload = request.WithPayload.Enabled ? request.WithPayload.Apply(p.Payload) : null })], feedbackDocuments);
            }

            depth = Math.Min(4 * depth, MaxGroupingDepth);

            // The documents of the three lists for one dense query (the sparse list is the same for both passes).
            (Dictionary<string, Document>, Dictionary<PointId, double>, int) Rank(QueryRequest denseQuery, bool vectors)
            {
                var selector = vectors && chunkVectors ? new VectorSelector(true, [dense.Using!]) : VectorSelector.None;
                var denseList = collection.Query(denseQuery with { Filter = request.Filter, Limit = depth, WithPayload = PayloadSelector.All, WithVector = selector });
                var pageList = collection.Query(new QueryRequest
                {
                    Query = denseQuery.Query,
                    Using = page.Vector,
                    Limit = depth,
                    WithPayload = new PayloadSelector(true, [PagePathKeys[0], PagePathKeys[1], PagePathKeys[2]]),
                    WithVector = vectors && pageVectors ? new VectorSelector(true, [page.Vector]) : VectorSelector.None,
                });

                var documents = new Dictionary<string, Document>(StringComparer.Ordinal);
                var chunkScores = new Dictionary<PointId, double>();
                foreach (var list in new[] { denseList, sparseList })
                {
                    var rank = 0;
                    var seen = new HashSet<string>(StringComparer.Ordinal);
                    for (var p = 0; p < list.Count; p++)
                    {
                        var point = list[p];
                        chunkScores[point.Id] = chunkScores.GetValueOrDefault(point.Id) + Rrf(p);
                        var key = DocumentKey(point.Payload) ?? "point:" + point.Id;
                        if (!documents.TryGetValue(key, out var document))
                        {
                            documents[key] = document = new Document(documents.Count);
                        }

                        document.Chunks.TryAdd(point.Id, point);
                        if (seen.Add(key))
                        {
                            document.Score += Rrf(rank++);
                        }
                    }
                }

                for (var p = 0; p < pageList.Count; p++)
                {
                    if (DocumentKey(pageList[p].Payload, page: true) is { } key && documents.TryGetValue(key, out var document))
                    {
                        document.Score += Rrf(p);
                        document.PageVector = pageList[p].Vectors?.GetValueOrDefault(page.Vector);
                    }
                }

                return (documents, chunkScores, denseList.Count);
            }

            // Rocchio: q' = q + beta * the mean of the top documents' vectors (their page vectors, or their best chunks'), normalised.
            (QueryInput Query, int Documents)? Feedback(Dictionary<string, Document> documents, Dictionary<PointId, double> chunkScores, PseudoRelevanceFeedback feedback, DenseVectorQuery query)
            {
                var sum = new float[query.Vector.Length];
                var used = 0;
                foreach (var document in documents.Values.OrderByDescending(d => d.Score).ThenBy(d => d.Order).Take(feedback.Documents))
                {
                    var vector = feedback.Source == FeedbackSource.Page ? document.PageVector
                        : document.Chunks.Values.OrderByDescending(c => chunkScores[c.Id]).Select(c => c.Vectors?.GetValueOrDefault(dense.Using!)).FirstOrDefault(v => v is not null);
                    if (vector is not null && vector.Length == sum.Length)
                    {
                        System.Numerics.Tensors.TensorPrimitives.Add(sum, vector, sum);
                        used++;
                    }
                }

                if (used == 0)
                {
                    return null;
                }

                System.Numerics.Tensors.TensorPrimitives.Divide(sum, used, sum);
                return (new DenseVectorQuery(Rocchio(query.Vector, sum, feedback.Beta)), used);
            }
        }

        // RRF's term for 0-based place p with weight 1: the engine's 1 / ((p + 1) / w + k − 1).
        static double Rrf(int p) => 1.0 / (p + TextSearchRrfK);
    }

    /// <summary>Rocchio's query: normalise(<paramref name="query"/> + <paramref name="beta"/> · <paramref name="mean"/>).</summary>
    internal static float[] Rocchio(float[] query, float[] mean, float beta)
    {
        var expanded = new float[query.Length];
        System.Numerics.Tensors.TensorPrimitives.MultiplyAdd(mean, beta, query, expanded);
        var norm = System.Numerics.Tensors.TensorPrimitives.Norm(expanded);
        if (norm > 0)
        {
            System.Numerics.Tensors.TensorPrimitives.Divide(expanded, norm, expanded);
        }

        return expanded;
    }

    /// <summary>How deep each of the three lists of a page-fused search reads at first (chunks of the two chunk lists, pages).</summary>
    private const int PageFusionDepth = 100;

    private static readonly JsonPath[] PagePathKeys = [JsonPath.Parse(PointKindKey), JsonPath.Parse("file_path"), JsonPath.Parse("watch_root")];

    private sealed class Document(int order)
    {
        public int Order { get; } = order;

        public double Score { get; set; }

        public Dictionary<PointId, ScoredPoint> Chunks { get; } = [];

        public float[]? PageVector { get; set; }
    }
}

/// <summary>Where pseudo-relevance feedback takes the top documents' vectors from.</summary>
public enum FeedbackSource
{
    /// <summary>Each top document's page vector.</summary>
    Page,

    /// <summary>Each top document's best chunk (by the chunk-level RRF of the dense and BM25 lists).</summary>
    Chunk,
}

/// <summary>
/// Pseudo-relevance feedback (dense Rocchio) for page-fused hybrid search: after the first ranking, the query vector
/// becomes normalise(q + <see cref="Beta"/> · mean of the <see cref="Documents"/> top documents' vectors), and the dense
/// and page lists are searched again with it and fused as before (the BM25 list is the first pass's).
/// </summary>
public sealed record PseudoRelevanceFeedback
{
    public PseudoRelevanceFeedback(int documents, float beta, FeedbackSource source)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(documents, 1);
        if (!float.IsFinite(beta) || beta < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(beta), beta, "beta is a finite number >= 0");
        }

        (Documents, Beta, Source) = (documents, beta, source);
    }

    /// <summary>
    /// The default: the 3 top documents' best chunks, beta 0.75 (Rocchio's textbook weight, Manning, Raghavan and
    /// Schütze ch. 9, with α = 1; 3 feedback documents as in dense-retrieval PRF). On git's documentation: paraphrased
    /// top-5 0.738 → 0.762 (bench/results/relevance-git-doc.md, with the grid around it).
    /// </summary>
    public static PseudoRelevanceFeedback Default { get; } = new(3, 0.75f, FeedbackSource.Chunk);

    /// <summary>How many of the first pass's top documents give their vector (k).</summary>
    public int Documents { get; }

    /// <summary>The weight of their mean against the query's vector (α = 1).</summary>
    public float Beta { get; }

    public FeedbackSource Source { get; }
}
