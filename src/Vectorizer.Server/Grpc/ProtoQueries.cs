using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Filters;
using Vectorizer.Server.Application;
using P = Vectorizer.Server.Grpc.Protos;

namespace Vectorizer.Server.Grpc;

/// <summary>Searches, queries and scrolls: Qdrant's gRPC requests to the engine's <see cref="QueryRequest"/> and <see cref="ScrollRequest"/>.</summary>
internal static class ProtoQueries
{
    /// <summary>The deprecated <c>Search</c>: nearest neighbours of a dense vector (or a sparse one, with <c>sparse_indices</c>).</summary>
    public static QueryRequest Search(P.SearchPoints search)
    {
        NoShardKey(search.ShardKeySelector);
        ProtoPoints.CheckParams(search.Params);
        QueryInput query = search.SparseIndices is { } indices
            ? new SparseVectorQuery(Engine.Sparse.SparseVector.Create([.. indices.Data], [.. search.Vector], "query"))
            : new DenseVectorQuery([.. search.Vector]);
        return new QueryRequest
        {
            Query = query,
            Using = search.HasVectorName ? search.VectorName : "",
            Filter = ProtoFilters.Optional(search.Filter),
            HnswEf = ProtoPoints.HnswEf(search.Params),
            Exact = search.Params is { HasExact: true, Exact: true },
            Quantization = ProtoPoints.Quantization(search.Params),
            Limit = ProtoPoints.Int(search.Limit, "limit", min: 1),
            Offset = search.HasOffset ? ProtoPoints.Int(search.Offset, "offset") : 0,
            ScoreThreshold = search.HasScoreThreshold ? search.ScoreThreshold : null,
            WithPayload = ProtoPoints.WithPayload(search.WithPayload, fallback: false),
            WithVector = ProtoPoints.WithVectors(search.WithVectors),
        };
    }

    public static QueryRequest Query(P.QueryPoints query)
    {
        NoShardKey(query.ShardKeySelector);
        ProtoPoints.CheckParams(query.Params);
        return new QueryRequest
        {
            Prefetch = [.. query.Prefetch.Select(p => Prefetch(p, 1))],
            Query = query.Query is { } q ? Input(q) : null,
            Using = query.HasUsing ? query.Using : "",
            Filter = ProtoFilters.Optional(query.Filter),
            HnswEf = ProtoPoints.HnswEf(query.Params),
            Exact = query.Params is { HasExact: true, Exact: true },
            Quantization = ProtoPoints.Quantization(query.Params),
            Limit = query.HasLimit ? ProtoPoints.Int(query.Limit, "limit", min: 1) : 10,
            Offset = query.HasOffset ? ProtoPoints.Int(query.Offset, "offset") : 0,
            ScoreThreshold = query.HasScoreThreshold ? query.ScoreThreshold : null,
            WithPayload = ProtoPoints.WithPayload(query.WithPayload, fallback: false),
            WithVector = ProtoPoints.WithVectors(query.WithVectors),
            LookupFrom = Lookup(query.LookupFrom),
        };
    }

    /// <summary>
    /// <c>QueryPointGroups</c>: the query part (as <see cref="Query(P.QueryPoints)"/>) and the grouping (<c>group_by</c>,
    /// <c>group_size</c> 3, <c>limit</c> 10 groups, <c>with_lookup</c>).
    /// </summary>
    public static (GroupsRequest Request, GroupLookup? Lookup) QueryGroups(P.QueryPointGroups groups)
    {
        NoShardKey(groups.ShardKeySelector);
        ProtoPoints.CheckParams(groups.Params);
        var query = new QueryRequest
        {
            Prefetch = [.. groups.Prefetch.Select(p => Prefetch(p, 1))],
            Query = groups.Query is { } q ? Input(q) : null,
            Using = groups.HasUsing ? groups.Using : "",
            Filter = ProtoFilters.Optional(groups.Filter),
            HnswEf = ProtoPoints.HnswEf(groups.Params),
            Exact = groups.Params is { HasExact: true, Exact: true },
            Quantization = ProtoPoints.Quantization(groups.Params),
            ScoreThreshold = groups.HasScoreThreshold ? groups.ScoreThreshold : null,
            WithPayload = ProtoPoints.WithPayload(groups.WithPayload, fallback: false),
            WithVector = ProtoPoints.WithVectors(groups.WithVectors),
            LookupFrom = Lookup(groups.LookupFrom),
        };
        return Groups(
            query,
            groups.GroupBy,
            groups.HasGroupSize ? ProtoPoints.Int(groups.GroupSize, "group_size", min: 1) : 3,
            groups.HasLimit ? ProtoPoints.Int(groups.Limit, "limit", min: 1) : 10,
            groups.WithLookup);
    }

    /// <summary>A query grouped by the payload field <paramref name="groupBy"/>, with the groups' lookup.</summary>
    public static (GroupsRequest Request, GroupLookup? Lookup) Groups(QueryRequest query, string groupBy, int groupSize, int limit, P.WithLookup? withLookup)
    {
        if (groupBy.Length == 0)
        {
            throw VectorizerException.Validation("group_by: must not be empty");
        }

        var lookup = withLookup is null ? null : new GroupLookup(
            withLookup.Collection,
            ProtoPoints.WithPayload(withLookup.WithPayload, fallback: true),
            ProtoPoints.WithVectors(withLookup.WithVectors));
        return (new GroupsRequest(query with { Limit = limit, Offset = 0 }, ProtoValues.Key(groupBy, "group_by"), groupSize, limit), lookup);
    }

    /// <summary>The deprecated <c>Recommend</c>: examples as point ids or vectors, a strategy, the usual search options.</summary>
    public static QueryRequest Recommend(P.RecommendPoints recommend)
    {
        NoShardKey(recommend.ShardKeySelector);
        ProtoPoints.CheckParams(recommend.Params);
        var positive = Examples(recommend.Positive, recommend.PositiveVectors);
        var negative = Examples(recommend.Negative, recommend.NegativeVectors);
        return new QueryRequest
        {
            Query = new RecommendQuery(positive, negative, Strategy(recommend.HasStrategy, recommend.Strategy)),
            Using = recommend.HasUsing ? recommend.Using : "",
            Filter = ProtoFilters.Optional(recommend.Filter),
            HnswEf = ProtoPoints.HnswEf(recommend.Params),
            Exact = recommend.Params is { HasExact: true, Exact: true },
            Quantization = ProtoPoints.Quantization(recommend.Params),
            Limit = ProtoPoints.Int(recommend.Limit, "limit", min: 1),
            Offset = recommend.HasOffset ? ProtoPoints.Int(recommend.Offset, "offset") : 0,
            ScoreThreshold = recommend.HasScoreThreshold ? recommend.ScoreThreshold : null,
            WithPayload = ProtoPoints.WithPayload(recommend.WithPayload, fallback: false),
            WithVector = ProtoPoints.WithVectors(recommend.WithVectors),
            LookupFrom = Lookup(recommend.LookupFrom),
        };
    }

    public static (GroupsRequest Request, GroupLookup? Lookup) RecommendGroups(P.RecommendPointGroups recommend)
    {
        NoShardKey(recommend.ShardKeySelector);
        ProtoPoints.CheckParams(recommend.Params);
        var query = new QueryRequest
        {
            Query = new RecommendQuery(
                Examples(recommend.Positive, recommend.PositiveVectors),
                Examples(recommend.Negative, recommend.NegativeVectors),
                Strategy(recommend.HasStrategy, recommend.Strategy)),
            Using = recommend.HasUsing ? recommend.Using : "",
            Filter = ProtoFilters.Optional(recommend.Filter),
            HnswEf = ProtoPoints.HnswEf(recommend.Params),
            Exact = recommend.Params is { HasExact: true, Exact: true },
            Quantization = ProtoPoints.Quantization(recommend.Params),
            ScoreThreshold = recommend.HasScoreThreshold ? recommend.ScoreThreshold : null,
            WithPayload = ProtoPoints.WithPayload(recommend.WithPayload, fallback: false),
            WithVector = ProtoPoints.WithVectors(recommend.WithVectors),
            LookupFrom = Lookup(recommend.LookupFrom),
        };
        return Groups(query, recommend.GroupBy, ProtoPoints.Int(recommend.GroupSize, "group_size", min: 1), ProtoPoints.Int(recommend.Limit, "limit", min: 1), recommend.WithLookup);
    }

    /// <summary>The deprecated <c>Discover</c>: a target (optional: without it, a context search) and context pairs.</summary>
    public static QueryRequest Discover(P.DiscoverPoints discover)
    {
        NoShardKey(discover.ShardKeySelector);
        ProtoPoints.CheckParams(discover.Params);
        var pairs = discover.Context.Select(p => new ContextPair(Example(p.Positive, "context.positive"), Example(p.Negative, "context.negative"))).ToList();
        QueryInput query = discover.Target?.Single is { } target
            ? new DiscoverQuery(Example(target, "target"), pairs)
            : pairs.Count > 0 ? new ContextQuery(pairs) : throw VectorizerException.Validation("target or context: at least one of them must be given");
        return new QueryRequest
        {
            Query = query,
            Using = discover.HasUsing ? discover.Using : "",
            Filter = ProtoFilters.Optional(discover.Filter),
            HnswEf = ProtoPoints.HnswEf(discover.Params),
            Exact = discover.Params is { HasExact: true, Exact: true },
            Quantization = ProtoPoints.Quantization(discover.Params),
            Limit = ProtoPoints.Int(discover.Limit, "limit", min: 1),
            Offset = discover.HasOffset ? ProtoPoints.Int(discover.Offset, "offset") : 0,
            WithPayload = ProtoPoints.WithPayload(discover.WithPayload, fallback: false),
            WithVector = ProtoPoints.WithVectors(discover.WithVectors),
            LookupFrom = Lookup(discover.LookupFrom),
        };
    }

    public static FacetRequest Facet(P.FacetCounts facet)
    {
        NoShardKey(facet.ShardKeySelector);
        return new FacetRequest(
            ProtoValues.Key(facet.Key),
            ProtoFilters.Optional(facet.Filter),
            facet.HasLimit ? ProtoPoints.Int(facet.Limit, "limit", min: 1) : 10,
            facet.HasExact && facet.Exact);
    }

    public static SearchMatrixRequest SearchMatrix(P.SearchMatrixPoints matrix)
    {
        NoShardKey(matrix.ShardKeySelector);
        return new SearchMatrixRequest(
            ProtoFilters.Optional(matrix.Filter),
            matrix.HasSample ? ProtoPoints.Int(matrix.Sample, "sample", min: 2) : 10,
            matrix.HasLimit ? ProtoPoints.Int(matrix.Limit, "limit", min: 1) : 3,
            matrix.HasUsing ? matrix.Using : "");
    }

    private static RecommendStrategy Strategy(bool has, P.RecommendStrategy strategy) => !has ? RecommendStrategy.AverageVector : strategy switch
    {
        P.RecommendStrategy.BestScore => RecommendStrategy.BestScore,
        P.RecommendStrategy.SumScores => RecommendStrategy.SumScores,
        _ => RecommendStrategy.AverageVector,
    };

    private static List<QueryInput> Examples(IEnumerable<P.PointId> ids, IEnumerable<P.Vector> vectors)
    {
        var examples = new List<QueryInput>();
        examples.AddRange(ids.Select(id => (QueryInput)new PointIdQuery(ProtoValues.Id(id))));
        examples.AddRange(vectors.Select(v => Example(v, "example")));
        return examples;
    }

    private static QueryInput Example(P.Vector vector, string what)
    {
        var (dense, sparse) = ProtoPoints.Vector(vector, what);
        return sparse is not null ? new SparseVectorQuery(sparse) : new DenseVectorQuery(dense!);
    }

    private static QueryInput Example(P.VectorExample? example, string what) => example?.ExampleCase switch
    {
        P.VectorExample.ExampleOneofCase.Id => new PointIdQuery(ProtoValues.Id(example.Id)),
        P.VectorExample.ExampleOneofCase.Vector => Example(example.Vector, what),
        _ => throw VectorizerException.BadRequest($"{what}: a point id or a vector is required"),
    };

    private static LookupLocation? Lookup(P.LookupLocation? lookup)
    {
        if (lookup is null)
        {
            return null;
        }

        NoShardKey(lookup.ShardKeySelector);
        return new LookupLocation(lookup.CollectionName, lookup.HasVectorName ? lookup.VectorName : null);
    }

    private static QueryRequest Prefetch(P.PrefetchQuery prefetch, int depth)
    {
        if (depth > 16)
        {
            throw VectorizerException.BadRequest("prefetch nests deeper than 16 levels");
        }

        ProtoPoints.CheckParams(prefetch.Params);
        return new QueryRequest
        {
            Prefetch = [.. prefetch.Prefetch.Select(p => Prefetch(p, depth + 1))],
            Query = prefetch.Query is { } q ? Input(q) : null,
            Using = prefetch.HasUsing ? prefetch.Using : "",
            Filter = ProtoFilters.Optional(prefetch.Filter),
            HnswEf = ProtoPoints.HnswEf(prefetch.Params),
            Exact = prefetch.Params is { HasExact: true, Exact: true },
            Quantization = ProtoPoints.Quantization(prefetch.Params),
            Limit = prefetch.HasLimit ? ProtoPoints.Int(prefetch.Limit, "prefetch.limit", min: 1) : 10,
            ScoreThreshold = prefetch.HasScoreThreshold ? prefetch.ScoreThreshold : null,
            LookupFrom = Lookup(prefetch.LookupFrom),
        };
    }

    private static QueryInput Input(P.Query query) => query.VariantCase switch
    {
        P.Query.VariantOneofCase.Nearest => Nearest(query.Nearest),
        P.Query.VariantOneofCase.Fusion => new FusionQuery(query.Fusion == P.Fusion.Dbsf ? FusionMethod.Dbsf : FusionMethod.Rrf),
        P.Query.VariantOneofCase.Rrf => new FusionQuery(
            FusionMethod.Rrf,
            query.Rrf.HasK ? (query.Rrf.K >= 1 ? (int)Math.Min(query.Rrf.K, int.MaxValue) : throw VectorizerException.Validation("rrf.k: value must be 1 or larger")) : FusionQuery.DefaultRrfK,
            query.Rrf.Weights.Count > 0 ? [.. query.Rrf.Weights] : null),
        P.Query.VariantOneofCase.OrderBy => new OrderByQuery(OrderBy(query.OrderBy)),
        P.Query.VariantOneofCase.Sample => SampleQuery.Random,
        P.Query.VariantOneofCase.Recommend => new RecommendQuery(
            [.. query.Recommend.Positive.Select(v => Nearest(v))],
            [.. query.Recommend.Negative.Select(v => Nearest(v))],
            Strategy(query.Recommend.HasStrategy, query.Recommend.Strategy)),
        P.Query.VariantOneofCase.Discover => new DiscoverQuery(
            query.Discover.Target is { } target ? Nearest(target) : throw VectorizerException.BadRequest("discover.target: a vector or a point id is required"),
            Pairs(query.Discover.Context)),
        P.Query.VariantOneofCase.Context => new ContextQuery(Pairs(query.Context)),
        P.Query.VariantOneofCase.None => throw VectorizerException.BadRequest("query: a variant is required"),
        var other => throw VectorizerException.BadRequest($"Query type `{Name(other)}` is not supported yet"),
    };

    private static string Name(P.Query.VariantOneofCase variant) => variant switch
    {
        P.Query.VariantOneofCase.NearestWithMmr => "nearest_with_mmr",
        P.Query.VariantOneofCase.RelevanceFeedback => "relevance_feedback",
        _ => variant.ToString().ToLowerInvariant(),
    };

    private static List<ContextPair> Pairs(P.ContextInput? context) =>
        context is null ? [] : [.. context.Pairs.Select(p => new ContextPair(
            p.Positive is { } positive ? Nearest(positive) : throw VectorizerException.BadRequest("context.positive: a vector or a point id is required"),
            p.Negative is { } negative ? Nearest(negative) : throw VectorizerException.BadRequest("context.negative: a vector or a point id is required")))];

    private static QueryInput Nearest(P.VectorInput input)
    {
        if (input.VariantCase == P.VectorInput.VariantOneofCase.Id)
        {
            return new PointIdQuery(ProtoValues.Id(input.Id));
        }

        var (dense, sparse) = ProtoPoints.VectorInput(input, "query.nearest");
        return sparse is not null ? new SparseVectorQuery(sparse) : new DenseVectorQuery(dense!);
    }

    public static ScrollRequest Scroll(P.ScrollPoints scroll)
    {
        NoShardKey(scroll.ShardKeySelector);
        var request = new ScrollRequest
        {
            Filter = ProtoFilters.Optional(scroll.Filter),
            Limit = scroll.HasLimit ? ProtoPoints.Int(scroll.Limit, "limit", min: 1) : 10,
            Offset = scroll.Offset is { } offset ? ProtoValues.Id(offset) : null,
            WithPayload = ProtoPoints.WithPayload(scroll.WithPayload, fallback: true),
            WithVector = ProtoPoints.WithVectors(scroll.WithVectors),
            OrderBy = scroll.OrderBy is { } orderBy ? OrderBy(orderBy) : null,
        };
        return request.OrderBy is not null && request.Offset is not null
            ? throw VectorizerException.BadRequest("Cannot use an `offset` when using `order_by`. The alternative for paging is to use `order_by.start_from` and a filter to exclude the IDs that you've already seen for the `order_by.start_from` value")
            : request;
    }

    private static OrderBy OrderBy(P.OrderBy orderBy)
    {
        double? start = null;
        if (orderBy.StartFrom is { } from)
        {
            start = from.ValueCase switch
            {
                P.StartFrom.ValueOneofCase.Float => from.Float,
                P.StartFrom.ValueOneofCase.Integer => from.Integer,
                P.StartFrom.ValueOneofCase.Timestamp => Micros(from.Timestamp.ToDateTimeOffset()),
                P.StartFrom.ValueOneofCase.Datetime => FilterEvaluator.TryParseDatetime(from.Datetime, out var at)
                    ? Micros(at)
                    : throw VectorizerException.BadRequest($"order_by.start_from: invalid datetime `{from.Datetime}`"),
                _ => null,
            };
        }

        return new OrderBy(ProtoValues.Key(orderBy.Key, "order_by.key"), orderBy.HasDirection && orderBy.Direction == P.Direction.Desc, start);
    }

    private static double Micros(DateTimeOffset at) => (at.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / 10;

    public static void NoShardKey(P.ShardKeySelector? selector)
    {
        if (selector is { ShardKeys.Count: > 0 })
        {
            throw VectorizerException.BadRequest("shard_key_selector: a single node has no shard keys");
        }
    }
}
