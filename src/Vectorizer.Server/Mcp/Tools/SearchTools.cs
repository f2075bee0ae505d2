using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Vectorizer.Engine.Collections;
using Vectorizer.Server.Api.Qdrant.Json;
using Vectorizer.Server.Application;

namespace Vectorizer.Server.Mcp;

/// <summary>
/// Searches: by vector or point id, by text (the collection's embedders), hybrid (prefetches fused with RRF or
/// DBSF), and recommendations. Each becomes the body of Qdrant's <c>/points/query</c> (or our <c>/search/text</c>) and goes through the
/// same parser and <see cref="PointsService.QueryAsync"/> / <see cref="DocumentsService.SearchTextAsync"/> as REST.
/// </summary>
internal static class SearchTools
{
    private static Prop Limit => new("limit", Schema.Integer("How many points to return.", minimum: 1, maximum: 10_000, @default: 10));

    private static Prop ScoreThreshold => new("score_threshold", Schema.Number("Leave out points scoring below this."));

    private static Prop Using => new("using", Schema.String("Which named vector to search (collections with named or sparse vectors).", "text"));

    private static Prop Params => new("params", Schema.FreeObject(
        "Search parameters: {\"hnsw_ef\": int, \"exact\": bool, \"quantization\": {\"ignore\", \"rescore\", \"oversampling\"}}.", """{"hnsw_ef": 128}"""));

    public static IEnumerable<McpTool> All =>
    [
        new(
            "search",
            "Search by vector or point",
            "Nearest neighbours of a `vector` (dense: a list of numbers; sparse: {indices, values}) or of an existing point (`point_id`: points like it), "
            + "optionally filtered. Scores are the collection's distance (Cosine/Dot: higher is closer).",
            ToolEffect.Read,
            Schema.Object(
                Schemas.Collection,
                new Prop("vector", Schema.AnyOf(
                    "The query vector (give this or `point_id`).",
                    Schemas.DenseVector("A dense vector of the collection's size, e.g. [0.2, 0.1, 0.9, 0.7]."),
                    Schemas.SparseVector("A sparse vector (with `using` naming a sparse vector)."))),
                new Prop("point_id", Schemas.PointId("Search for points like this one (give this or `vector`).")),
                Using,
                Schemas.Filter,
                Limit,
                new Prop("offset", Schema.Integer("Skip this many of the best points (paging).", minimum: 0, @default: 0)),
                ScoreThreshold,
                Schemas.WithPayload(@default: true),
                Schemas.WithVector,
                Params),
            Schemas.Points(Schemas.ScoredPoint, "The points found, best first."),
            Search),
        new(
            "search_text",
            "Search by text",
            "Search a text collection (one with an `embedding` section, e.g. filled by `add_documents` or `index_path`) by a text query: dense (semantic), sparse (BM25 keywords) "
            + "or hybrid (both, fused with RRF; the default when the collection has both embedders). Chunks come back with their payload: `content`, and for indexed files `file_path`, `start_line`, `end_line`.",
            ToolEffect.Read,
            Schema.Object(
                Schemas.Collection,
                new Prop("query", Schema.String("The text to search for.", "how are snapshots restored?"), Required: true),
                new Prop("mode", Schema.Enum("dense, sparse or hybrid; default: hybrid when the collection has both embedders, else the one it has.", null, "dense", "sparse", "hybrid")),
                Schemas.Filter,
                Limit,
                new Prop("offset", Schema.Integer("Skip this many of the best points (paging).", minimum: 0, @default: 0)),
                ScoreThreshold,
                Schemas.WithPayload(@default: true),
                new Prop("max_per_document", Schema.Integer("The most chunks of one document (file) in the answer, its best ones; 0: no limit.", minimum: 0, @default: 1))),
            Schemas.Points(Schemas.ScoredPoint, "The chunks found, best first."),
            SearchText),
        new(
            "hybrid_query",
            "Hybrid query (prefetch + fusion)",
            "Run several searches (`prefetch`: each {query, using?, filter?, limit?, params?}, e.g. a dense and a sparse vector) and fuse their results with "
            + "reciprocal rank fusion (`rrf`, default) or distribution-based score fusion (`dbsf`): the operators' guide pattern for hybrid search.",
            ToolEffect.Read,
            Schema.Object(
                Schemas.Collection,
                new Prop("prefetch", Schema.ArrayOf(
                    Schema.FreeObject(
                        "A search to fuse: {\"query\": vector | sparse vector | point id, \"using\"?: vector name, \"filter\"?, \"limit\"?: candidates (default 10), \"params\"?}; may nest its own `prefetch`.",
                        """{"query": [0.1, 0.2, 0.3, 0.4], "using": "dense", "limit": 20}""",
                        """{"query": {"indices": [3, 17], "values": [0.5, 0.8]}, "using": "keywords", "limit": 20}"""),
                    "The searches whose results are fused.",
                    minItems: 1), Required: true),
                new Prop("fusion", Schema.Enum("How to fuse: rrf (ranks) or dbsf (normalised scores).", "rrf", "rrf", "dbsf")),
                new Prop("rrf_k", Schema.Integer("RRF's k (rank constant); only with fusion rrf.", minimum: 1, @default: Engine.Collections.FusionQuery.DefaultRrfK)),
                Schemas.Filter,
                Limit,
                ScoreThreshold,
                Schemas.WithPayload(@default: true),
                Schemas.WithVector),
            Schemas.Points(Schemas.ScoredPoint, "The fused points, best first."),
            HybridQuery),
        new(
            "recommend",
            "Recommend points like some and unlike others",
            "Points like the `positive` examples and unlike the `negative` ones (each a point id or a dense vector), optionally filtered; the examples themselves "
            + "are left out. `strategy`: average_vector (default: one query from the examples' average), best_score (each point scored by its best positive "
            + "against its best negative) or sum_scores.",
            ToolEffect.Read,
            Schema.Object(
                Schemas.Collection,
                new Prop("positive", Schema.ArrayOf(Example("A point to resemble: its id, or a dense vector."), "Points or vectors the results should resemble.", minItems: 1), Required: true),
                new Prop("negative", Schema.ArrayOf(Example("A point to avoid: its id, or a dense vector."), "Points or vectors the results should not resemble.")),
                new Prop("strategy", Schema.Enum("How the examples are combined.", "average_vector", "average_vector", "best_score", "sum_scores")),
                Using,
                Schemas.Filter,
                Limit,
                new Prop("offset", Schema.Integer("Skip this many of the best points (paging).", minimum: 0, @default: 0)),
                ScoreThreshold,
                Schemas.WithPayload(@default: true),
                Schemas.WithVector,
                Params),
            Schemas.Points(Schemas.ScoredPoint, "The points found, best first."),
            Recommend),
    ];

    private static JsonObject Example(string description) =>
        Schema.AnyOf(description, Schemas.PointId("A point id."), Schemas.DenseVector("A dense vector of the collection's size."));

    private static Task<ToolOutput> Search(ToolCall call)
    {
        var args = call.Args;
        var hasVector = args.TryGet("vector", out var vector);
        var hasPoint = args.TryGet("point_id", out var pointId);
        if (hasVector == hasPoint)
        {
            throw args.Error(hasVector ? "give `vector` or `point_id`, not both" : "missing field `vector` (or `point_id`)");
        }

        var body = new JsonObject
        {
            ["query"] = JsonNode.Parse((hasVector ? vector : pointId).Element.GetRawText()),
            ["with_payload"] = true,
        };
        Copy(call.Arguments, body, "using", "filter", "limit", "offset", "score_threshold", "with_payload", "with_vector", "params");
        return Query(call, body);
    }

    private static async Task<ToolOutput> SearchText(ToolCall call)
    {
        var request = DocumentJson.ParseSearch(call.Body("collection"));
        var (target, points) = await call.Service<DocumentsService>().SearchTextAsync(call.Call, call.Collection, request, call.CancellationToken).ConfigureAwait(false);
        return Found(target, points);
    }

    private static Task<ToolOutput> HybridQuery(ToolCall call)
    {
        var args = call.Args;
        var fusion = args.TryGet("fusion", out var f) ? f.AsString() : "rrf";
        JsonNode query = fusion switch
        {
            "rrf" when args.TryGet("rrf_k", out var k) => new JsonObject { ["rrf"] = new JsonObject { ["k"] = k.AsInt(min: 1) } },
            "rrf" or "dbsf" when !args.Has("rrf_k") => new JsonObject { ["fusion"] = fusion },
            "dbsf" => throw args.Required("rrf_k").Error("only with fusion `rrf`"),
            _ => throw f.Error($"unknown variant `{fusion}`, expected `rrf` or `dbsf`"),
        };
        var body = new JsonObject { ["query"] = query, ["with_payload"] = true };
        Copy(call.Arguments, body, "prefetch", "filter", "limit", "score_threshold", "with_payload", "with_vector");
        return Query(call, body);
    }

    private static Task<ToolOutput> Recommend(ToolCall call)
    {
        var recommend = new JsonObject();
        Copy(call.Arguments, recommend, "positive", "negative", "strategy");
        var body = new JsonObject { ["query"] = new JsonObject { ["recommend"] = recommend }, ["with_payload"] = true };
        Copy(call.Arguments, body, "using", "filter", "limit", "offset", "score_threshold", "with_payload", "with_vector", "params");
        return Query(call, body);
    }

    private static async Task<ToolOutput> Query(ToolCall call, JsonObject body)
    {
        var request = RequestJson.ParseQuery(JsonInput.Root(JsonSerializer.SerializeToElement(body)));
        var (target, points) = await call.Service<PointsService>().QueryAsync(call.Call, call.Collection, request, call.CancellationToken).ConfigureAwait(false);
        return Found(target, points);
    }

    private static ToolOutput Found(Collection target, IReadOnlyList<Engine.Collections.ScoredPoint> points)
    {
        var structured = ToolOutput.Write(w => ResponseJson.QueryResponse(w, points, target.Config.NamedVectors));
        var best = string.Join(", ", points.Take(5).Select(p => $"{p.Id} ({p.Score.ToString("0.####", CultureInfo.InvariantCulture)})"));
        return new ToolOutput(structured, points.Count == 0
            ? $"No points found in `{target.Name}`."
            : $"{points.Count} point{(points.Count == 1 ? "" : "s")} found in `{target.Name}`; best: {best}{(points.Count > 5 ? ", ..." : "")}.");
    }

    private static void Copy(JsonElement from, JsonObject to, params string[] names)
    {
        foreach (var name in names)
        {
            if (from.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null)
            {
                to[name] = JsonNode.Parse(value.GetRawText());
            }
        }
    }
}
