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
    /// no chunk of a document stand alone, with no page. On git's documentation, paraphrased top-5 0.690 → see
    /// bench/results/relevance-git-doc.md.
    /// </summary>
    private static List<ScoredPoint> PageFused(Collection collection, TextSearchRequest request, QueryRequest dense, QueryRequest sparse, PageVectorConfig page)
    {
        var wanted = request.Offset + request.Limit;
        var depth = Math.Max(PageFusionDepth, 4 * wanted);
        while (true)
        {
            var denseList = collection.Query(dense with { Filter = request.Filter, Limit = depth, WithPayload = PayloadSelector.All });
            var sparseList = collection.Query(sparse with { Filter = request.Filter, Limit = depth, WithPayload = PayloadSelector.All });
            var pageList = collection.Query(new QueryRequest
            {
                Query = dense.Query,
                Using = page.Vector,
                Limit = depth,
                WithPayload = new PayloadSelector(true, [PagePathKeys[0], PagePathKeys[1], PagePathKeys[2]]),
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
                }
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
                    answer.Add(chunk with { Score = (float)document.Score });
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
            if (answer.Count == wanted || (denseList.Count < depth && sparseList.Count < depth) || depth >= MaxGroupingDepth)
            {
                return [.. answer.Skip(request.Offset).Select(p => p with { Payload = request.WithPayload.Enabled ? request.WithPayload.Apply(p.Payload) : null })];
            }

            depth = Math.Min(4 * depth, MaxGroupingDepth);
        }

        // RRF's term for 0-based place p with weight 1: the engine's 1 / ((p + 1) / w + k − 1).
        static double Rrf(int p) => 1.0 / (p + TextSearchRrfK);
    }

    /// <summary>How deep each of the three lists of a page-fused search reads at first (chunks of the two chunk lists, pages).</summary>
    private const int PageFusionDepth = 100;

    private static readonly JsonPath[] PagePathKeys = [JsonPath.Parse(PointKindKey), JsonPath.Parse("file_path"), JsonPath.Parse("watch_root")];

    private sealed class Document(int order)
    {
        public int Order { get; } = order;

        public double Score { get; set; }

        public Dictionary<PointId, ScoredPoint> Chunks { get; } = [];
    }
}
