using Vectorizer.Engine.Errors;
using Vectorizer.Ingestion.Chunking;
using Vectorizer.Ingestion.Embeddings;

namespace Vectorizer.Ingestion.Files;

/// <summary>
/// What the file indexer indexes and where it puts it (the <c>file_watcher</c> config section and the
/// <c>vectorizer index</c> flags both end up here).
/// </summary>
public sealed record FileIndexerOptions
{
    public const long DefaultMaxFileSize = 10L << 20;
    public const string DefaultCollectionName = "files";

    /// <summary>
    /// Excluded unless the configuration lists its own patterns (which then replace these): hidden files and
    /// directories (<c>.git</c>, and <c>.env</c>, <c>.npmrc</c> and the like, which hold credentials), dependencies and
    /// build output.
    /// </summary>
    public static readonly IReadOnlyList<string> DefaultExcludePatterns =
        [".*", "**/node_modules/**", "**/__pycache__/**", "**/bin/**", "**/obj/**"];

    /// <summary>
    /// What collections the indexer creates get when nothing is configured: the built-in sentence-embedding model
    /// (dense <c>local</c>, all-MiniLM-L6-v2, in-process) and BM25 (sparse), so hybrid search matches meaning and
    /// words with no service, key or setup.
    /// </summary>
    public static readonly EmbeddingConfig DefaultEmbedding = EmbeddingConfig.Parse(
        System.Text.Json.JsonDocument.Parse("""{"dense": {"provider": "local"}, "sparse": {"provider": "bm25"}, "page": {}}""").RootElement);

    /// <summary>Dense <c>hash</c> + sparse BM25: words only, no model (tiny machines, tests that need speed).</summary>
    public static readonly EmbeddingConfig LexicalEmbedding = new()
    {
        Dense = new DenseEmbedderConfig { Provider = "hash", Dimension = HashEmbeddingGenerator.DefaultDimension },
        Sparse = new SparseEmbedderConfig { Provider = "bm25" },
    };

    /// <summary>Absolute, normalised directories; every indexed file lies below one of them.</summary>
    public IReadOnlyList<string> Roots { get; init; } = [];

    public IReadOnlyList<Glob> Exclude { get; init; } = [.. DefaultExcludePatterns.Select(Glob.Parse)];

    /// <summary>Extensions (lower case, with the dot) to index; empty: every file that is not binary.</summary>
    public IReadOnlySet<string> IncludeExtensions { get; init; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>Larger files are skipped.</summary>
    public long MaxFileSize { get; init; } = DefaultMaxFileSize;

    /// <summary>Glob → collection, matched against the path relative to its root; the first match wins.</summary>
    public IReadOnlyList<(Glob Pattern, string Collection)> CollectionMapping { get; init; } = [];

    /// <summary>The collection of files no mapping matches.</summary>
    public string DefaultCollection { get; init; } = DefaultCollectionName;

    /// <summary>Embedders for the collections the indexer has to create; existing collections keep their own.</summary>
    public EmbeddingConfig NewCollectionEmbedding { get; init; } = DefaultEmbedding;

    public ChunkerOptions Chunking { get; init; } = ChunkerOptions.Default;

    /// <summary>Never indexed (the server's own files, when a root contains them); the indexer sets its engine's.</summary>
    public string? DataDirectory { get; init; }

    /// <summary>Files indexed at the same time (reading, chunking, embedding); 0 = the number of cores.</summary>
    public int Parallelism { get; init; }

    /// <summary>The full path of a directory as a root: absolute, without a trailing separator.</summary>
    public static string NormalizeRoot(string path) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));

    /// <summary>Normalises <c>.md</c>, <c>md</c> and <c>.MD</c> to <c>.md</c>; empty entries are dropped.</summary>
    public static HashSet<string> ParseExtensions(IEnumerable<string> extensions)
    {
        var result = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in extensions)
        {
            foreach (var part in item.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                result.Add((part.StartsWith('.') ? part : "." + part).ToLowerInvariant());
            }
        }

        return result;
    }

    /// <summary>Checks the options that the config and the command line cannot check by type; names the bad key.</summary>
    public static IEnumerable<(string Key, string Message)> Problems(IReadOnlyList<string> roots, long maxFileSize, string defaultCollection, IEnumerable<string> collections)
    {
        foreach (var root in roots)
        {
            if (string.IsNullOrWhiteSpace(root))
            {
                yield return ("watch_paths", "must not contain an empty path");
            }
        }

        if (maxFileSize < 1)
        {
            yield return ("max_file_size", "must be at least 1 byte");
        }

        foreach (var name in collections.Prepend(defaultCollection))
        {
            string? problem = null;
            try
            {
                Engine.Collections.CollectionNames.Validate(name);
            }
            catch (VectorizerException e)
            {
                problem = e.Message;
            }

            if (problem is not null)
            {
                yield return (name == defaultCollection ? "default_collection" : "collection_mapping", problem);
            }
        }
    }
}
