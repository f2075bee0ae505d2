using System.Text.Json;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Payload;
using Vectorizer.Server.Application;

namespace Vectorizer.Server.Api.Qdrant.Json;

/// <summary>
/// Qdrant's search-family bodies as engine requests: the legacy <c>search</c>, <c>recommend</c> and <c>discover</c>
/// endpoints (forms of the universal query), their <c>batch</c> and <c>groups</c> variants, <c>query/groups</c>,
/// <c>facet</c> and the search matrix.
/// </summary>
internal static class SearchJson
{
    /// <summary><c>SearchRequest</c>: <c>vector</c> (a dense vector, <c>{"name", "vector"}</c>, or a named sparse vector) and the usual options.</summary>
    public static QueryRequest ParseSearch(JsonInput body, bool grouped = false)
    {
        body.ExpectObject();
        var (name, query) = ParseNamedVector(body.Required("vector"));
        return Common(body, grouped) with { Query = query, Using = name };
    }

    /// <summary><c>RecommendRequest</c>: <c>positive</c>, <c>negative</c> (ids or vectors), <c>strategy</c>, <c>using</c>, <c>lookup_from</c>.</summary>
    public static QueryRequest ParseRecommend(JsonInput body, bool grouped = false)
    {
        body.ExpectObject();
        return Common(body, grouped) with
        {
            Query = RequestJson.ParseRecommendInput(body),
            Using = body.TryGet("using", out var use) ? use.AsString() : "",
            LookupFrom = RequestJson.ParseLookupFrom(body),
        };
    }

    /// <summary><c>DiscoverRequest</c>: <c>target</c> (optional: without it, a context search) and <c>context</c> pairs.</summary>
    public static QueryRequest ParseDiscover(JsonInput body)
    {
        body.ExpectObject();
        var pairs = RequestJson.ParsePairs(body, "context");
        QueryInput query = body.TryGet("target", out var target)
            ? new DiscoverQuery(RequestJson.ParseVectorInput(target), pairs)
            : pairs.Count > 0 ? new ContextQuery(pairs) : throw body.Invalid("target or context: at least one of them must be given");
        return Common(body, grouped: false) with
        {
            Query = query,
            Using = body.TryGet("using", out var use) ? use.AsString() : "",
            LookupFrom = RequestJson.ParseLookupFrom(body),
        };
    }

    /// <summary><c>{"searches": [...]}</c> of any of the request kinds above.</summary>
    public static List<QueryRequest> ParseBatch(JsonInput body, Func<JsonInput, QueryRequest> parse)
    {
        body.ExpectObject();
        var requests = new List<QueryRequest>();
        foreach (var item in body.Required("searches").Items())
        {
            requests.Add(parse(item));
        }

        return requests;
    }

    /// <summary>
    /// The grouping part of <c>search/groups</c>, <c>recommend/groups</c> and <c>query/groups</c>: <c>group_by</c>,
    /// <c>group_size</c> (3), <c>limit</c> of groups (10), and <c>with_lookup</c> (a collection name, or
    /// <c>{"collection", "with_payload" (true), "with_vectors" (false)}</c>).
    /// </summary>
    public static (GroupsRequest Request, GroupLookup? Lookup) ParseGroups(JsonInput body, QueryRequest query)
    {
        var groupByInput = body.Required("group_by");
        var groupBy = groupByInput.AsString();
        if (groupBy.Length == 0)
        {
            throw groupByInput.Invalid("must not be empty");
        }

        if (!JsonPath.TryParse(groupBy, out var path, out var error))
        {
            throw groupByInput.Error($"invalid payload key `{groupBy}`: {error}");
        }

        var groupSize = body.TryGet("group_size", out var size) ? RequestJson.ParseLimit(size) : 3;
        var limit = body.TryGet("limit", out var l) ? RequestJson.ParseLimit(l) : 10;
        GroupLookup? lookup = null;
        if (body.TryGet("with_lookup", out var withLookup))
        {
            lookup = withLookup.Kind == JsonValueKind.String
                ? new GroupLookup(withLookup.AsString(), PayloadSelector.All, VectorSelector.None)
                : new GroupLookup(
                    withLookup.ExpectObject().Required("collection").AsString(),
                    PointJson.ParseWithPayload(withLookup, "with_payload", fallback: true),
                    PointJson.ParseWithVector(withLookup, fallback: false));
        }

        return (new GroupsRequest(query with { Limit = limit, Offset = 0 }, path, groupSize, limit), lookup);
    }

    /// <summary><c>FacetRequest</c>: <c>key</c>, <c>filter</c>, <c>limit</c> (10), <c>exact</c>.</summary>
    public static FacetRequest ParseFacet(JsonInput body)
    {
        body.ExpectObject();
        var keyInput = body.Required("key");
        var key = keyInput.AsString();
        return new FacetRequest(
            JsonPath.TryParse(key, out var path, out var error) ? path : throw keyInput.Error($"invalid payload key `{key}`: {error}"),
            FilterJson.ParseOptional(body, "filter"),
            body.TryGet("limit", out var limit) ? RequestJson.ParseLimit(limit) : 10,
            body.TryGet("exact", out var exact) && exact.AsBool());
    }

    /// <summary><c>SearchMatrixRequest</c>: <c>filter</c>, <c>sample</c> (10, at least 2), <c>limit</c> (3), <c>using</c>.</summary>
    public static SearchMatrixRequest ParseSearchMatrix(JsonInput body)
    {
        body.ExpectObject();
        var sample = body.TryGet("sample", out var s) ? RequestJson.ParseLimit(s) : 10;
        if (sample < 2)
        {
            throw s.Invalid($"value {sample} invalid, must be 2 or larger");
        }

        return new SearchMatrixRequest(
            FilterJson.ParseOptional(body, "filter"),
            sample,
            body.TryGet("limit", out var limit) ? RequestJson.ParseLimit(limit) : 3,
            body.TryGet("using", out var use) ? use.AsString() : "");
    }

    /// <summary>What the legacy endpoints share: filter, params, limit (required unless grouped), offset, score threshold, output options.</summary>
    private static QueryRequest Common(JsonInput body, bool grouped)
    {
        if (body.Has("shard_key"))
        {
            throw VectorizerException.BadRequest("shard_key: shard keys do not exist on a single node");
        }

        var (hnswEf, exact, quantization) = RequestJson.ParseSearchParams(body);
        return new QueryRequest
        {
            Filter = FilterJson.ParseOptional(body, "filter"),
            HnswEf = hnswEf,
            Exact = exact,
            Quantization = quantization,
            Limit = grouped ? 1 : RequestJson.ParseLimit(body.Required("limit")),
            Offset = !grouped && body.TryGet("offset", out var offset) ? RequestJson.ParseOffset(offset) : 0,
            ScoreThreshold = body.TryGet("score_threshold", out var threshold) ? (float)threshold.AsDouble() : null,
            WithPayload = PointJson.ParseWithPayload(body, "with_payload", fallback: false),
            WithVector = PointJson.ParseWithVector(body, fallback: false),
        };
    }

    /// <summary><c>NamedVectorStruct</c>: a dense vector, <c>{"name", "vector": [...]}</c> or <c>{"name", "vector": {"indices", "values"}}</c>.</summary>
    private static (string Name, QueryInput Query) ParseNamedVector(JsonInput input)
    {
        if (input.Kind == JsonValueKind.Array)
        {
            return ("", new DenseVectorQuery(input.AsFloatArray()));
        }

        input.ExpectObject();
        var name = input.Required("name").AsString();
        var vector = input.Required("vector");
        return vector.Kind == JsonValueKind.Object
            ? (name, new SparseVectorQuery(PointJson.ParseSparse(vector, name)))
            : (name, new DenseVectorQuery(vector.AsFloatArray()));
    }
}
