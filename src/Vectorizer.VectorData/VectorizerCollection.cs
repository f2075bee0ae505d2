using System.Linq.Expressions;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;
using Microsoft.Extensions.VectorData.ProviderServices;

namespace Vectorizer.VectorData;

/// <summary>
/// A Vectorizer collection as a <see cref="VectorStoreCollection{TKey, TRecord}"/>: records are points (the key is the
/// point id, vectors are named vectors, data properties payload keys). Collections are created with named vectors;
/// a record type with a full-text-indexed string property also gets a BM25 sparse embedder on it, which
/// <see cref="HybridSearchAsync{TInput}"/> searches through Vectorizer's text search.
/// </summary>
public sealed class VectorizerCollection<TKey, TRecord> : VectorStoreCollection<TKey, TRecord>, IKeywordHybridSearchable<TRecord>
    where TKey : notnull
    where TRecord : class
{
    private const string Bm25Suffix = "_bm25";
    private readonly VectorizerRest rest;
    private readonly CollectionModel model;
    private readonly string path;

    internal VectorizerCollection(VectorizerRest rest, string name, VectorStoreCollectionDefinition? definition, IEmbeddingGenerator? generator)
    {
        this.rest = rest;
        Name = name;
        path = "/collections/" + Uri.EscapeDataString(name);
        var builder = new VectorizerModelBuilder();
        model = typeof(TRecord) == typeof(Dictionary<string, object?>)
            ? builder.BuildDynamic(definition ?? throw new ArgumentException("A dynamic collection needs a definition", nameof(definition)), generator)
            : builder.Build(typeof(TRecord), typeof(TKey), definition, generator);
        var keyType = Nullable.GetUnderlyingType(model.KeyProperty.Type) ?? model.KeyProperty.Type;
        if (typeof(TKey) != typeof(object) && typeof(TKey) != keyType)
        {
            throw new NotSupportedException($"TKey is {typeof(TKey).Name} but the key property is {keyType.Name}");
        }

        TextProperty = model.DataProperties.FirstOrDefault(p => p.IsFullTextIndexed && p.Type == typeof(string));
    }

    public override string Name { get; }

    /// <summary>The string property searched by keywords (the first one marked <c>IsFullTextIndexed</c>), if any.</summary>
    private DataPropertyModel? TextProperty { get; }

    private string? SparseVectorName => TextProperty is null ? null : TextProperty.StorageName + Bm25Suffix;

    // ------------------------------------------------------------------ collection

    public override Task<bool> CollectionExistsAsync(CancellationToken cancellationToken = default) => rest.ExistsAsync(Name, cancellationToken);

    public override async Task EnsureCollectionExistsAsync(CancellationToken cancellationToken = default)
    {
        if (await CollectionExistsAsync(cancellationToken).ConfigureAwait(false))
        {
            return;
        }

        var vectors = new JsonObject();
        foreach (var vector in model.VectorProperties)
        {
            vectors[vector.StorageName] = new JsonObject { ["size"] = vector.Dimensions, ["distance"] = Distance(vector) };
        }

        var body = new JsonObject { ["vectors"] = vectors };
        if (SparseVectorName is { } sparse)
        {
            body["embedding"] = new JsonObject { ["sparse"] = new JsonObject { ["provider"] = "bm25", ["vector"] = sparse } };
        }

        await rest.SendAsync(HttpMethod.Put, path, body, cancellationToken, Name, "EnsureCollectionExists").ConfigureAwait(false);
        foreach (var data in model.DataProperties.Where(p => p.IsIndexed))
        {
            var schema = Schema(data.Type);
            if (schema is not null)
            {
                await rest.SendAsync(HttpMethod.Put, path + "/index?wait=true", new JsonObject { ["field_name"] = data.StorageName, ["field_schema"] = schema }, cancellationToken, Name, "EnsureCollectionExists").ConfigureAwait(false);
            }
        }
    }

    private static string Distance(VectorPropertyModel vector) => vector.DistanceFunction switch
    {
        null or DistanceFunction.CosineSimilarity => "Cosine",
        DistanceFunction.DotProductSimilarity => "Dot",
        DistanceFunction.EuclideanDistance => "Euclid",
        DistanceFunction.ManhattanDistance => "Manhattan",
        var other => throw new NotSupportedException($"Distance function `{other}` is not supported by Vectorizer (Cosine, Dot, Euclid, Manhattan)"),
    };

    private static string? Schema(Type type)
    {
        var t = type.IsArray ? type.GetElementType()! : type;
        t = Nullable.GetUnderlyingType(t) ?? t;
        return t == typeof(string) ? "keyword"
            : t == typeof(int) || t == typeof(long) || t == typeof(short) || t == typeof(uint) ? "integer"
            : t == typeof(float) || t == typeof(double) || t == typeof(decimal) ? "float"
            : t == typeof(bool) ? "bool"
            : t == typeof(DateTime) || t == typeof(DateTimeOffset) ? "datetime"
            : t == typeof(Guid) ? "uuid"
            : null;
    }

    public override Task EnsureCollectionDeletedAsync(CancellationToken cancellationToken = default) =>
        rest.SendAsync(HttpMethod.Delete, path, null, cancellationToken, Name, "EnsureCollectionDeleted");

    // ------------------------------------------------------------------ records

    public override async Task<TRecord?> GetAsync(TKey key, RecordRetrievalOptions? options = null, CancellationToken cancellationToken = default)
    {
        await foreach (var record in GetAsync([key], options, cancellationToken).ConfigureAwait(false))
        {
            return record;
        }

        return null;
    }

    public override async IAsyncEnumerable<TRecord> GetAsync(IEnumerable<TKey> keys, RecordRetrievalOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var ids = new JsonArray([.. keys.Select(k => Id(k))]);
        if (ids.Count == 0)
        {
            yield break;
        }

        var body = new JsonObject { ["ids"] = ids, ["with_payload"] = true, ["with_vector"] = WithVectors(options?.IncludeVectors ?? false) };
        var result = await rest.SendAsync(HttpMethod.Post, path + "/points", body, cancellationToken, Name, "Get").ConfigureAwait(false);
        foreach (var point in result.EnumerateArray())
        {
            yield return ToRecord(point, options?.IncludeVectors ?? false);
        }
    }

    public override async IAsyncEnumerable<TRecord> GetAsync(Expression<Func<TRecord, bool>> filter, int top, FilteredRecordRetrievalOptions<TRecord>? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        if (options?.OrderBy is not null)
        {
            throw new NotSupportedException("OrderBy is not supported by the Vectorizer connector yet");
        }

        var skip = options?.Skip ?? 0;
        var body = new JsonObject
        {
            ["filter"] = new VectorizerFilterTranslator().Translate(filter, model),
            ["limit"] = top + skip,
            ["with_payload"] = true,
            ["with_vector"] = WithVectors(options?.IncludeVectors ?? false),
        };
        var result = await rest.SendAsync(HttpMethod.Post, path + "/points/scroll", body, cancellationToken, Name, "Get").ConfigureAwait(false);
        foreach (var point in result.GetProperty("points").EnumerateArray().Skip(skip))
        {
            yield return ToRecord(point, options?.IncludeVectors ?? false);
        }
    }

    public override Task DeleteAsync(TKey key, CancellationToken cancellationToken = default) => DeleteAsync([key], cancellationToken);

    public override async Task DeleteAsync(IEnumerable<TKey> keys, CancellationToken cancellationToken = default)
    {
        var ids = new JsonArray([.. keys.Select(k => Id(k))]);
        if (ids.Count > 0)
        {
            await rest.SendAsync(HttpMethod.Post, path + "/points/delete?wait=true", new JsonObject { ["points"] = ids }, cancellationToken, Name, "Delete").ConfigureAwait(false);
        }
    }

    public override Task UpsertAsync(TRecord record, CancellationToken cancellationToken = default) => UpsertAsync([record], cancellationToken);

    public override async Task UpsertAsync(IEnumerable<TRecord> records, CancellationToken cancellationToken = default)
    {
        var list = records.ToList();
        if (list.Count == 0)
        {
            return;
        }

        var generated = new Dictionary<VectorPropertyModel, IReadOnlyList<Embedding>>();
        foreach (var vector in model.VectorProperties.Where(v => v.EmbeddingGenerator is not null && !IsVectorType(v.Type)))
        {
            generated[vector] = await vector.GenerateEmbeddingsAsync(list.Select(r => vector.GetValueAsObject(r)), cancellationToken).ConfigureAwait(false);
        }

        var points = new JsonArray();
        var documents = new JsonArray();
        for (var i = 0; i < list.Count; i++)
        {
            var record = list[i];
            var vectors = new JsonObject();
            foreach (var vector in model.VectorProperties)
            {
                var values = generated.TryGetValue(vector, out var embeddings) ? ((Embedding<float>)embeddings[i]).Vector : Floats(vector.GetValueAsObject(record));
                if (values is { } v)
                {
                    vectors[vector.StorageName] = new JsonArray([.. v.ToArray().Select(f => (JsonNode?)f)]);
                }
            }

            var payload = new JsonObject();
            foreach (var data in model.DataProperties)
            {
                payload[data.StorageName] = JsonSerializer.SerializeToNode(data.GetValueAsObject(record));
            }

            var id = Id(KeyOf(record));
            if (TextProperty is not null)
            {
                // The text goes through /documents, which embeds it with the collection's BM25 embedder (and stores it as `content`).
                documents.Add(new JsonObject { ["id"] = id, ["text"] = TextProperty.GetValueAsObject(record) as string ?? "", ["metadata"] = payload });
                points.Add(new JsonObject { ["id"] = id?.DeepClone(), ["vector"] = vectors });
            }
            else
            {
                points.Add(new JsonObject { ["id"] = id, ["vector"] = vectors, ["payload"] = payload });
            }
        }

        if (TextProperty is null)
        {
            await rest.SendAsync(HttpMethod.Put, path + "/points?wait=true", new JsonObject { ["points"] = points }, cancellationToken, Name, "Upsert").ConfigureAwait(false);
            return;
        }

        await rest.SendAsync(HttpMethod.Post, path + "/documents?wait=true", new JsonObject { ["documents"] = documents, ["chunk"] = false }, cancellationToken, Name, "Upsert").ConfigureAwait(false);
        if (model.VectorProperties.Count > 0)
        {
            await rest.SendAsync(HttpMethod.Put, path + "/points/vectors?wait=true", new JsonObject { ["points"] = points }, cancellationToken, Name, "Upsert").ConfigureAwait(false);
        }
    }

    // ------------------------------------------------------------------ search

    public override async IAsyncEnumerable<VectorSearchResult<TRecord>> SearchAsync<TInput>(
        TInput searchValue, int top, VectorSearchOptions<TRecord>? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        options ??= new VectorSearchOptions<TRecord>();
        var vector = model.GetVectorPropertyOrSingle(options);
        var query = await QueryVectorAsync(vector, searchValue, cancellationToken).ConfigureAwait(false);
        var body = new JsonObject
        {
            ["query"] = query,
            ["using"] = vector.StorageName,
            ["limit"] = top,
            ["offset"] = options.Skip,
            ["with_payload"] = true,
            ["with_vector"] = WithVectors(options.IncludeVectors),
        };
        if (options.Filter is not null)
        {
            body["filter"] = new VectorizerFilterTranslator().Translate(options.Filter, model);
        }

        if (options.ScoreThreshold is { } threshold)
        {
            body["score_threshold"] = threshold;
        }

        var result = await rest.SendAsync(HttpMethod.Post, path + "/points/query", body, cancellationToken, Name, "Search").ConfigureAwait(false);
        foreach (var point in result.GetProperty("points").EnumerateArray())
        {
            yield return new VectorSearchResult<TRecord>(ToRecord(point, options.IncludeVectors), point.GetProperty("score").GetDouble());
        }
    }

    /// <summary>
    /// Dense search on the vector and BM25 keyword search through <c>POST /collections/{c}/search/text</c>
    /// (<c>mode: sparse</c>), each with the filter, fused by reciprocal rank (1 / (60 + rank), the constant most hybrid
    /// engines use); <c>skip</c> and <c>top</c> apply to the fused list. The score is the fused score.
    /// </summary>
    public async IAsyncEnumerable<VectorSearchResult<TRecord>> HybridSearchAsync<TInput>(
        TInput searchValue, ICollection<string> keywords, int top, HybridSearchOptions<TRecord>? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        where TInput : notnull
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(top, 1);
        options ??= new HybridSearchOptions<TRecord>();
        var text = options.AdditionalProperty is { } additional ? model.GetFullTextDataPropertyOrSingle(additional) : TextProperty;
        if (text is null || SparseVectorName is null || text != TextProperty)
        {
            throw new InvalidOperationException($"Hybrid search needs a string data property with IsFullTextIndexed = true (the first one, {TextProperty?.ModelName ?? "none here"}, is searched)");
        }

        var vector = model.GetVectorPropertyOrSingle(new VectorSearchOptions<TRecord> { VectorProperty = options.VectorProperty });
        var candidates = top + options.Skip;
        var filter = options.Filter is null ? null : new VectorizerFilterTranslator().Translate(options.Filter, model);
        var dense = new JsonObject
        {
            ["query"] = await QueryVectorAsync(vector, searchValue, cancellationToken).ConfigureAwait(false),
            ["using"] = vector.StorageName,
            ["limit"] = candidates,
            ["with_payload"] = true,
            ["with_vector"] = WithVectors(options.IncludeVectors),
            ["filter"] = filter?.DeepClone(),
        };
        var keyword = new JsonObject
        {
            ["query"] = string.Join(' ', keywords),
            ["mode"] = "sparse",
            ["limit"] = candidates,
            ["filter"] = filter?.DeepClone(),
        };
        var denseTask = rest.SendAsync(HttpMethod.Post, path + "/points/query", dense, cancellationToken, Name, "HybridSearch");
        var keywordTask = rest.SendAsync(HttpMethod.Post, path + "/search/text", keyword, cancellationToken, Name, "HybridSearch");
        var denseHits = (await denseTask.ConfigureAwait(false)).GetProperty("points").EnumerateArray().ToList();
        var keywordHits = (await keywordTask.ConfigureAwait(false)).GetProperty("points").EnumerateArray().ToList();

        var fused = new Dictionary<string, (double Score, JsonElement? Point)>(StringComparer.Ordinal);
        void Add(List<JsonElement> hits, bool full)
        {
            for (var rank = 0; rank < hits.Count; rank++)
            {
                var id = hits[rank].GetProperty("id").ToString();
                fused.TryGetValue(id, out var entry);
                fused[id] = (entry.Score + (1.0 / (60 + rank + 1)), full ? hits[rank] : entry.Point);
            }
        }

        Add(denseHits, full: true);
        Add(keywordHits, full: false);
        var ranked = fused.OrderByDescending(e => e.Value.Score).ThenBy(e => e.Key, StringComparer.Ordinal).Skip(options.Skip).Take(top).ToList();
        if (options.ScoreThreshold is { } threshold)
        {
            ranked = [.. ranked.Where(e => e.Value.Score >= threshold)];
        }

        // Points only the keyword side found: read them (payload and, when asked, vectors).
        var missing = ranked.Where(e => e.Value.Point is null).Select(e => e.Key).ToList();
        var loaded = new Dictionary<string, JsonElement>(StringComparer.Ordinal);
        if (missing.Count > 0)
        {
            var ids = new JsonArray([.. missing.Select(m => JsonNode.Parse(ulong.TryParse(m, out _) ? m : $"\"{m}\""))]);
            var points = await rest.SendAsync(HttpMethod.Post, path + "/points", new JsonObject { ["ids"] = ids, ["with_payload"] = true, ["with_vector"] = WithVectors(options.IncludeVectors) }, cancellationToken, Name, "HybridSearch").ConfigureAwait(false);
            foreach (var point in points.EnumerateArray())
            {
                loaded[point.GetProperty("id").ToString()] = point;
            }
        }

        foreach (var (id, (score, point)) in ranked)
        {
            var found = point ?? (loaded.TryGetValue(id, out var p) ? p : null);
            if (found is { } element)
            {
                yield return new VectorSearchResult<TRecord>(ToRecord(element, options.IncludeVectors), score);
            }
        }
    }

    public override object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(VectorStoreCollectionMetadata) ? new VectorStoreCollectionMetadata { VectorStoreSystemName = "vectorizer", VectorStoreName = rest.Name, CollectionName = Name }
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    // ------------------------------------------------------------------ mapping

    private async Task<JsonNode> QueryVectorAsync<TInput>(VectorPropertyModel vector, TInput searchValue, CancellationToken cancellationToken)
    {
        var values = searchValue switch
        {
            ReadOnlyMemory<float> memory => memory,
            float[] array => array,
            Embedding<float> embedding => embedding.Vector,
            _ when vector.EmbeddingGenerator is not null => ((Embedding<float>)await vector.GenerateEmbeddingAsync(searchValue, cancellationToken).ConfigureAwait(false)).Vector,
            _ => throw new NotSupportedException($"Search input of type {typeof(TInput).Name} needs an embedding generator on `{vector.ModelName}`; or pass ReadOnlyMemory<float>"),
        };
        return new JsonArray([.. values.ToArray().Select(f => (JsonNode?)f)]);
    }

    private static bool IsVectorType(Type type)
    {
        var t = Nullable.GetUnderlyingType(type) ?? type;
        return t == typeof(ReadOnlyMemory<float>) || t == typeof(Embedding<float>) || t == typeof(float[]);
    }

    private static ReadOnlyMemory<float>? Floats(object? value) => value switch
    {
        null => null,
        ReadOnlyMemory<float> memory => memory,
        float[] array => array,
        Embedding<float> embedding => embedding.Vector,
        _ => throw new NotSupportedException($"Vector values of type {value.GetType().Name} are not supported"),
    };

    private JsonNode WithVectors(bool include) => include
        ? new JsonArray([.. model.VectorProperties.Select(v => (JsonNode?)v.StorageName)])
        : false;

    private TKey KeyOf(TRecord record) => (TKey)model.KeyProperty.GetValueAsObject(record)!;

    private static JsonNode? Id(object? key) => key switch
    {
        ulong number => number,
        Guid guid => guid.ToString(),
        long number when number >= 0 => (ulong)number,
        int number when number >= 0 => (ulong)number,
        string text when Guid.TryParse(text, out var guid) => guid.ToString(),
        _ => throw new NotSupportedException($"Vectorizer keys are ulong or Guid; got {key?.GetType().Name ?? "null"}"),
    };

    private TRecord ToRecord(JsonElement point, bool includeVectors)
    {
        var record = model.CreateRecord<TRecord>()!;
        var id = point.GetProperty("id");
        var keyType = Nullable.GetUnderlyingType(model.KeyProperty.Type) ?? model.KeyProperty.Type;
        object key = id.ValueKind == JsonValueKind.Number ? id.GetUInt64() : keyType == typeof(ulong) ? ulong.Parse(id.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : Guid.Parse(id.GetString()!);
        model.KeyProperty.SetValueAsObject(record, key);
        var payload = point.TryGetProperty("payload", out var p) && p.ValueKind == JsonValueKind.Object ? p : default;
        foreach (var data in model.DataProperties)
        {
            if (payload.ValueKind == JsonValueKind.Object && payload.TryGetProperty(data.StorageName, out var value) && value.ValueKind != JsonValueKind.Null)
            {
                data.SetValueAsObject(record, data.Type == typeof(object) ? Plain(value) : value.Deserialize(data.Type));
            }
        }

        if (includeVectors && point.TryGetProperty("vector", out var vectors) && vectors.ValueKind == JsonValueKind.Object)
        {
            foreach (var vector in model.VectorProperties)
            {
                if (vectors.TryGetProperty(vector.StorageName, out var values) && values.ValueKind == JsonValueKind.Array)
                {
                    var floats = values.EnumerateArray().Select(v => v.GetSingle()).ToArray();
                    var t = Nullable.GetUnderlyingType(vector.Type) ?? vector.Type;
                    vector.SetValueAsObject(record, t == typeof(float[]) ? floats : t == typeof(Embedding<float>) ? new Embedding<float>(floats) : new ReadOnlyMemory<float>(floats));
                }
            }
        }

        return record;
    }

    private static object? Plain(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.String => value.GetString(),
        JsonValueKind.Number => value.TryGetInt64(out var l) ? l : value.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => value.Clone(),
    };
}
