using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Sparse;
using Vectorizer.Ingestion.Chunking;
using Vectorizer.Ingestion.Embeddings;
using Vectorizer.Ingestion.Expansion;

namespace Vectorizer.Ingestion;

/// <summary>Settings of the process rather than of a collection.</summary>
public sealed record IngestionOptions
{
    /// <summary>ONNX Runtime's intra-op threads for <c>local</c> models (0: one per physical core).</summary>
    public int LocalThreads { get; init; }

    /// <summary>HyDE's LLM (the <c>llm:</c> section); null: <c>"expand": {"hyde": true}</c> is refused.</summary>
    public HydeExpander? Hyde { get; init; }

    /// <summary>What all embedding of this process is held to (the server's daily cap, a CLI run's cap); null: no cap.</summary>
    public IEmbeddingBudget? Budget { get; init; }

    /// <summary>Which embedders read a chunk's <see cref="Chunk.Context"/> (title, summary line, section path) before its text.</summary>
    /// <remarks>Default: both (on git's documentation, paraphrased top-5 hit rate 0.476 → 0.524 with the engine's RRF,
    /// 0.595 with <see cref="TextSearchRrfK"/>; bench/results/relevance-git-doc.md).</remarks>
    public ChunkContextUse ChunkContext { get; init; } = ChunkContextUse.DenseAndSparse;

    /// <summary>
    /// Pseudo-relevance feedback of a hybrid search on a collection with page vectors (one more dense and page query per
    /// search, no more embedding); null: none. Default: <see cref="PseudoRelevanceFeedback.Default"/>.
    /// </summary>
    public PseudoRelevanceFeedback? Feedback { get; init; } = PseudoRelevanceFeedback.Default;
}

/// <summary>Where a chunk's context (<see cref="Chunk.Context"/>) goes besides nowhere: it is never stored in <c>content</c>.</summary>
public enum ChunkContextUse
{
    /// <summary>Chunks are embedded as they are.</summary>
    None,

    /// <summary>The dense embedder reads the context, then the chunk; BM25 indexes the chunk alone.</summary>
    Dense,

    /// <summary>Both embedders read the context and the chunk.</summary>
    DenseAndSparse,
}

/// <summary>A text to add: its id (optional; derived from the text or file path when missing), text and metadata (a JSON object).</summary>
public sealed record DocumentInput(PointId? Id, string Text, JsonElement? Metadata);

/// <summary>How <c>/search/text</c> ranks: dense similarity, BM25, or both fused with RRF.</summary>
public enum TextSearchMode
{
    Dense,
    Sparse,
    Hybrid,
}

public sealed record TextSearchRequest
{
    public required string Query { get; init; }

    public int Limit { get; init; } = 10;

    public int Offset { get; init; }

    public Filter? Filter { get; init; }

    /// <summary>Null: hybrid when the collection has both embedders, else the one it has.</summary>
    public TextSearchMode? Mode { get; init; }

    public float? ScoreThreshold { get; init; }

    public PayloadSelector WithPayload { get; init; } = PayloadSelector.All;

    /// <summary>Query expansion (HyDE) for the dense part; null: none.</summary>
    public QueryExpansionRequest? Expand { get; init; }

    /// <summary>
    /// The most chunks of one document (a file, or a document added with an id) in the answer, its best ones; 0: no
    /// limit. Default 1: a question is answered by documents, and a long page's second and third chunks otherwise take
    /// the places of other pages (on git's documentation, paraphrased top-5 hit rate 0.595 → 0.690;
    /// bench/results/relevance-git-doc.md). Points that are not chunks of a document are never grouped.
    /// </summary>
    public int MaxPerDocument { get; init; } = DefaultMaxPerDocument;

    public const int DefaultMaxPerDocument = 1;
}

/// <summary>How the dense query vector is made from the question and the LLM's hypothetical answer.</summary>
public enum HydeMode
{
    /// <summary>The mean of the question's and the answer's vectors (the question keeps its say).</summary>
    Average,

    /// <summary>The answer's vector alone (HyDE as published).</summary>
    Replace,
}

/// <summary><c>"expand": {"hyde": true, "mode": "average" | "replace"}</c>.</summary>
public sealed record QueryExpansionRequest(bool Hyde, HydeMode Mode = HydeMode.Average);

/// <summary>A text search's answer: the points, and what happened to the query's expansion when one was asked for.</summary>
/// <param name="FeedbackDocuments">How many top documents pseudo-relevance feedback took its vectors from (null: no feedback pass ran).</param>
public sealed record TextSearchResult(IReadOnlyList<ScoredPoint> Points, QueryExpansion? Expansion, int? FeedbackDocuments = null);

/// <summary>What embedding cost: texts sent to the provider, texts served from its cache, tokens, cost.</summary>
public sealed record EmbeddingUsage(int Embedded, int Cached, long Tokens, double Cost);

public sealed record IngestResult(UpdateResult Update, int Documents, IReadOnlyList<PointId> Ids, EmbeddingUsage? Usage);

/// <summary>
/// Adds text to collections and searches them by text, with the embedders each collection's <c>embedding</c>
/// section names. The application service behind <c>POST /collections/{c}/documents</c> and
/// <c>POST /collections/{c}/search/text</c> (and, later, the CLI and the file watcher).
/// </summary>
public sealed partial class IngestionService : IDisposable
{
    /// <summary>Payload keys written for every document; metadata keys of the same name are replaced.</summary>
    public const string ContentKey = "content";

    private readonly ConditionalWeakTable<Collection, CollectionEmbedders> embedders = [];
    private readonly Lazy<EmbeddingCache> cache;
    private readonly HttpClient http;
    private readonly ILogger logger;
    private readonly TimeProvider time;

    private readonly IngestionOptions options;

    /// <summary><paramref name="time"/> is the clock of the embedders' retries and timeouts (a fake one in tests).</summary>
    public IngestionService(string dataDirectory, ILoggerFactory loggerFactory, HttpMessageHandler? handler = null, TimeProvider? time = null, IngestionOptions? options = null)
    {
        this.time = time ?? TimeProvider.System;
        this.options = options ?? new IngestionOptions();
        logger = loggerFactory.CreateLogger("Vectorizer.Ingestion");
        http = handler is null
            ? new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = Timeout.InfiniteTimeSpan }
            : new HttpClient(handler, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
        cache = new Lazy<EmbeddingCache>(
            () => EmbeddingCache.Open(Path.Combine(dataDirectory, "embedding-cache", "embeddings.bin"), logger),
            LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The embedders of <paramref name="collection"/>; 400 when it has no <c>embedding</c> section.</summary>
    public CollectionEmbedders For(Collection collection) => embedders.GetValue(collection, CreateEmbedders);

    private CollectionEmbedders CreateEmbedders(Collection collection)
    {
        if (collection.Config.Embedding is not { } stored)
        {
            throw VectorizerException.BadRequest(
                $"Collection `{collection.Name}` has no `embedding` configuration: create it with an `embedding` section to add documents or search by text");
        }

        var config = EmbeddingConfig.FromStored(stored);
        var dense = config.Dense is { } d ? EmbedderFactory.CreateDense(d, http, () => cache.Value, logger, time, options.LocalThreads) : null;
        var sparse = config.Sparse is { } s ? EmbedderFactory.CreateSparse(s, Path.Combine(collection.Paths.Root, "ingest")) : null;
        return new CollectionEmbedders(config, dense, sparse);
    }

    public Task<IngestResult> AddDocumentsAsync(
        Collection collection, IReadOnlyList<DocumentInput> documents, ChunkerOptions? chunking, bool wait, CancellationToken cancellationToken) =>
        UpsertUnitsAsync(collection, BuildUnits(documents, chunking), documents.Count, wait, null, cancellationToken);

    /// <summary>
    /// Upserts chunks made elsewhere (the file indexer), one point per chunk with the id and metadata given: the
    /// payload is the metadata plus <c>content</c> and the chunk's fields, as for a chunked document.
    /// </summary>
    public Task<IngestResult> AddChunksAsync(Collection collection, IReadOnlyList<ChunkPoint> chunks, int files, bool wait, CancellationToken cancellationToken) =>
        AddChunksAsync(collection, chunks, files, wait, null, cancellationToken);

    /// <inheritdoc cref="AddChunksAsync(Collection, IReadOnlyList{ChunkPoint}, int, bool, CancellationToken)"/>
    /// <param name="budget">Held to besides the service's own budget (a run's cap).</param>
    public Task<IngestResult> AddChunksAsync(Collection collection, IReadOnlyList<ChunkPoint> chunks, int files, bool wait, IEmbeddingBudget? budget, CancellationToken cancellationToken) =>
        AddChunksAsync(collection, chunks, [], files, wait, budget, cancellationToken);

    /// <inheritdoc cref="AddChunksAsync(Collection, IReadOnlyList{ChunkPoint}, int, bool, IEmbeddingBudget?, CancellationToken)"/>
    /// <param name="pages">
    /// Page points written with the chunks, in the same upsert (<see cref="PageVectorConfig"/>): each embedded by the
    /// dense embedder into the collection's page vector, never read by BM25 (its statistics count chunks only).
    /// </param>
    public Task<IngestResult> AddChunksAsync(
        Collection collection, IReadOnlyList<ChunkPoint> chunks, IReadOnlyList<PagePoint> pages, int files, bool wait, IEmbeddingBudget? budget, CancellationToken cancellationToken)
    {
        if (pages.Count > 0 && For(collection).Config.Page is null)
        {
            throw VectorizerException.BadRequest($"Collection `{collection.Name}` has no page vector (`embedding.page`)");
        }

        var units = new List<Unit>(chunks.Count + pages.Count);
        foreach (var (id, chunk, metadata) in chunks)
        {
            units.Add(UnitOf(id, chunk, Payload(metadata, chunk.Content, chunk, null)));
        }

        foreach (var page in pages)
        {
            units.Add(new Unit(page.Id, page.Text, PagePayload(page), Page: true));
        }

        return UpsertUnitsAsync(collection, units, files, wait, budget, cancellationToken);
    }

    /// <summary>The point id of the page point of the file (or document key) <paramref name="key"/>.</summary>
    public static PointId PageId(string key) => DerivedId($"{key}#page");

    /// <summary>Marks a point that is no chunk: <c>"point_kind": "page"</c> on a file's page point (chunks have no such key).</summary>
    public const string PointKindKey = "point_kind";

    public const string PagePointKind = "page";

    /// <summary>Whether the payload is a page point's.</summary>
    public static bool IsPage(PointPayload? payload) => payload is not null && IsPage(payload.Root);

    /// <inheritdoc cref="IsPage(PointPayload?)"/>
    public static bool IsPage(JsonElement payload) =>
        payload.ValueKind == JsonValueKind.Object && payload.TryGetProperty(PointKindKey, out var kind) && kind.ValueKind == JsonValueKind.String && kind.ValueEquals(PagePointKind);

    /// <summary>The point id of chunk <paramref name="chunkIndex"/> of the file (or document key) <paramref name="key"/>.</summary>
    public static PointId ChunkId(string key, int chunkIndex) => DerivedId($"{key}#{chunkIndex}");

    private async Task<IngestResult> UpsertUnitsAsync(Collection collection, List<Unit> units, int documentCount, bool wait, IEmbeddingBudget? budget, CancellationToken cancellationToken)
    {
        var target = For(collection);
        var texts = new List<string>(units.Count);
        var sparseTexts = new List<string>(units.Count);
        foreach (var unit in units)
        {
            texts.Add(unit.Text);
            if (!unit.Page)
            {
                sparseTexts.Add(unit.SparseText ?? unit.Text);
            }
        }

        float[][]? dense = null;
        EmbeddingUsage? usage = null;
        if (target.Dense is { } generator)
        {
            var options = CombinedBudget.Of(this.options.Budget, budget) is { } held
                ? new EmbeddingGenerationOptions { AdditionalProperties = new() { [BudgetPropertyName] = held } }
                : null;
            (dense, usage) = await EmbedDenseAsync(collection, target, generator, texts, cancellationToken, options).ConfigureAwait(false);
        }

        Task<UpdateResult> Upsert(IReadOnlyList<SparseVector>? sparse)
        {
            var points = new List<PointStruct>(units.Count);
            var s = 0;
            for (var i = 0; i < units.Count; i++)
            {
                if (units[i].Page)
                {
                    // Only the page vector: the chunks' dense and sparse searches never see a page point.
                    points.Add(new PointStruct(units[i].Id, VectorMap.Single(target.Config.Page!.Vector, dense![i]), units[i].Payload, null));
                    continue;
                }

                var vectors = dense is null ? new Dictionary<string, float[]>() : VectorMap.Single(target.Config.Dense!.Vector, dense[i]);
                var sparseVectors = sparse is null ? null : new Dictionary<string, SparseVector> { [target.Config.Sparse!.Vector] = sparse[s++] };
                points.Add(new PointStruct(units[i].Id, vectors, units[i].Payload, sparseVectors));
            }

            return collection.UpdateAsync(new UpsertOperation(points), wait, cancellationToken).AsTask();
        }

        var update = target.Sparse is { } sparseEmbedder
            ? await sparseEmbedder.EmbedDocumentsAsync(sparseTexts, Upsert, cancellationToken).ConfigureAwait(false)
            : await Upsert(null).ConfigureAwait(false);
        var ids = new List<PointId>(units.Count);
        foreach (var unit in units)
        {
            ids.Add(unit.Id);
        }

        return new IngestResult(update, documentCount, ids, usage);
    }

    /// <summary>Expands the query (when asked) and searches; the points only.</summary>
    public async Task<IReadOnlyList<ScoredPoint>> SearchTextAsync(Collection collection, TextSearchRequest request, CancellationToken cancellationToken)
    {
        var expansion = await ExpandQueryAsync(collection, request, cancellationToken).ConfigureAwait(false);
        return (await SearchTextAsync(collection, request, expansion, cancellationToken).ConfigureAwait(false)).Points;
    }

    /// <summary>
    /// The query's expansion when <see cref="TextSearchRequest.Expand"/> asks for one (null otherwise): the LLM's
    /// hypothetical answer, or, when it timed out or failed, why the search runs without one. Separate from the search
    /// so that a cache of answers can key them by the expansion actually used.
    /// </summary>
    public async Task<QueryExpansion?> ExpandQueryAsync(Collection collection, TextSearchRequest request, CancellationToken cancellationToken)
    {
        if (request.Expand is not { Hyde: true })
        {
            return null;
        }

        var target = For(collection);
        if (options.Hyde is not { } hyde)
        {
            throw VectorizerException.BadRequest("expand.hyde: no LLM is configured; add an `llm:` section (base_url, model) to config.yml");
        }

        if (request.Mode == TextSearchMode.Sparse || target.Dense is null)
        {
            throw VectorizerException.BadRequest("expand.hyde: HyDE expands the dense part of a search; this search has none (mode sparse, or no dense embedder)");
        }

        return await hyde.ExpandAsync(request.Query, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Searches, with the dense query vector made from <paramref name="expansion"/>'s text when there is one.</summary>
    public async Task<TextSearchResult> SearchTextAsync(Collection collection, TextSearchRequest request, QueryExpansion? expansion, CancellationToken cancellationToken)
    {
        var target = For(collection);
        var mode = request.Mode ?? (target.Dense is not null && target.Sparse is not null ? TextSearchMode.Hybrid
            : target.Dense is not null ? TextSearchMode.Dense : TextSearchMode.Sparse);
        if (mode != TextSearchMode.Sparse && target.Dense is null)
        {
            throw VectorizerException.BadRequest($"Collection `{collection.Name}` has no dense embedder; use \"mode\": \"sparse\"");
        }

        if (mode != TextSearchMode.Dense && target.Sparse is null)
        {
            throw VectorizerException.BadRequest($"Collection `{collection.Name}` has no sparse embedder; use \"mode\": \"dense\"");
        }

        QueryRequest? denseQuery = null;
        QueryRequest? sparseQuery = null;
        if (mode != TextSearchMode.Sparse)
        {
            float[] vector;
            if (expansion?.Text is { } hypothetical)
            {
                var replace = request.Expand?.Mode == HydeMode.Replace;
                var (vectors, _) = await EmbedDenseAsync(collection, target, target.Dense!, replace ? [hypothetical] : [request.Query, hypothetical], cancellationToken, QueryOptions()).ConfigureAwait(false);
                vector = replace ? vectors[0] : Average(vectors[0], vectors[1]);
            }
            else
            {
                var (vectors, _) = await EmbedDenseAsync(collection, target, target.Dense!, [request.Query], cancellationToken, QueryOptions()).ConfigureAwait(false);
                vector = vectors[0];
            }

            denseQuery = new QueryRequest { Query = new DenseVectorQuery(vector), Using = target.Config.Dense!.Vector };
        }

        if (mode != TextSearchMode.Dense)
        {
            sparseQuery = new QueryRequest { Query = new SparseVectorQuery(target.Sparse!.EmbedQuery(request.Query)), Using = target.Config.Sparse!.Vector };
        }

        QueryRequest Query(int limit, int offset) => mode switch
        {
            TextSearchMode.Dense => denseQuery!,
            TextSearchMode.Sparse => sparseQuery!,
            _ => new QueryRequest
            {
                // Each list reaches deeper than the page asked for, so fusion has candidates that rank well in both.
                Prefetch = [denseQuery! with { Limit = PrefetchLimit(limit + offset) }, sparseQuery! with { Limit = PrefetchLimit(limit + offset) }],
                Query = new FusionQuery(FusionMethod.Rrf, TextSearchRrfK),
            },
        }
        with
        {
            Filter = request.Filter,
            Limit = limit,
            Offset = offset,
            ScoreThreshold = request.ScoreThreshold,
        };

        if (request.MaxPerDocument <= 0)
        {
            return new TextSearchResult(collection.Query(Query(request.Limit, request.Offset) with { WithPayload = request.WithPayload }), expansion);
        }

        if (mode == TextSearchMode.Hybrid && target.Config.Page is { } page)
        {
            var (points, feedbackDocuments) = PageFused(collection, request, denseQuery!, sparseQuery!, page, options.Feedback);
            return new TextSearchResult(points, expansion, feedbackDocuments);
        }

        return new TextSearchResult(PerDocument(collection, request, Query), expansion);
    }

    /// <summary>
    /// The answer with at most <see cref="TextSearchRequest.MaxPerDocument"/> chunks of each document: candidates are
    /// read deeper than the page (with their payload, whose fields name a chunk's document) until the page is full or
    /// the ranking has no more, and kept in rank order; the payload returned is then the one the request selects.
    /// </summary>
    private static List<ScoredPoint> PerDocument(Collection collection, TextSearchRequest request, Func<int, int, QueryRequest> query)
    {
        var wanted = request.Offset + request.Limit;
        var depth = Math.Max(PrefetchLimit(wanted), 4 * wanted);
        while (true)
        {
            var candidates = collection.Query(query(depth, 0) with { WithPayload = PayloadSelector.All });
            var kept = new List<ScoredPoint>(Math.Min(wanted, candidates.Count));
            var perDocument = new Dictionary<string, int>(StringComparer.Ordinal);
            foreach (var point in candidates)
            {
                if (DocumentKey(point.Payload) is { } key)
                {
                    var seen = perDocument.GetValueOrDefault(key);
                    if (seen >= request.MaxPerDocument)
                    {
                        continue;
                    }

                    perDocument[key] = seen + 1;
                }

                kept.Add(point);
                if (kept.Count == wanted)
                {
                    break;
                }
            }

            // Done when the page is full, when the ranking ran out, or past the depth a page is worth.
            if (kept.Count == wanted || candidates.Count < depth || depth >= MaxGroupingDepth)
            {
                return [.. kept.Skip(request.Offset).Select(p => p with { Payload = request.WithPayload.Enabled ? request.WithPayload.Apply(p.Payload) : null })];
            }

            depth = Math.Min(4 * depth, MaxGroupingDepth);
        }
    }

    /// <summary>How deep a grouped search reads at most (a page of documents whose chunks crowd the ranking may come out short).</summary>
    private const int MaxGroupingDepth = 4096;

    /// <summary>The document a chunk belongs to: <c>document_id</c>, else <c>watch_root</c> + <c>file_path</c>; null for a point that is no chunk.</summary>
    private static string? DocumentKey(PointPayload? payload, bool page = false)
    {
        if (payload is null || payload.Root.ValueKind != JsonValueKind.Object || !(page ? IsPage(payload) : payload.Root.TryGetProperty("chunk_index", out _)))
        {
            return null;
        }

        var root = payload.Root;
        if (root.TryGetProperty("document_id", out var id) && id.ValueKind == JsonValueKind.String)
        {
            return "id:" + id.GetString();
        }

        if (root.TryGetProperty("file_path", out var path) && path.ValueKind == JsonValueKind.String)
        {
            var watchRoot = root.TryGetProperty("watch_root", out var w) && w.ValueKind == JsonValueKind.String ? w.GetString() : "";
            return "file:" + watchRoot + "\n" + path.GetString();
        }

        return null;
    }

    /// <summary>The mean of two unit vectors, normalised again (the collections' dense vectors are Cosine).</summary>
    private static float[] Average(float[] a, float[] b)
    {
        var mean = new float[a.Length];
        System.Numerics.Tensors.TensorPrimitives.Add(a, b, mean);
        var norm = System.Numerics.Tensors.TensorPrimitives.Norm(mean);
        if (norm > 0)
        {
            System.Numerics.Tensors.TensorPrimitives.Divide(mean, norm, mean);
        }

        return mean;
    }

    private static int PrefetchLimit(int wanted) => Math.Max(2 * wanted, 50);

    /// <summary>
    /// RRF's k for text search's hybrid: 60 (Cormack et al.'s constant) rather than the engine's default of 2 (Qdrant's),
    /// which lets the first places of either list dominate; a semantic and a lexical list of chunks disagree often, and
    /// a chunk both rank fairly high is the better answer. Measured on git's documentation with 50-deep lists:
    /// paraphrased top-5 0.524 (k = 2) → 0.595 (k = 60), keyword questions 1.000 either way.
    /// </summary>
    public const int TextSearchRrfK = 60;

    /// <summary>
    /// Marks an embedding request as a search query: providers that are cheap to run (<c>local</c>) do not keep query
    /// vectors in the on-disk cache (every distinct query would grow it forever); paid ones still do.
    /// </summary>
    private EmbeddingGenerationOptions QueryOptions()
    {
        var query = new EmbeddingGenerationOptions { AdditionalProperties = new() { [QueryPropertyName] = true } };
        if (options.Budget is { } budget)
        {
            query.AdditionalProperties[BudgetPropertyName] = budget;
        }

        return query;
    }

    public const string QueryPropertyName = "vectorizer.query";

    /// <summary>The <see cref="IEmbeddingBudget"/> a provider checks and records a request against.</summary>
    public const string BudgetPropertyName = "vectorizer.budget";

    private static async Task<(float[][] Vectors, EmbeddingUsage Usage)> EmbedDenseAsync(
        Collection collection, CollectionEmbedders target, IEmbeddingGenerator<string, Embedding<float>> generator, IReadOnlyList<string> texts, CancellationToken cancellationToken,
        EmbeddingGenerationOptions? options = null)
    {
        var config = target.Config.Dense!;
        var expected = collection.Config.Vectors.TryGetValue(config.Vector, out var parameters)
            ? parameters.Size
            : throw VectorizerException.VectorNameNotFound(config.Vector);
        var generated = await generator.GenerateAsync(texts, options, cancellationToken).ConfigureAwait(false);
        if (generated.Count != texts.Count)
        {
            throw new IngestionException(IngestionErrorCode.EmbeddingProviderFailed, $"the `{config.Provider}` provider returned {generated.Count} embeddings for {texts.Count} texts");
        }

        var vectors = new float[generated.Count][];
        for (var i = 0; i < vectors.Length; i++)
        {
            vectors[i] = generated[i].Vector.ToArray();
            if (vectors[i].Length != expected)
            {
                throw VectorizerException.BadRequest(
                    $"the `{config.Provider}` provider returned {vectors[i].Length}-dimensional vectors but vector `{config.Vector}` has size {expected}");
            }
        }

        var properties = generated.AdditionalProperties;
        var cached = properties?.TryGetValue("cached", out var c) == true && c is int hits ? hits : 0;
        var cost = properties?.TryGetValue("cost", out var k) == true && k is double spent ? spent : 0;
        var requests = properties?.TryGetValue("requests", out var r) == true && r is int sent ? sent : 0;
        var tokens = generated.Usage?.TotalTokenCount ?? 0;
        IngestionTelemetry.RecordEmbedding(config.Provider, requests, texts.Count - cached, cached, tokens, cost);
        return (vectors, new EmbeddingUsage(texts.Count - cached, cached, tokens, cost));
    }

    /// <summary>A point to write: what the dense embedder reads (<paramref name="Text"/>), what BM25 reads when it differs, the payload.</summary>
    private readonly record struct Unit(PointId Id, string Text, PointPayload Payload, string? SparseText = null, bool Page = false);

    /// <summary>A chunk's point, its context read by the embedders <see cref="IngestionOptions.ChunkContext"/> names.</summary>
    private Unit UnitOf(PointId id, Chunk chunk, PointPayload payload)
    {
        if (chunk.Context is not { Length: > 0 } context || options.ChunkContext == ChunkContextUse.None)
        {
            return new Unit(id, chunk.Content, payload);
        }

        var withContext = context + "\n\n" + chunk.Content;
        return new Unit(id, withContext, payload, options.ChunkContext == ChunkContextUse.DenseAndSparse ? withContext : chunk.Content);
    }

    /// <summary>One point per document, or per chunk when <paramref name="chunking"/> is set.</summary>
    private List<Unit> BuildUnits(IReadOnlyList<DocumentInput> documents, ChunkerOptions? chunking)
    {
        var units = new List<Unit>(documents.Count);
        for (var d = 0; d < documents.Count; d++)
        {
            var document = documents[d];
            if (string.IsNullOrWhiteSpace(document.Text))
            {
                throw VectorizerException.BadRequest($"documents[{d}].text: must not be empty");
            }

            var filePath = document.Metadata is { ValueKind: JsonValueKind.Object } m && m.TryGetProperty("file_path", out var p) && p.ValueKind == JsonValueKind.String
                ? p.GetString()
                : null;
            if (chunking is null)
            {
                var id = document.Id ?? DerivedId(filePath ?? Hashes.Sha256Hex(document.Text));
                units.Add(new Unit(id, document.Text, Payload(document.Metadata, document.Text, null, null)));
                continue;
            }

            var chunks = ChunkerPicker.ChunkText(document.Text, filePath ?? "", null, chunking);
            var key = document.Id?.ToString() ?? filePath ?? chunks.FirstOrDefault()?.FileHash ?? Hashes.Sha256Hex(document.Text);
            foreach (var chunk in chunks)
            {
                units.Add(UnitOf(ChunkId(key, chunk.ChunkIndex), chunk, Payload(document.Metadata, chunk.Content, chunk, document.Id)));
            }
        }

        return units;
    }

    /// <summary>A name-based (version 5 style) UUID from SHA-256, so re-adding the same document replaces its points.</summary>
    public static PointId DerivedId(string key)
    {
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes("vectorizer:" + key), digest);
        digest[6] = (byte)((digest[6] & 0x0F) | 0x50);
        digest[8] = (byte)((digest[8] & 0x3F) | 0x80);
        return PointId.FromUuid(new Guid(digest[..16], bigEndian: true));
    }

    private static PointPayload Payload(JsonElement? metadata, string content, Chunk? chunk, PointId? documentId)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(content.Length + 256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (metadata is { ValueKind: JsonValueKind.Object } fields)
            {
                foreach (var property in fields.EnumerateObject())
                {
                    if (!IsReserved(property.Name, chunk is not null))
                    {
                        property.WriteTo(writer);
                    }
                }
            }

            writer.WriteString(ContentKey, content);
            if (chunk is not null)
            {
                if (documentId is { } id)
                {
                    writer.WriteString("document_id", id.ToString());
                }

                writer.WriteString("file_path", chunk.FilePath.Length == 0 ? null : chunk.FilePath);
                writer.WriteNumber("chunk_index", chunk.ChunkIndex);
                writer.WriteNumber("start_line", chunk.StartLine);
                writer.WriteNumber("end_line", chunk.EndLine);
                writer.WriteString("content_hash", chunk.ContentHash);
                writer.WriteString("file_hash", chunk.FileHash);
                if (chunk.Mtime is { } mtime)
                {
                    writer.WriteString("mtime", mtime);
                }
                else if (metadata is not { ValueKind: JsonValueKind.Object } meta || !meta.TryGetProperty("mtime", out _))
                {
                    writer.WriteNull("mtime");
                }

                writer.WriteString("language", chunk.Language);
            }

            writer.WriteEndObject();
        }

        return PointPayload.FromUtf8(buffer.WrittenSpan);
    }

    /// <summary>A page point's payload: the file's identity fields (hash-skip, re-indexing and deletion find it with its chunks), its text, the page mark.</summary>
    private static PointPayload PagePayload(PagePoint page)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(page.Text.Length + 256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            if (page.Metadata is { ValueKind: JsonValueKind.Object } fields)
            {
                foreach (var property in fields.EnumerateObject())
                {
                    if (!IsReserved(property.Name, chunked: true) && property.Name != PointKindKey)
                    {
                        property.WriteTo(writer);
                    }
                }
            }

            writer.WriteString(ContentKey, page.Text);
            writer.WriteString(PointKindKey, PagePointKind);
            writer.WriteString("file_path", page.FilePath);
            writer.WriteString("content_hash", Hashes.Sha256Hex(page.Text));
            writer.WriteString("file_hash", page.FileHash);
            writer.WriteEndObject();
        }

        return PointPayload.FromUtf8(buffer.WrittenSpan);
    }

    private static bool IsReserved(string name, bool chunked) => name == ContentKey || (chunked && name is
        "document_id" or "file_path" or "chunk_index" or "start_line" or "end_line" or "content_hash" or "file_hash" or "language");

    public void Dispose()
    {
        http.Dispose();
        if (cache.IsValueCreated)
        {
            cache.Value.Dispose();
        }
    }
}

/// <summary>A file's page point (<see cref="PageVectorConfig"/>): its id, the text the page vector is made of (title and summary line), the file's identity.</summary>
public sealed record PagePoint(PointId Id, string Text, JsonElement? Metadata, string FilePath, string FileHash);

/// <summary>A chunk to upsert as the point <paramref name="Id"/>, with metadata (a JSON object, or null) for its payload.</summary>
public sealed record ChunkPoint(PointId Id, Chunk Chunk, JsonElement? Metadata);

/// <summary>A collection's embedding configuration and the embedders built from it.</summary>
public sealed record CollectionEmbedders(EmbeddingConfig Config, IEmbeddingGenerator<string, Embedding<float>>? Dense, ISparseEmbedder? Sparse);
