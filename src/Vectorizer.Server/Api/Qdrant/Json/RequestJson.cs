using System.Text.Json;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Vectors.Quantization;

namespace Vectorizer.Server.Api.Qdrant.Json;

/// <summary>Parses the bodies of Qdrant's point read and update endpoints into engine requests.</summary>
internal static class RequestJson
{
    public static QueryRequest ParseQuery(JsonInput body) => ParseQuery(body, topLevel: true);

    /// <summary>A query, or (<paramref name="topLevel"/> false) one of its prefetches: same shape, no offset or output options.</summary>
    private static QueryRequest ParseQuery(JsonInput body, bool topLevel)
    {
        body.ExpectObject();
        var (hnswEf, exactSearch, quantizationParams) = ParseSearchParams(body);
        var prefetch = new List<QueryRequest>();
        if (body.TryGet("prefetch", out var prefetchInput) && prefetchInput.Kind != JsonValueKind.Null)
        {
            if (prefetchInput.Kind == JsonValueKind.Array)
            {
                foreach (var item in prefetchInput.Items())
                {
                    prefetch.Add(ParseQuery(item, topLevel: false));
                }
            }
            else
            {
                prefetch.Add(ParseQuery(prefetchInput, topLevel: false));
            }
        }

        return new QueryRequest
        {
            Prefetch = prefetch,
            Query = body.TryGet("query", out var query) ? ParseQueryInput(query) : null,
            Using = body.TryGet("using", out var use) ? use.AsString() : "",
            Filter = FilterJson.ParseOptional(body, "filter"),
            HnswEf = hnswEf,
            Exact = exactSearch,
            Quantization = quantizationParams,
            Limit = body.TryGet("limit", out var limit) ? ParseLimit(limit) : 10,
            Offset = topLevel && body.TryGet("offset", out var offset) ? ParseOffset(offset) : 0,
            ScoreThreshold = body.TryGet("score_threshold", out var threshold) ? (float)threshold.AsDouble() : null,
            WithPayload = PointJson.ParseWithPayload(body, "with_payload", fallback: false),
            WithVector = PointJson.ParseWithVector(body, fallback: false),
            LookupFrom = ParseLookupFrom(body),
        };
    }

    /// <summary>
    /// A <c>limit</c>: an unsigned integer of any size (Qdrant accepts <c>u64::MAX</c>, meaning "all"; the engine never
    /// computes more results than there are points), at least 1.
    /// </summary>
    public static int ParseLimit(JsonInput input)
    {
        if (input.Kind == JsonValueKind.Number && input.Element.TryGetUInt64(out var value))
        {
            return value == 0 ? throw input.Invalid("value 0 invalid, must be 1 or larger") : (int)Math.Min(value, int.MaxValue);
        }

        throw input.Error($"invalid value: {JsonInput.Describe(input.Element)}, expected an unsigned integer");
    }

    /// <summary>An <c>offset</c>: an unsigned integer (clamped: no collection holds more points than <see cref="int.MaxValue"/>).</summary>
    public static int ParseOffset(JsonInput input) =>
        input.Kind == JsonValueKind.Number && input.Element.TryGetUInt64(out var value)
            ? (int)Math.Min(value, int.MaxValue)
            : throw input.Error($"invalid value: {JsonInput.Describe(input.Element)}, expected an unsigned integer");

    /// <summary><c>lookup_from: {"collection", "vector"}</c>.</summary>
    public static LookupLocation? ParseLookupFrom(JsonInput body)
    {
        if (!body.TryGet("lookup_from", out var lookup))
        {
            return null;
        }

        lookup.ExpectObject();
        if (lookup.Has("shard_key"))
        {
            throw VectorizerException.BadRequest("lookup_from.shard_key: shard keys do not exist on a single node");
        }

        return new LookupLocation(lookup.Required("collection").AsString(), lookup.TryGet("vector", out var vector) ? vector.AsString() : null);
    }

    /// <summary><c>params: {"hnsw_ef", "exact", "quantization"}</c> (<c>indexed_only</c> and <c>acorn</c> are accepted: every point is searchable at once).</summary>
    public static (int? HnswEf, bool Exact, QuantizationSearchParams? Quantization) ParseSearchParams(JsonInput body)
    {
        if (!body.TryGet("params", out var p))
        {
            return (null, false, null);
        }

        p.ExpectObject();
        return (
            p.TryGet("hnsw_ef", out var ef) ? ef.AsInt(min: 1) : null,
            p.TryGet("exact", out var exact) && exact.AsBool(),
            p.TryGet("quantization", out var quantization) ? ParseQuantizationParams(quantization) : null);
    }

    /// <summary><c>params.quantization {ignore, rescore, oversampling}</c> with Qdrant's defaults (false, true, 1).</summary>
    private static QuantizationSearchParams ParseQuantizationParams(JsonInput input)
    {
        input.ExpectObject();
        var oversampling = input.TryGet("oversampling", out var o) && o.Kind != JsonValueKind.Null ? o.AsDouble() : 1.0;
        if (oversampling < 1.0)
        {
            throw VectorizerException.Validation("params.quantization.oversampling: value must be 1 or larger");
        }

        return new QuantizationSearchParams(
            input.TryGet("ignore", out var ignore) && ignore.Kind != JsonValueKind.Null && ignore.AsBool(),
            !input.TryGet("rescore", out var rescore) || rescore.Kind == JsonValueKind.Null || rescore.AsBool(),
            oversampling);
    }

    /// <summary>
    /// Qdrant's <c>QueryInterface</c>: a vector (dense, sparse), a point id, <c>{"nearest": ...}</c>,
    /// <c>{"recommend": {...}}</c>, <c>{"discover": {...}}</c>, <c>{"context": ...}</c>, a fusion,
    /// <c>{"order_by": "key" | {"key", "direction", "start_from"}}</c> or <c>{"sample": "random"}</c>.
    /// </summary>
    private static QueryInput ParseQueryInput(JsonInput input)
    {
        switch (input.Kind)
        {
            case JsonValueKind.Object when input.TryGet("nearest", out var nearest):
                input.DenyUnknown("nearest", "mmr");
                if (input.Has("mmr"))
                {
                    throw VectorizerException.BadRequest("`mmr` (maximal marginal relevance) is not supported yet");
                }

                return ParseVectorInput(nearest);
            case JsonValueKind.Object when input.TryGet("recommend", out var recommend):
                return ParseRecommendInput(recommend);
            case JsonValueKind.Object when input.TryGet("discover", out var discover):
                discover.ExpectObject();
                return new DiscoverQuery(ParseVectorInput(discover.Required("target")), ParsePairs(discover, "context"));
            case JsonValueKind.Object when input.Has("context"):
                var pairs = ParsePairs(input, "context");
                return pairs.Count == 0 ? throw input.Invalid("context: must contain at least 1 pair") : new ContextQuery(pairs);
            case JsonValueKind.Object when input.TryGet("fusion", out var fusion):
                return fusion.AsString() switch
                {
                    "rrf" => new FusionQuery(FusionMethod.Rrf),
                    "dbsf" => new FusionQuery(FusionMethod.Dbsf),
                    var other => throw fusion.Error($"unknown variant `{other}`, expected `rrf` or `dbsf`"),
                };
            case JsonValueKind.Object when input.TryGet("order_by", out var orderBy):
                return new OrderByQuery(ParseOrderBy(orderBy));
            case JsonValueKind.Object when input.TryGet("sample", out var sample):
                return sample.AsString() == "random" ? SampleQuery.Random : throw sample.Error($"unknown variant `{sample.AsString()}`, expected `random`");
            case JsonValueKind.Object when input.TryGet("rrf", out var rrf):
                rrf.ExpectObject();
                return new FusionQuery(
                    FusionMethod.Rrf,
                    rrf.TryGet("k", out var k) && k.Kind != JsonValueKind.Null ? k.AsInt(min: 1) : FusionQuery.DefaultRrfK,
                    rrf.TryGet("weights", out var weights) && weights.Kind != JsonValueKind.Null ? weights.AsFloatArray() : null);
            case JsonValueKind.Object when input.Has("formula") || input.Has("relevance_feedback"):
                throw VectorizerException.BadRequest($"Query type `{input.Element.EnumerateObject().First().Name}` is not supported yet");
            default:
                return ParseVectorInput(input);
        }
    }

    /// <summary>
    /// Qdrant's <c>VectorInput</c>: a dense vector, a sparse vector (<c>{indices, values}</c>) or a point id. Multi-vectors
    /// and inference objects (text, images to embed) are refused with a clear message.
    /// </summary>
    public static QueryInput ParseVectorInput(JsonInput input)
    {
        switch (input.Kind)
        {
            case JsonValueKind.Array:
                if (input.Element.GetArrayLength() > 0 && input.Element[0].ValueKind == JsonValueKind.Array)
                {
                    throw new VectorizerException(ErrorCode.BadRequest, "Multi-vector queries are not supported yet");
                }

                return new DenseVectorQuery(input.AsFloatArray());
            case JsonValueKind.Number:
            case JsonValueKind.String:
                return new PointIdQuery(PointJson.ParseId(input));
            case JsonValueKind.Object when input.Has("indices") || input.Has("values"):
                return new SparseVectorQuery(PointJson.ParseSparse(input, "query"));
            case JsonValueKind.Object:
                var kind = input.Element.EnumerateObject().FirstOrDefault().Name ?? "{}";
                if (kind is "text" or "image" or "object" or "model")
                {
                    throw VectorizerException.BadRequest("Inference objects (text, images to embed) are not supported: send the vector itself");
                }

                throw new VectorizerException(ErrorCode.BadRequest, $"Query type `{kind}` is not supported yet");
            default:
                throw input.Error("Expected some form of vector, id, or a type of query");
        }
    }

    /// <summary><c>{"positive": [...], "negative": [...], "strategy": "average_vector" | "best_score" | "sum_scores"}</c>.</summary>
    public static RecommendQuery ParseRecommendInput(JsonInput input)
    {
        input.ExpectObject();
        return new RecommendQuery(
            ParseExamples(input, "positive"),
            ParseExamples(input, "negative"),
            input.TryGet("strategy", out var strategy) ? ParseStrategy(strategy) : RecommendStrategy.AverageVector);
    }

    public static RecommendStrategy ParseStrategy(JsonInput strategy) => strategy.AsString() switch
    {
        "average_vector" => RecommendStrategy.AverageVector,
        "best_score" => RecommendStrategy.BestScore,
        "sum_scores" => RecommendStrategy.SumScores,
        var other => throw strategy.Error($"unknown variant `{other}`, expected one of `average_vector`, `best_score`, `sum_scores`"),
    };

    public static List<QueryInput> ParseExamples(JsonInput parent, string name)
    {
        var examples = new List<QueryInput>();
        if (parent.TryGet(name, out var list))
        {
            foreach (var item in list.Items())
            {
                examples.Add(ParseVectorInput(item));
            }
        }

        return examples;
    }

    /// <summary>Context pairs: one <c>{"positive", "negative"}</c> object or a list of them.</summary>
    public static List<ContextPair> ParsePairs(JsonInput parent, string name)
    {
        var pairs = new List<ContextPair>();
        if (!parent.TryGet(name, out var input))
        {
            return pairs;
        }

        foreach (var item in input.Kind == JsonValueKind.Array ? input.Items() : [input])
        {
            item.ExpectObject();
            pairs.Add(new ContextPair(ParseVectorInput(item.Required("positive")), ParseVectorInput(item.Required("negative"))));
        }

        return pairs;
    }

    public static IReadOnlyList<QueryRequest> ParseQueryBatch(JsonInput body)
    {
        body.ExpectObject();
        var list = new List<QueryRequest>();
        foreach (var item in body.Required("searches").Items())
        {
            list.Add(ParseQuery(item));
        }

        return list;
    }

    public static ScrollRequest ParseScroll(JsonInput body)
    {
        body.ExpectObject();
        var request = new ScrollRequest
        {
            Filter = FilterJson.ParseOptional(body, "filter"),
            Limit = body.TryGet("limit", out var limit) ? limit.AsInt(min: 1) : 10,
            Offset = body.TryGet("offset", out var offset) ? PointJson.ParseId(offset) : null,
            WithPayload = PointJson.ParseWithPayload(body, "with_payload", fallback: true),
            WithVector = PointJson.ParseWithVector(body, fallback: false),
            OrderBy = body.TryGet("order_by", out var orderBy) ? ParseOrderBy(orderBy) : null,
        };
        if (request.OrderBy is not null && request.Offset is not null)
        {
            throw VectorizerException.BadRequest("Cannot use an `offset` when using `order_by`. The alternative for paging is to use `order_by.start_from` and a filter to exclude the IDs that you've already seen for the `order_by.start_from` value");
        }

        return request;
    }

    private static OrderBy ParseOrderBy(JsonInput input)
    {
        if (input.Kind == JsonValueKind.String)
        {
            return new OrderBy(Key(input), false, null);
        }

        input.ExpectObject();
        var descending = false;
        if (input.TryGet("direction", out var direction))
        {
            descending = direction.AsString() switch
            {
                "asc" => false,
                "desc" => true,
                var other => throw direction.Error($"unknown variant `{other}`, expected `asc` or `desc`"),
            };
        }

        double? start = null;
        if (input.TryGet("start_from", out var from))
        {
            if (from.Kind == JsonValueKind.String)
            {
                var text = from.AsString();
                start = FilterEvaluator.TryParseDatetime(text, out var at)
                    ? (at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10
                    : throw from.Error($"invalid datetime `{text}`");
            }
            else
            {
                start = from.AsDouble();
            }
        }

        return new OrderBy(Key(input.Required("key")), descending, start);
    }

    private static JsonPath Key(JsonInput input)
    {
        var text = input.AsString();
        return JsonPath.TryParse(text, out var path, out var error) ? path : throw input.Error($"invalid payload key `{text}`: {error}");
    }

    public static Filter? ParseCount(JsonInput body, out bool exact)
    {
        body.ExpectObject();
        exact = !body.TryGet("exact", out var e) || e.AsBool();
        return FilterJson.ParseOptional(body, "filter");
    }

    // ------------------------------------------------------------------ updates

    public static UpdateOperation ParseUpsert(JsonInput body, int maxBatch)
    {
        var points = PointJson.ParsePointInsert(body, maxBatch);
        var mode = UpdateMode.Upsert;
        if (body.TryGet("update_mode", out var m))
        {
            mode = m.AsString() switch
            {
                "upsert" => UpdateMode.Upsert,
                "insert_only" => UpdateMode.InsertOnly,
                "update_only" => UpdateMode.UpdateOnly,
                var other => throw m.Error($"unknown variant `{other}`, expected one of `upsert`, `insert_only`, `update_only`"),
            };
        }

        return new UpsertOperation(points, mode, FilterJson.ParseOptional(body, "update_filter"));
    }

    public static UpdateOperation ParseSetPayload(JsonInput body, bool overwrite)
    {
        body.ExpectObject();
        var payload = PointJson.ParsePayload(body.Required("payload"));
        var selector = PointJson.ParseSelector(body);
        if (overwrite)
        {
            return new OverwritePayloadOperation(payload, selector);
        }

        return new SetPayloadOperation(payload, selector, body.TryGet("key", out var key) ? Key(key) : null);
    }

    public static UpdateOperation ParseDeletePayload(JsonInput body)
    {
        body.ExpectObject();
        var keys = new List<JsonPath>();
        foreach (var item in body.Required("keys").Items())
        {
            keys.Add(Key(item));
        }

        return new DeletePayloadOperation(keys, PointJson.ParseSelector(body));
    }

    public static UpdateOperation ParseUpdateVectors(JsonInput body, int maxBatch)
    {
        body.ExpectObject();
        var points = new List<PointVectors>();
        foreach (var item in body.Required("points").Items())
        {
            item.ExpectObject();
            var vector = item.TryGet("vector", out var v) ? v : item.Required("vectors");
            var (dense, sparse) = PointJson.ParseVectors(vector);
            if (dense.Count == 0 && (sparse is null || sparse.Count == 0))
            {
                throw vector.Invalid("must specify vectors to update for point");
            }

            points.Add(new PointVectors(PointJson.ParseId(item.Required("id")), dense, sparse));
        }

        if (points.Count == 0)
        {
            throw body.Invalid("points: must contain at least 1 item");
        }

        if (points.Count > maxBatch)
        {
            throw body.Invalid($"too many points in one request: {points.Count}, the limit is {maxBatch}");
        }

        return new UpdateVectorsOperation(points, FilterJson.ParseOptional(body, "update_filter"));
    }

    public static UpdateOperation ParseDeleteVectors(JsonInput body)
    {
        body.ExpectObject();
        var names = body.Required("vector").AsStringList();
        if (names.Count == 0)
        {
            throw body.Invalid("vector: must contain at least 1 item");
        }

        return new DeleteVectorsOperation(PointJson.ParseSelector(body), names);
    }

    /// <summary><c>{"operations": [{"upsert": {...}}, {"delete": {...}}, ...]}</c>.</summary>
    public static IReadOnlyList<UpdateOperation> ParseBatch(JsonInput body, int maxBatch)
    {
        body.ExpectObject();
        var operations = new List<UpdateOperation>();
        foreach (var item in body.Required("operations").Items())
        {
            item.ExpectObject();
            var property = item.Element.EnumerateObject().FirstOrDefault();
            if (property.Name is null || item.Element.EnumerateObject().Count() != 1)
            {
                throw item.Error("each operation must be an object with exactly one key");
            }

            var inner = new JsonInput(property.Value, $"{item.Path}.{property.Name}");
            operations.Add(property.Name switch
            {
                "upsert" => ParseUpsert(inner, maxBatch),
                "delete" => new DeletePointsOperation(PointJson.ParseSelector(inner)),
                "set_payload" => ParseSetPayload(inner, overwrite: false),
                "overwrite_payload" => ParseSetPayload(inner, overwrite: true),
                "delete_payload" => ParseDeletePayload(inner),
                "clear_payload" => new ClearPayloadOperation(PointJson.ParseSelector(inner)),
                "update_vectors" => ParseUpdateVectors(inner, maxBatch),
                "delete_vectors" => ParseDeleteVectors(inner),
                var other => throw item.Error($"unknown variant `{other}`, expected one of `upsert`, `delete`, `set_payload`, `overwrite_payload`, `delete_payload`, `clear_payload`, `update_vectors`, `delete_vectors`"),
            });
        }

        return operations;
    }

    public static IReadOnlyList<AliasOperation> ParseAliases(JsonInput body)
    {
        body.ExpectObject();
        var actions = new List<AliasOperation>();
        foreach (var item in body.Required("actions").Items())
        {
            item.ExpectObject();
            if (item.TryGet("create_alias", out var create))
            {
                actions.Add(new CreateAlias(create.Required("collection_name").AsString(), create.Required("alias_name").AsString()));
            }
            else if (item.TryGet("delete_alias", out var delete))
            {
                actions.Add(new DeleteAlias(delete.Required("alias_name").AsString()));
            }
            else if (item.TryGet("rename_alias", out var rename))
            {
                actions.Add(new RenameAlias(rename.Required("old_alias_name").AsString(), rename.Required("new_alias_name").AsString()));
            }
            else
            {
                throw item.Error("expected one of `create_alias`, `delete_alias`, `rename_alias`");
            }
        }

        return actions;
    }
}
