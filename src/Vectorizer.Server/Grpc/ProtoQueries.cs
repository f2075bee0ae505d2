using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Filters;
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
        NoLookup(query.LookupFrom);
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
        };
    }

    private static QueryRequest Prefetch(P.PrefetchQuery prefetch, int depth)
    {
        if (depth > 16)
        {
            throw VectorizerException.BadRequest("prefetch nests deeper than 16 levels");
        }

        NoLookup(prefetch.LookupFrom);
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
        P.Query.VariantOneofCase.None => throw VectorizerException.BadRequest("query: a variant is required"),
        var other => throw VectorizerException.BadRequest($"Query type `{Name(other)}` is not supported yet"),
    };

    private static string Name(P.Query.VariantOneofCase variant) => variant switch
    {
        P.Query.VariantOneofCase.NearestWithMmr => "nearest_with_mmr",
        P.Query.VariantOneofCase.RelevanceFeedback => "relevance_feedback",
        _ => variant.ToString().ToLowerInvariant(),
    };

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

    private static void NoLookup(P.LookupLocation? lookup)
    {
        if (lookup is not null)
        {
            throw VectorizerException.BadRequest("`lookup_from` is not supported yet");
        }
    }
}
