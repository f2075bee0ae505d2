using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Payload;
using Vectorizer.Ingestion;
using Vectorizer.Ingestion.Chunking;
using Vectorizer.Ingestion.Embeddings;
using Vectorizer.Ingestion.Files;

namespace Vectorizer.Bench;

/// <summary>
/// Relevance on git's documentation (<see cref="GitDocsQuestions"/>) for several ways of indexing and ranking: each
/// indexing variant (chunk size and overlap, whether a chunk's context — title, summary line, section path — is
/// embedded with it, the model's token window) is indexed by the real file indexer into its own collection of one
/// data directory, whose embedding cache the variants share (a variant that only changes what BM25 reads embeds
/// nothing again, and a second run of the benchmark embeds nothing at all). Each question is searched dense and
/// sparse (50 deep) through <see cref="IngestionService.SearchTextAsync(Collection, TextSearchRequest, CancellationToken)"/>,
/// and the lists are fused here with RRF at several k and weights (the engine's formula), besides the engine's own
/// hybrid answer. A hit: a chunk of an answering page among the first n; MRR over the first 10.
/// </summary>
public static class RelevanceBenchmark
{
    /// <summary><paramref name="Embedder"/>: <c>local</c> (the default: local + bm25 + page vectors), <c>nopage</c> (local + bm25 without page vectors), <c>hash</c> (hash + bm25), <c>hashpage</c> (hash + bm25 + page vectors).</summary>
    public sealed record Variant(string Name, int MaxChars, int Overlap, ChunkContextUse Context, int? MaxTokens, string Embedder = "local")
    {
        /// <summary>The collection indexed and searched (default: <see cref="Name"/>); <c>label@collection=...</c> searches another variant's collection.</summary>
        public string? Collection { get; init; }

        /// <summary>Pseudo-relevance feedback of the served hybrid search (<c>.../prf:k:beta:page|chunk</c>; beta 0: none); such a variant computes only the served rows.</summary>
        public PseudoRelevanceFeedback? Feedback { get; init; }

        /// <summary>Only the served rows (a <c>prf:</c> variant).</summary>
        public bool Quick { get; init; }

        public string CollectionName => Collection ?? Name;
    }

    public sealed record Options(string Corpus, string DataDir, IReadOnlyList<Variant> Variants, bool Misses);

    /// <summary><c>name=maxChars/overlap/none|dense|both[/maxTokens|hash|hashpage|nopage]</c> (<c>hash</c>: dense <c>hash</c> instead of <c>local</c>; <c>page</c>: with page vectors).</summary>
    public static Variant ParseVariant(string spec)
    {
        var (name, rest) = spec.Split('=', 2) is [var n, var r] ? (n, r) : throw new ArgumentException($"variant `{spec}`: name=maxChars/overlap/context[/maxTokens]");
        string? collectionName = null;
        if (name.Split('@') is [var label, var target])
        {
            (name, collectionName) = (label, target);
        }

        PseudoRelevanceFeedback? feedback = null;
        var quick = false;
        if (rest.Split('/').LastOrDefault(p => p.StartsWith("prf:", StringComparison.Ordinal)) is { } prf)
        {
            var f = prf.Split(':');
            quick = true;
            feedback = f[2] == "0" ? null : new PseudoRelevanceFeedback(int.Parse(f[1], CultureInfo.InvariantCulture), float.Parse(f[2], CultureInfo.InvariantCulture),
                f.Length > 3 && f[3] == "chunk" ? FeedbackSource.Chunk : FeedbackSource.Page);
            rest = string.Join('/', rest.Split('/').Where(p => p != prf));
        }

        return Parse(name, rest) with { Collection = collectionName, Feedback = feedback, Quick = quick };
    }

    private static Variant Parse(string name, string rest)
    {
        var spec = rest;
        var parts = rest.Split('/');
        var context = parts[2] switch
        {
            "none" => ChunkContextUse.None,
            "dense" => ChunkContextUse.Dense,
            "both" => ChunkContextUse.DenseAndSparse,
            _ => throw new ArgumentException($"variant `{spec}`: context is none, dense or both"),
        };
        var embedder = parts.Length > 3 && parts[3] is "hash" or "hashpage" or "nopage" ? parts[3] : "local";
        return new Variant(name, int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture), context,
            parts.Length > 3 && embedder == "local" ? int.Parse(parts[3], CultureInfo.InvariantCulture) : null, embedder);
    }

    private sealed record Ranked(IReadOnlyList<string> Files, IReadOnlyList<string> Ids);

    public static string Run(Options options, TextWriter log)
    {
        var corpus = Path.Combine(options.DataDir, "corpus");
        if (!Directory.Exists(corpus))
        {
            Directory.CreateDirectory(corpus);
            foreach (var file in Directory.EnumerateFiles(options.Corpus, "*.txt"))
            {
                File.Copy(file, Path.Combine(corpus, Path.GetFileName(file)));
            }
        }

        var report = new StringBuilder();
        var rows = new List<IReadOnlyList<string>>();
        using var manager = CollectionManager.Open(new EngineOptions { DataDir = Path.Combine(options.DataDir, "data") }, NullLoggerFactory.Instance);
        foreach (var variant in options.Variants)
        {
            using var ingestion = new IngestionService(manager.DataDirectory, NullLoggerFactory.Instance, options: new IngestionOptions { ChunkContext = variant.Context, Feedback = variant.Feedback ?? (variant.Quick ? null : PseudoRelevanceFeedback.Default) });
            var embedding = variant.Embedder switch
            {
                "hash" => FileIndexerOptions.LexicalEmbedding,
                "hashpage" => FileIndexerOptions.LexicalEmbedding with { Page = new PageVectorConfig() },
                "nopage" => FileIndexerOptions.DefaultEmbedding with { Page = null },
                _ => FileIndexerOptions.DefaultEmbedding,
            };
            if (variant.MaxTokens is { } maxTokens)
            {
                embedding = embedding with { Dense = embedding.Dense! with { MaxTokens = maxTokens } };
            }

            var indexer = new FileIndexer(manager, ingestion, new FileIndexerOptions
            {
                Roots = [corpus],
                DefaultCollection = variant.CollectionName,
                NewCollectionEmbedding = embedding,
                Chunking = new ChunkerOptions { MaxChars = variant.MaxChars, Overlap = variant.Overlap },
            }, NullLogger.Instance);
            var files = indexer.EnumerateFiles(corpus);
            var clock = Stopwatch.StartNew();
            var indexed = 0;
            for (var start = 0; start < files.Count; start += 16)
            {
                var result = indexer.IndexFilesAsync(files.Skip(start).Take(16).ToList(), CancellationToken.None).GetAwaiter().GetResult();
                indexed += result.Files.Count(f => f.Outcome == FileOutcome.Indexed);
                var failed = result.Files.FirstOrDefault(f => f.Outcome == FileOutcome.Failed);
                if (failed is not null)
                {
                    throw new InvalidOperationException($"{failed.Path}: {failed.Reason}");
                }

                log.WriteLine($"{variant.Name}: {Math.Min(start + 16, files.Count)}/{files.Count} files ({indexed} indexed now) {clock.Elapsed.TotalSeconds:F0} s");
            }

            var collection = manager.Get(variant.CollectionName);
            log.WriteLine($"{variant.Name}: {collection.Count(null)} points");
            var quick = variant.Quick;
            var documentVectors = new List<(string, (string File, float[] Vector)[])>();
            foreach (var (docName, makeText) in quick ? [] : DocumentTexts)
            {
                var docFiles = Directory.EnumerateFiles(corpus, "*.txt").Order(StringComparer.Ordinal).ToList();
                var texts = docFiles.Select(f => makeText(File.ReadAllText(f).Replace("\r\n", "\n", StringComparison.Ordinal), f)).ToList();
                var vectors = Embed(ingestion, collection, [.. texts], query: false);
                documentVectors.Add((docName, [.. docFiles.Select((f, i) => (Path.GetFileName(f), vectors[i]))]));
                log.WriteLine($"doc[{docName}] example: {texts[docFiles.FindIndex(f => f.EndsWith("git-stash.txt", StringComparison.Ordinal))]}");
            }

            var chunkVectors = new List<(string File, string Id, float[] Vector)>();
            if (!quick)
            {
                var chunkFiles = Directory.EnumerateFiles(corpus, "*.txt").Order(StringComparer.Ordinal).ToList();
                var chunkTexts = new List<string>();
                foreach (var f in chunkFiles)
                {
                    foreach (var c in ChunkerPicker.ChunkFile(f, new ChunkerOptions { MaxChars = variant.MaxChars, Overlap = variant.Overlap }))
                    {
                        chunkTexts.Add(c.Context is { Length: > 0 } ctx && variant.Context != ChunkContextUse.None ? ctx + "\n\n" + c.Content : c.Content);
                        chunkVectors.Add((Path.GetFileName(f), FileIndexer.ChunkId(Path.GetFullPath(corpus), Path.GetFileName(f), c.ChunkIndex).ToString(), []));
                    }
                }

                var cv = Embed(ingestion, collection, [.. chunkTexts], query: false);
                for (var i = 0; i < cv.Length; i++)
                {
                    chunkVectors[i] = chunkVectors[i] with { Vector = cv[i] };
                }
            }

            foreach (var (setName, questions) in new[] { ("paraphrased", GitDocsQuestions.Paraphrased), ("keyword", GitDocsQuestions.Keyword) })
            {
                // dense and sparse: 50-deep lists of chunks (no grouping per document), fused below as the engine fuses them.
                var dense = new List<Ranked>();
                var sparse = new List<Ranked>();
                var denseServed = new List<Ranked>();
                var sparseServed = new List<Ranked>();
                var hybrid = new List<Ranked>();
                var hybridChunks = new List<Ranked>();
                foreach (var (query, _) in questions)
                {
                    dense.Add(Search(ingestion, collection, query, TextSearchMode.Dense, 50, maxPerDocument: 0));
                    sparse.Add(Search(ingestion, collection, query, TextSearchMode.Sparse, 50, maxPerDocument: 0));
                    denseServed.Add(Search(ingestion, collection, query, TextSearchMode.Dense, 10));
                    sparseServed.Add(Search(ingestion, collection, query, TextSearchMode.Sparse, 10));
                    hybrid.Add(Search(ingestion, collection, query, TextSearchMode.Hybrid, 10));
                    hybridChunks.Add(Search(ingestion, collection, query, TextSearchMode.Hybrid, 10, maxPerDocument: 0));
                }

                void Row(string ranking, IReadOnlyList<Ranked> lists)
                {
                    var (h1, h5, mrr) = Score(questions, lists);
                    rows.Add([variant.Name + (variant.Feedback is { } fb ? $" (prf k={fb.Documents} beta={fb.Beta:0.0#} {fb.Source.ToString().ToLowerInvariant()})" : ""), variant.Embedder, $"{variant.MaxChars}/{variant.Overlap}", variant.Context.ToString(), (variant.MaxTokens ?? 256).ToString(CultureInfo.InvariantCulture),
                        setName, ranking, Stats.F(h1, 3), Stats.F(h5, 3), Stats.F(mrr, 3)]);
                    log.WriteLine(string.Join(" | ", rows[^1]));
                }

                if (quick)
                {
                    Row("dense (engine)", denseServed);
                    Row("sparse (engine)", sparseServed);
                    Row("hybrid (engine)", hybrid);
                    Row("hybrid chunks (engine, max_per_document 0)", hybridChunks);
                }
                else
                {
                    Row("dense chunks", dense);
                    Row("sparse chunks", sparse);
                    Row("hybrid chunks (engine, max_per_document 0)", hybridChunks);
                    Row("dense (engine)", denseServed);
                    Row("sparse (engine)", sparseServed);
                    Row("hybrid (engine)", hybrid);
                    foreach (var k in new[] { 2, 10, 60 })
                    {
                        foreach (var weight in new[] { 1f, 1.5f, 2f })
                        {
                            Row($"rrf k={k} wd={weight:0.#}", [.. dense.Select((d, i) => Rrf(d, sparse[i], k, weight, 1f))]);
                        }
                    }

                    // Per document: the metric counts documents, so a page's second chunk is wasted room in a top 5.
                    var hybridDeep = questions.Select(q => Search(ingestion, collection, q.Query, TextSearchMode.Hybrid, 50, maxPerDocument: 0)).ToList();
                    Row("hybrid (engine), per doc", [.. hybridDeep.Select(PerDocument)]);
                    Row("rrf k=60 per doc", [.. dense.Select((d, i) => FileRrf([PerDocument(d), PerDocument(sparse[i])], [1f, 1f], 60))]);
                    var queryVectors = Embed(ingestion, collection, [.. questions.Select(q => q.Query)], query: true);
                    foreach (var (docName, docVectors) in documentVectors)
                    {
                        var docLists = queryVectors.Select(q => RankDocuments(q, docVectors)).ToList();
                        foreach (var k in new[] { 10, 60 })
                        {
                            foreach (var w in new[] { 0.5f, 1f })
                            {
                                Row($"hybrid per doc, rrf k={k} + doc[{docName}] w={w:0.#}", [.. hybridDeep.Select((h, i) => FileRrf([PerDocument(h), docLists[i]], [1f, w], k))]);
                            }
                        }

                        var byFile = docVectors.ToDictionary(d => d.File, d => d.Vector);
                        foreach (var alpha in new[] { 0f, 0.3f, 0.6f, 1f })
                        {
                            var mixed = chunkVectors.Select(c => (c.File, c.Id, Vector: Mix(c.Vector, byFile[c.File], alpha))).ToArray();
                            var mixedDense = queryVectors.Select(q => RankChunks(q, mixed)).ToList();
                            Row($"mixed dense a={alpha:0.#} doc[{docName}]", mixedDense);
                            Row($"mixed dense a={alpha:0.#} doc[{docName}] + sparse rrf60 per doc", [.. mixedDense.Select((d, i) => PerDocument(Rrf(d, sparse[i], 60, 1f, 1f)))]);
                        }

                        Row($"doc[{docName}] alone", docLists);
                        foreach (var k in new[] { 10, 60 })
                        {
                            foreach (var w in new[] { 0.5f, 1f, 2f })
                            {
                                Row($"per doc rrf k={k} + doc[{docName}] w={w:0.#}", [.. dense.Select((d, i) => FileRrf([PerDocument(d), PerDocument(sparse[i]), docLists[i]], [1f, 1f, w], k))]);
                            }
                        }
                    }
                }

                // Latency of the served hybrid search (limit 10, query embedding included), 3 rounds over the questions.
                var latencies = new List<double>();
                for (var round = 0; round < 3; round++)
                {
                    foreach (var (query, _) in questions)
                    {
                        var watch = Stopwatch.StartNew();
                        Search(ingestion, collection, query, TextSearchMode.Hybrid, 10);
                        latencies.Add(watch.Elapsed.TotalMilliseconds);
                    }
                }

                latencies.Sort();
                log.WriteLine($"{variant.Name} {setName}: hybrid search latency p50 {Stats.Percentile([.. latencies], 50):F1} ms, p99 {Stats.Percentile([.. latencies], 99):F1} ms ({latencies.Count} searches)");
                if (options.Misses)
                {
                    for (var i = 0; i < questions.Length; i++)
                    {
                        if (!hybrid[i].Files.Take(5).Any(f => questions[i].Files.Contains(f)))
                        {
                            log.WriteLine($"  MISS {setName}: {questions[i].Query} -> {string.Join(", ", hybrid[i].Files.Take(5))}");
                        }
                    }
                }
            }
        }

        report.AppendLine(CultureInfo.InvariantCulture, $"Corpus: the {Directory.EnumerateFiles(corpus, "*.txt").Count()} top-level pages of `{options.Corpus}`; " +
            $"{GitDocsQuestions.Paraphrased.Length} paraphrased and {GitDocsQuestions.Keyword.Length} keyword questions. hit@n: a chunk of an answering page among the first n; MRR over the first 10.\n");
        report.Append(Stats.Table(["variant", "embedders", "chunk chars/overlap", "context", "max tokens", "questions", "ranking", "hit@1", "hit@5", "MRR@10"], rows));
        return report.ToString();
    }

    private static Ranked Search(IngestionService ingestion, Collection collection, string query, TextSearchMode mode, int limit, int maxPerDocument = TextSearchRequest.DefaultMaxPerDocument)
    {
        var request = new TextSearchRequest { Query = query, Limit = limit, Mode = mode, WithPayload = PayloadSelector.All, MaxPerDocument = maxPerDocument };
        var points = ingestion.SearchTextAsync(collection, request, CancellationToken.None)
            .GetAwaiter().GetResult();
        return new Ranked(
            [.. points.Select(p => p.Payload!.Root.GetProperty("file_path").GetString()!)],
            [.. points.Select(p => p.Id.ToString())]);
    }

    /// <summary>The engine's RRF: 1 / ((p + 1) / w + k − 1) summed over the lists; ties by first appearance.</summary>
    private static Ranked Rrf(Ranked dense, Ranked sparse, int k, float denseWeight, float sparseWeight)
    {
        var scores = new Dictionary<string, (double Score, string File, int Order)>();
        var order = 0;
        foreach (var (list, weight) in new[] { (dense, denseWeight), (sparse, sparseWeight) })
        {
            for (var p = 0; p < list.Ids.Count; p++)
            {
                var contribution = 1.0 / (((p + 1) / weight) + k - 1);
                scores[list.Ids[p]] = scores.TryGetValue(list.Ids[p], out var s) ? (s.Score + contribution, s.File, s.Order) : (contribution, list.Files[p], order++);
            }
        }

        var fused = scores.Values.OrderByDescending(s => s.Score).ThenBy(s => s.Order).Take(10).ToList();
        return new Ranked([.. fused.Select(s => s.File)], [.. fused.Select(s => s.File)]);
    }

    private static readonly (string Name, Func<string, string, string> Text)[] DocumentTexts =
    [
        ("title+summary", (text, path) => DocumentOutline.Parse(text, path).ContextAt(0)?.Split('\n')[0] ?? Path.GetFileName(path)),
        ("title+summary+headings", (text, path) =>
        {
            var outline = DocumentOutline.Parse(text, path);
            return (outline.ContextAt(0)?.Split('\n')[0] ?? Path.GetFileName(path)) + "\n" + string.Join("; ", outline.Headings.Select(h => h.Text).Distinct());
        }),
        ("title+summary+lead", (text, path) =>
        {
            var outline = DocumentOutline.Parse(text, path);
            return (outline.ContextAt(0)?.Split('\n')[0] ?? Path.GetFileName(path)) + "\n" + Lead(text, 700);
        }),
    ];

    /// <summary>The first prose paragraphs after the first one (sentences of 8+ words, not markup), up to <paramref name="max"/> characters.</summary>
    private static string Lead(string text, int max)
    {
        var lead = new StringBuilder();
        var first = true;
        foreach (var paragraph in text.Split("\n\n"))
        {
            var p = string.Join(' ', paragraph.Split('\n').Select(l => l.Trim()));
            var words = p.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
            if (words < 8 || p.Length == 0 || p[0] is '[' or ':' or '\'' or '-' or '=' or '|' or '/' or '*' or '.' || !p.Contains(". ", StringComparison.Ordinal) && !p.EndsWith('.'))
            {
                continue;
            }

            if (first)
            {
                first = false;
                continue;
            }

            lead.Append(p).Append(' ');
            if (lead.Length >= max)
            {
                break;
            }
        }

        return lead.Length > max ? lead.ToString(0, max) : lead.ToString();
    }

    private static float[][] Embed(IngestionService ingestion, Collection collection, string[] texts, bool query)
    {
        var generator = ingestion.For(collection).Dense!;
        var options = query ? new Microsoft.Extensions.AI.EmbeddingGenerationOptions { AdditionalProperties = new() { [IngestionService.QueryPropertyName] = true } } : null;
        var result = generator.GenerateAsync(texts, options, CancellationToken.None).GetAwaiter().GetResult();
        return [.. result.Select(e => e.Vector.ToArray())];
    }

    private static Ranked RankDocuments(float[] query, (string File, float[] Vector)[] documents)
    {
        var ranked = documents.Select(d => (d.File, Score: System.Numerics.Tensors.TensorPrimitives.Dot(query, d.Vector))).OrderByDescending(d => d.Score).Select(d => d.File).ToList();
        return new Ranked(ranked, ranked);
    }

    private static float[] Mix(float[] chunk, float[] document, float alpha)
    {
        var mixed = new float[chunk.Length];
        for (var i = 0; i < mixed.Length; i++)
        {
            mixed[i] = chunk[i] + (alpha * document[i]);
        }

        var norm = System.Numerics.Tensors.TensorPrimitives.Norm(mixed);
        System.Numerics.Tensors.TensorPrimitives.Divide(mixed, norm, mixed);
        return mixed;
    }

    private static Ranked RankChunks(float[] query, (string File, string Id, float[] Vector)[] chunks)
    {
        var ranked = chunks.Select(c => (c.File, c.Id, Score: System.Numerics.Tensors.TensorPrimitives.Dot(query, c.Vector))).OrderByDescending(c => c.Score).Take(50).ToList();
        return new Ranked([.. ranked.Select(r => r.File)], [.. ranked.Select(r => r.Id)]);
    }

    /// <summary>A list of chunks as a list of their documents, each at its best chunk's place.</summary>
    private static Ranked PerDocument(Ranked chunks)
    {
        var files = chunks.Files.Distinct().ToList();
        return new Ranked(files, files);
    }

    /// <summary>RRF over lists of documents (ids are file names).</summary>
    private static Ranked FileRrf(Ranked[] lists, float[] weights, int k)
    {
        var scores = new Dictionary<string, (double Score, int Order)>();
        var order = 0;
        for (var l = 0; l < lists.Length; l++)
        {
            var list = lists[l];
            for (var p = 0; p < Math.Min(50, list.Files.Count); p++)
            {
                var contribution = 1.0 / (((p + 1) / weights[l]) + k - 1);
                scores[list.Files[p]] = scores.TryGetValue(list.Files[p], out var s) ? (s.Score + contribution, s.Order) : (contribution, order++);
            }
        }

        var fused = scores.OrderByDescending(s => s.Value.Score).ThenBy(s => s.Value.Order).Take(10).Select(s => s.Key).ToList();
        return new Ranked(fused, fused);
    }

    private static (double Hit1, double Hit5, double Mrr) Score((string Query, string[] Files)[] questions, IReadOnlyList<Ranked> lists)
    {
        double h1 = 0, h5 = 0, mrr = 0;
        for (var i = 0; i < questions.Length; i++)
        {
            var files = lists[i].Files;
            var first = -1;
            for (var r = 0; r < Math.Min(10, files.Count); r++)
            {
                if (questions[i].Files.Contains(files[r]))
                {
                    first = r;
                    break;
                }
            }

            h1 += first == 0 ? 1 : 0;
            h5 += first is >= 0 and < 5 ? 1 : 0;
            mrr += first >= 0 ? 1.0 / (first + 1) : 0;
        }

        return (h1 / questions.Length, h5 / questions.Length, mrr / questions.Length);
    }
}
