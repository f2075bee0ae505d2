using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;

namespace Vectorizer.Server.Application;

/// <summary>
/// Enforces a collection's <see cref="StrictModeSettings"/> on client requests, before they reach the engine (the
/// application services call it, so REST, gRPC and MCP are bound alike; the server's own ingestion is not). A request
/// over a limit is refused with 403 and a message naming the limit, as Qdrant does, and changes nothing.
/// </summary>
public static class StrictMode
{
    public static void CheckQuery(Collection collection, QueryRequest request)
    {
        if (Settings(collection) is { } strict)
        {
            CheckQuery(collection, strict, request);
        }
    }

    public static void CheckQueryBatch(Collection collection, IReadOnlyList<QueryRequest> requests)
    {
        if (Settings(collection) is not { } strict)
        {
            return;
        }

        Limit(requests.Count, strict.SearchMaxBatchsize, "batch size");
        foreach (var request in requests)
        {
            CheckQuery(collection, strict, request);
        }
    }

    public static void CheckScroll(Collection collection, ScrollRequest request)
    {
        if (Settings(collection) is { } strict)
        {
            Limit(request.Limit, strict.MaxQueryLimit, "limit");
            CheckFilter(collection, strict, request.Filter, strict.UnindexedFilteringRetrieve);
        }
    }

    public static void CheckCount(Collection collection, Filter? filter)
    {
        if (Settings(collection) is { } strict)
        {
            CheckFilter(collection, strict, filter, strict.UnindexedFilteringRetrieve);
        }
    }

    public static void CheckUpdate(Collection collection, UpdateOperation operation)
    {
        if (Settings(collection) is not { } strict)
        {
            return;
        }

        switch (operation)
        {
            case UpsertOperation upsert:
                Limit(upsert.Points.Count, strict.UpsertMaxBatchsize, "upsert batch size");
                if (strict.MaxPointsCount is { } maxPoints && collection.PointCount + upsert.Points.Count > maxPoints)
                {
                    throw Refused($"Max points count exceeded: the collection holds {collection.PointCount} points, " +
                        $"this upsert adds up to {upsert.Points.Count} and max_points_count is {maxPoints}");
                }

                CheckFilter(collection, strict, upsert.UpdateFilter, strict.UnindexedFilteringUpdate);
                break;
            case UpdateVectorsOperation vectors:
                Limit(vectors.Points.Count, strict.UpsertMaxBatchsize, "update batch size");
                CheckFilter(collection, strict, vectors.UpdateFilter, strict.UnindexedFilteringUpdate);
                break;
            case DeletePointsOperation delete:
                CheckSelector(collection, strict, delete.Selector);
                break;
            case SetPayloadOperation set:
                CheckSelector(collection, strict, set.Selector);
                break;
            case OverwritePayloadOperation overwrite:
                CheckSelector(collection, strict, overwrite.Selector);
                break;
            case DeletePayloadOperation deletePayload:
                CheckSelector(collection, strict, deletePayload.Selector);
                break;
            case ClearPayloadOperation clear:
                CheckSelector(collection, strict, clear.Selector);
                break;
            case DeleteVectorsOperation deleteVectors:
                CheckSelector(collection, strict, deleteVectors.Selector);
                break;
        }
    }

    public static void CheckCreatePayloadIndex(Collection collection, string field)
    {
        if (Settings(collection) is { MaxPayloadIndexCount: { } max } && !collection.Config.PayloadSchema.ContainsKey(field)
            && collection.Config.PayloadSchema.Count >= max)
        {
            throw Refused($"Limit exceeded {collection.Config.PayloadSchema.Count + 1} > {max} for \"max_payload_index_count\"");
        }
    }

    private static StrictModeSettings? Settings(Collection collection) =>
        collection.Config.StrictMode is { IsEnabled: true } strict ? strict : null;

    private static void CheckQuery(Collection collection, StrictModeSettings strict, QueryRequest request)
    {
        Limit(request.Limit, strict.MaxQueryLimit, "limit");
        if (request.HnswEf is { } ef)
        {
            Limit(ef, strict.SearchMaxHnswEf, "hnsw_ef");
        }

        if (request.Exact && strict.SearchAllowExact == false)
        {
            throw Refused("Exact search disabled!");
        }

        if (request.Quantization is { } quantization && strict.SearchMaxOversampling is { } maxOversampling && quantization.Oversampling > maxOversampling)
        {
            throw Refused($"Limit exceeded {quantization.Oversampling} > {maxOversampling} for \"oversampling\"");
        }

        CheckFilter(collection, strict, request.Filter, strict.UnindexedFilteringRetrieve);
        foreach (var prefetch in request.Prefetch)
        {
            CheckQuery(collection, strict, prefetch);
        }
    }

    private static void CheckSelector(Collection collection, StrictModeSettings strict, PointSelector selector)
    {
        if (selector.Ids is { } ids)
        {
            Limit(ids.Count, strict.ConditionMaxSize, "points selector size");
        }

        CheckFilter(collection, strict, selector.Filter, strict.UnindexedFilteringUpdate);
    }

    private static void CheckFilter(Collection collection, StrictModeSettings strict, Filter? filter, bool? unindexedAllowed)
    {
        if (filter is null)
        {
            return;
        }

        if (strict.FilterMaxConditions is { } maxConditions)
        {
            var count = CountConditions(filter);
            Limit(count, maxConditions, "filter conditions");
        }

        var schema = collection.Config.PayloadSchema;
        Walk(filter, "", condition =>
        {
            if (strict.ConditionMaxSize is { } maxSize)
            {
                var size = condition switch
                {
                    HasIdCondition hasId => hasId.Ids.Count,
                    FieldCondition { Match: { } match } => (match.Keywords?.Count ?? 0) + (match.Integers?.Count ?? 0),
                    _ => 0,
                };
                Limit(size, maxSize, "condition size");
            }

            if (unindexedAllowed == false && RequiredIndex(condition) is ({ } key, var types)
                && !(schema.TryGetValue(key, out var field) && (types.Length == 0 || types.Contains(field.Type))))
            {
                var wanted = types.Length == 0 ? "any type" : $"one of the following types: [{string.Join(", ", types.Select(t => t.ToString().ToLowerInvariant()))}]";
                throw Refused($"Index required but not found for \"{key}\" of {wanted}. Help: Create an index for this key or use a different filter.");
            }
        });
    }

    /// <summary>Calls <paramref name="visit"/> for every leaf condition, with nested keys spelled as Qdrant indexes them (<c>a[].b</c>).</summary>
    private static void Walk(Filter filter, string prefix, Action<Condition> visit)
    {
        foreach (var list in new[] { filter.Must, filter.Should, filter.MustNot, filter.MinShould?.Conditions })
        {
            if (list is null)
            {
                continue;
            }

            foreach (var condition in list)
            {
                switch (condition)
                {
                    case FilterCondition inner:
                        Walk(inner.Filter, prefix, visit);
                        break;
                    case NestedCondition nested:
                        Walk(nested.Filter, $"{prefix}{nested.Key.Text}[].", visit);
                        break;
                    default:
                        visit(prefix.Length == 0 ? condition : Prefixed(condition, prefix));
                        break;
                }
            }
        }
    }

    private static Condition Prefixed(Condition condition, string prefix) => condition switch
    {
        FieldCondition field => new FieldCondition(JsonPath.Parse(prefix + field.Key.Text))
        {
            Match = field.Match,
            Range = field.Range,
            DatetimeRange = field.DatetimeRange,
            ValuesCount = field.ValuesCount,
            Geo = field.Geo,
            IsEmpty = field.IsEmpty,
            IsNull = field.IsNull,
        },
        IsEmptyCondition empty => new IsEmptyCondition(JsonPath.Parse(prefix + empty.Key.Text)),
        IsNullCondition isNull => new IsNullCondition(JsonPath.Parse(prefix + isNull.Key.Text)),
        _ => condition,
    };

    /// <summary>The payload key a condition reads and the index types that can answer it (empty: any index on the key).</summary>
    private static (string? Key, PayloadSchemaType[] Types) RequiredIndex(Condition condition) => condition switch
    {
        FieldCondition { Match: { } match } field => (field.Key.Text, match.Kind switch
        {
            MatchKind.Text or MatchKind.TextAny or MatchKind.Phrase => [PayloadSchemaType.Text],
            MatchKind.Prefix => [PayloadSchemaType.Keyword, PayloadSchemaType.Text],
            _ when match.Value.Integer is not null || match.Integers is { Count: > 0 } => [PayloadSchemaType.Integer],
            _ when match.Value.Boolean is not null => [PayloadSchemaType.Bool],
            _ => [PayloadSchemaType.Keyword, PayloadSchemaType.Uuid],
        }),
        FieldCondition { Range: not null } field => (field.Key.Text, [PayloadSchemaType.Integer, PayloadSchemaType.Float, PayloadSchemaType.Datetime]),
        FieldCondition { DatetimeRange: not null } field => (field.Key.Text, [PayloadSchemaType.Datetime]),
        FieldCondition { Geo: not null } field => (field.Key.Text, [PayloadSchemaType.Geo]),
        FieldCondition field => (field.Key.Text, []),
        IsEmptyCondition empty => (empty.Key.Text, []),
        IsNullCondition isNull => (isNull.Key.Text, []),
        _ => (null, []),
    };

    private static long CountConditions(Filter filter)
    {
        long count = 0;
        foreach (var list in new[] { filter.Must, filter.Should, filter.MustNot, filter.MinShould?.Conditions })
        {
            foreach (var condition in list ?? [])
            {
                count += condition switch
                {
                    FilterCondition inner => CountConditions(inner.Filter),
                    NestedCondition nested => CountConditions(nested.Filter),
                    _ => 1,
                };
            }
        }

        return count;
    }

    private static void Limit(long value, long? max, string name)
    {
        if (max is { } limit && value > limit)
        {
            throw Refused($"Limit exceeded {value} > {limit} for \"{name}\"");
        }
    }

    private static VectorizerException Refused(string message) =>
        new(ErrorCode.Forbidden, $"Forbidden: strict mode: {message}");
}
