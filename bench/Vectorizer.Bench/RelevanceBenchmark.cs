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
    public sealed record Variant(string Name, int MaxChars, int Overlap, ChunkContextUse Context, int? MaxTokens);

    public sealed record Options(string Corpus, string DataDir, IReadOnlyList<Variant> Variants, bool Misses);

    /// <summary><c>name=maxChars/overlap/none|dense|both[/maxTokens]</c>.</summary>
    public static Variant ParseVariant(string spec)
    {
        var (name, rest) = spec.Split('=', 2) is [var n, var r] ? (n, r) : throw new ArgumentException($"variant `{spec}`: name=maxChars/overlap/context[/maxTokens]");
        var parts = rest.Split('/');
        var context = parts[2] switch
        {
            "none" => ChunkContextUse.None,
            "dense" => ChunkContextUse.Dense,
            "both" => ChunkContextUse.DenseAndSparse,
            _ => throw new ArgumentException($"variant `{spec}`: context is none, dense or both"),
        };
        return new Variant(name, int.Parse(parts[0], CultureInfo.InvariantCulture), int.Parse(parts[1], CultureInfo.InvariantCulture), context,
            parts.Length > 3 ? int.Parse(parts[3], CultureInfo.InvariantCulture) : null);
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
            using var ingestion = new IngestionService(manager.DataDirectory, NullLoggerFactory.Instance, options: new IngestionOptions { ChunkContext = variant.Context });
            var embedding = FileIndexerOptions.DefaultEmbedding;
            if (variant.MaxTokens is { } maxTokens)
            {
                embedding = embedding with { Dense = embedding.Dense! with { MaxTokens = maxTokens } };
            }

            var indexer = new FileIndexer(manager, ingestion, new FileIndexerOptions
            {
                Roots = [corpus],
                DefaultCollection = variant.Name,
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

            var collection = manager.Get(variant.Name);
            log.WriteLine($"{variant.Name}: {collection.Count(null)} chunks");
            foreach (var (setName, questions) in new[] { ("paraphrased", GitDocsQuestions.Paraphrased), ("keyword", GitDocsQuestions.Keyword) })
            {
                var dense = new List<Ranked>();
                var sparse = new List<Ranked>();
                var hybrid = new List<Ranked>();
                foreach (var (query, _) in questions)
                {
                    dense.Add(Search(ingestion, collection, query, TextSearchMode.Dense, 50));
                    sparse.Add(Search(ingestion, collection, query, TextSearchMode.Sparse, 50));
                    hybrid.Add(Search(ingestion, collection, query, TextSearchMode.Hybrid, 10));
                }

                void Row(string ranking, IReadOnlyList<Ranked> lists)
                {
                    var (h1, h5, mrr) = Score(questions, lists);
                    rows.Add([variant.Name, $"{variant.MaxChars}/{variant.Overlap}", variant.Context.ToString(), (variant.MaxTokens ?? 256).ToString(CultureInfo.InvariantCulture),
                        setName, ranking, Stats.F(h1, 3), Stats.F(h5, 3), Stats.F(mrr, 3)]);
                    log.WriteLine(string.Join(" | ", rows[^1]));
                }

                Row("dense", dense);
                Row("sparse", sparse);
                Row("hybrid (engine)", hybrid);
                foreach (var k in new[] { 2, 10, 60 })
                {
                    foreach (var weight in new[] { 1f, 1.5f, 2f })
                    {
                        Row($"rrf k={k} wd={weight:0.#}", [.. dense.Select((d, i) => Rrf(d, sparse[i], k, weight, 1f))]);
                    }
                }

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
        report.Append(Stats.Table(["variant", "chunk chars/overlap", "context", "max tokens", "questions", "ranking", "hit@1", "hit@5", "MRR@10"], rows));
        return report.ToString();
    }

    private static Ranked Search(IngestionService ingestion, Collection collection, string query, TextSearchMode mode, int limit)
    {
        var points = ingestion.SearchTextAsync(collection, new TextSearchRequest { Query = query, Limit = limit, Mode = mode, WithPayload = PayloadSelector.All }, CancellationToken.None)
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
