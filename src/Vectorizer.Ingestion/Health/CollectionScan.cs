using System.Globalization;
using System.Text.Json;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Points;
using Vectorizer.Engine.Vectors;
using Vectorizer.Ingestion.Chunking;
using Vectorizer.Ingestion.Embeddings;

namespace Vectorizer.Ingestion.Health;

/// <summary>
/// One pass over a collection's points (scrolled through the engine, payloads and vectors) and its source root:
/// the five checks, and what a fix would have to delete and (re)index.
/// </summary>
internal sealed class CollectionScan
{
    public const string Orphans = "orphaned_embeddings";
    public const string Missing = "missing_embeddings";
    public const string ContentSync = "content_sync";
    public const string Integrity = "integrity";
    public const string Metadata = "metadata";

    /// <summary>Payload fields every chunk of a file must have.</summary>
    public static readonly string[] RequiredFields = ["file_path", "chunk_index", "start_line", "end_line", "content", "content_hash", "file_hash"];

    /// <summary>Payload fields every page point of a file (<see cref="PageVectorConfig"/>) must have.</summary>
    public static readonly string[] RequiredPageFields = ["file_path", "content", "content_hash", "file_hash"];

    /// <summary>Payload fields chunks normally have; their absence is INFO.</summary>
    public static readonly string[] OptionalFields = ["mtime", "language"];

    private const int PageSize = 512;

    private readonly string root;
    private readonly int maxExamples;
    private readonly Dictionary<string, FileGroup> files = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, long> missingFields = new(StringComparer.Ordinal);
    private readonly SortedDictionary<string, long> missingOptional = new(StringComparer.Ordinal);
    private readonly List<HealthExample> metadataExamples = [];
    private readonly List<HealthExample> integrityExamples = [];
    private readonly List<string> missingFiles = [];
    private long metadataPoints;
    private long integrityPoints;
    private long zeroVectors;
    private long nonFinite;
    private long wrongDimension;
    private long missingVectors;
    private int eligibleFiles;
    private int indexedEligibleFiles;

    private CollectionScan(string root, int maxExamples)
    {
        this.root = root;
        this.maxExamples = maxExamples;
    }

    public long Points { get; private set; }

    /// <summary>Files that point at least one chunk has, by full path.</summary>
    public IReadOnlyCollection<FileGroup> Files => files.Values;

    /// <summary>Eligible files under the root with no chunk (full paths, sorted).</summary>
    public IReadOnlyList<string> MissingFiles => missingFiles;

    /// <summary>Points with an integrity or metadata issue but no <c>file_path</c>: nothing to re-index them from.</summary>
    public long UnattributedIssues { get; private set; }

    public IReadOnlyList<CheckResult> Checks { get; private set; } = [];

    public HealthStatus Status => HealthReport.Worst(Checks.Select(c => c.Status));

    /// <summary>The chunks that name one file (under one or more spellings of its path).</summary>
    internal sealed class FileGroup(string fullPath)
    {
        public string FullPath { get; } = fullPath;

        public SortedSet<string> StoredPaths { get; } = new(StringComparer.Ordinal);

        public List<PointId> Ids { get; } = [];

        public List<string?> FileHashes { get; } = [];

        public bool Exists { get; set; }

        public int StalePoints { get; set; }

        public int CorruptChunks { get; set; }

        public string? ReadError { get; set; }

        /// <summary>Some chunk has an integrity or metadata issue: re-indexing the file replaces it.</summary>
        public bool NeedsRepair { get; set; }

        public bool OutOfSync => StalePoints > 0 || CorruptChunks > 0 || ReadError is not null;

        /// <summary>The spelling to store when re-indexing: a relative one when there is one.</summary>
        public string PreferredPath => StoredPaths.FirstOrDefault(p => !Path.IsPathRooted(p)) ?? StoredPaths.Min!;
    }

    public static CollectionScan Run(Collection collection, string root, string? skipDirectory, int maxExamples, CancellationToken cancellationToken)
    {
        var scan = new CollectionScan(root, maxExamples);
        var embedding = collection.Config.Embedding is { } stored ? EmbeddingConfig.FromStored(stored) : null;
        var denseVector = embedding?.Dense?.Vector;
        var pageVector = embedding?.Page?.Vector;
        PointId? offset = null;
        do
        {
            cancellationToken.ThrowIfCancellationRequested();
            var page = collection.Scroll(new ScrollRequest { Limit = PageSize, Offset = offset, WithPayload = PayloadSelector.All, WithVector = VectorSelector.All });
            foreach (var point in page.Points)
            {
                // A page point has the page vector and no chunk fields; it is checked, repaired and removed with its file.
                var isPage = IngestionService.IsPage(point.Payload);
                scan.Visit(collection.Config, isPage ? pageVector : denseVector, point, isPage);
            }

            offset = page.NextPageOffset;
        }
        while (offset is not null);

        scan.CheckFiles(skipDirectory, cancellationToken);
        scan.Checks = [scan.OrphanCheck(), scan.MissingCheck(), scan.ContentSyncCheck(), scan.IntegrityCheck(), scan.MetadataCheck()];
        return scan;
    }

    private void Visit(CollectionConfig config, string? denseVector, PointRecord point, bool page)
    {
        Points++;
        var payload = point.Payload?.Root ?? default;
        var filePath = StringField(payload, "file_path") is { Length: > 0 } p ? p : null;
        var id = point.Id.ToString();

        var missing = new List<string>();
        foreach (var field in page ? RequiredPageFields : RequiredFields)
        {
            if (!IsValid(payload, field))
            {
                missing.Add(field);
                missingFields[field] = missingFields.GetValueOrDefault(field) + 1;
            }
        }

        foreach (var field in page ? [] : OptionalFields)
        {
            if (payload.ValueKind != JsonValueKind.Object || !payload.TryGetProperty(field, out _))
            {
                missingOptional[field] = missingOptional.GetValueOrDefault(field) + 1;
            }
        }

        if (missing.Count > 0)
        {
            metadataPoints++;
            Example(metadataExamples, new HealthExample(filePath, id, "missing or invalid: " + string.Join(", ", missing)));
        }

        var vectorIssue = VectorIssue(config, denseVector, point.Vectors);
        if (vectorIssue is not null)
        {
            integrityPoints++;
            Example(integrityExamples, new HealthExample(filePath, id, vectorIssue));
        }

        if (filePath is null)
        {
            UnattributedIssues += missing.Count > 0 || vectorIssue is not null ? 1 : 0;
            return;
        }

        var fullPath = SourceFiles.Resolve(root, filePath);
        if (!files.TryGetValue(fullPath, out var group))
        {
            files[fullPath] = group = new FileGroup(fullPath);
        }

        group.StoredPaths.Add(filePath);
        group.Ids.Add(point.Id);
        group.FileHashes.Add(StringField(payload, "file_hash"));
        group.NeedsRepair |= missing.Count > 0 || vectorIssue is not null;
        if (StringField(payload, "content") is { } content && StringField(payload, "content_hash") is { } contentHash
            && !string.Equals(Hashes.Sha256Hex(content), contentHash, StringComparison.OrdinalIgnoreCase))
        {
            group.CorruptChunks++;
        }
    }

    /// <summary>The first problem of a point's dense vectors, counting every problem found; null when they are fine.</summary>
    private string? VectorIssue(CollectionConfig config, string? denseVector, IReadOnlyDictionary<string, float[]>? vectors)
    {
        string? issue = null;
        foreach (var (name, parameters) in config.Vectors)
        {
            var label = name.Length == 0 ? "vector" : $"vector `{name}`";
            if (vectors is null || !vectors.TryGetValue(name, out var vector))
            {
                if (name == denseVector)
                {
                    missingVectors++;
                    issue ??= $"{label} is missing";
                }

                continue;
            }

            if (vector.Length != parameters.Size)
            {
                wrongDimension++;
                issue ??= $"{label} has {vector.Length} dimensions, the collection {parameters.Size}";
            }
            else if (!VectorKernels.AllFinite(vector))
            {
                nonFinite++;
                issue ??= $"{label} contains NaN or infinite values";
            }
            else if (!vector.AsSpan().ContainsAnyExcept(0f))
            {
                zeroVectors++;
                issue ??= $"{label} is all zeros";
            }
        }

        return issue;
    }

    /// <summary>Which indexed files still exist and changed; which eligible files have no chunk.</summary>
    private void CheckFiles(string? skipDirectory, CancellationToken cancellationToken)
    {
        foreach (var group in files.Values)
        {
            cancellationToken.ThrowIfCancellationRequested();
            group.Exists = File.Exists(group.FullPath);
            if (!group.Exists)
            {
                continue;
            }

            try
            {
                var hash = Hashes.Sha256Hex(File.ReadAllText(group.FullPath));
                foreach (var stored in group.FileHashes)
                {
                    group.StalePoints += stored is not null && !string.Equals(stored, hash, StringComparison.OrdinalIgnoreCase) ? 1 : 0;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                group.ReadError = e.Message;
            }
        }

        foreach (var path in SourceFiles.Enumerate(root, skipDirectory))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (files.ContainsKey(path))
            {
                indexedEligibleFiles++;
                eligibleFiles++;
            }
            else
            {
                missingFiles.Add(path);
                eligibleFiles++;
            }
        }
    }

    private CheckResult OrphanCheck()
    {
        var orphans = files.Values.Where(g => !g.Exists).OrderBy(g => g.FullPath, StringComparer.Ordinal).ToList();
        var points = orphans.Sum(g => (long)g.Ids.Count);
        var details = Details(("indexed_files", files.Count), ("orphaned_points", points));
        return orphans.Count == 0
            ? new CheckResult(Orphans, HealthStatus.Pass, 0, $"every indexed file exists ({files.Count})", []) { Details = details }
            : new CheckResult(Orphans, HealthStatus.Fail, orphans.Count, $"{Plural(orphans.Count, "indexed file")} no longer {(orphans.Count == 1 ? "exists" : "exist")} ({Plural(points, "point")})",
                orphans.Take(maxExamples).Select(g => new HealthExample(g.PreferredPath, null, $"source file is gone; {Plural(g.Ids.Count, "point")}")).ToList())
            { Details = details };
    }

    private CheckResult MissingCheck()
    {
        var coverage = eligibleFiles == 0 ? 100.0 : Math.Round(100.0 * indexedEligibleFiles / eligibleFiles, 2);
        var details = Details(("eligible_files", eligibleFiles), ("indexed_files", indexedEligibleFiles), ("coverage_percent", coverage));
        var text = coverage.ToString("0.##", CultureInfo.InvariantCulture);
        if (missingFiles.Count > 0)
        {
            return new CheckResult(Missing, HealthStatus.Fail, missingFiles.Count,
                $"{Plural(missingFiles.Count, "file")} under the root not indexed; coverage {text}% ({indexedEligibleFiles} of {eligibleFiles})",
                missingFiles.Take(maxExamples).Select(f => new HealthExample(SourceFiles.Relative(root, f), null, "not indexed")).ToList())
            { Details = details };
        }

        return eligibleFiles == 0
            ? new CheckResult(Missing, HealthStatus.Info, 0, "no eligible files under the root", []) { Details = details }
            : new CheckResult(Missing, HealthStatus.Pass, 0, $"coverage 100% ({eligibleFiles} files)", []) { Details = details };
    }

    private CheckResult ContentSyncCheck()
    {
        var outOfSync = files.Values.Where(g => g.Exists && g.OutOfSync).OrderBy(g => g.FullPath, StringComparer.Ordinal).ToList();
        var stale = outOfSync.Sum(g => (long)g.StalePoints);
        var corrupt = outOfSync.Sum(g => (long)g.CorruptChunks);
        var details = Details(("stale_points", stale), ("corrupt_chunks", corrupt));
        if (outOfSync.Count == 0)
        {
            return new CheckResult(ContentSync, HealthStatus.Pass, 0, $"every indexed file matches its chunks ({files.Values.Count(g => g.Exists)})", []) { Details = details };
        }

        return new CheckResult(ContentSync, HealthStatus.Fail, outOfSync.Count,
            $"{Plural(outOfSync.Count, "file")} out of sync with the index ({Plural(stale, "stale point")}, {Plural(corrupt, "corrupt chunk")})",
            outOfSync.Take(maxExamples).Select(g => new HealthExample(g.PreferredPath, null, g.ReadError is { } error ? "cannot read the file: " + error
                : g.StalePoints > 0 ? $"file changed since it was indexed: {g.StalePoints} of {g.Ids.Count} chunks have another file_hash"
                : $"{Plural(g.CorruptChunks, "chunk")} whose content does not match content_hash")).ToList())
        { Details = details };
    }

    private CheckResult IntegrityCheck()
    {
        var details = Details(("zero_vectors", zeroVectors), ("non_finite", nonFinite), ("wrong_dimension", wrongDimension), ("missing_vectors", missingVectors));
        return integrityPoints == 0
            ? new CheckResult(Integrity, HealthStatus.Pass, 0, $"every vector is finite, non-zero and of the collection's dimensions ({Plural(Points, "point")})", []) { Details = details }
            : new CheckResult(Integrity, HealthStatus.Fail, integrityPoints, $"{Plural(integrityPoints, "point")} with invalid vectors", integrityExamples) { Details = details };
    }

    private CheckResult MetadataCheck()
    {
        IReadOnlyList<KeyValuePair<string, object>> details =
        [
            new("missing_fields", (IReadOnlyDictionary<string, long>)missingFields),
            new("missing_optional", (IReadOnlyDictionary<string, long>)missingOptional),
        ];
        if (metadataPoints > 0)
        {
            return new CheckResult(Metadata, HealthStatus.Fail, metadataPoints,
                $"{Plural(metadataPoints, "point")} without every required field ({string.Join(", ", RequiredFields)})", metadataExamples)
            { Details = details };
        }

        return missingOptional.Count > 0
            ? new CheckResult(Metadata, HealthStatus.Info, 0, $"required fields present; some points lack {string.Join(", ", missingOptional.Keys)}", []) { Details = details }
            : new CheckResult(Metadata, HealthStatus.Pass, 0, $"every point has the required fields ({Plural(Points, "point")})", []) { Details = details };
    }

    private void Example(List<HealthExample> examples, HealthExample example)
    {
        if (examples.Count < maxExamples)
        {
            examples.Add(example);
        }
    }

    private static string? StringField(JsonElement payload, string name) =>
        payload.ValueKind == JsonValueKind.Object && payload.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static bool IsValid(JsonElement payload, string field)
    {
        if (payload.ValueKind != JsonValueKind.Object || !payload.TryGetProperty(field, out var value))
        {
            return false;
        }

        return field switch
        {
            "chunk_index" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var index) && index >= 0,
            "start_line" or "end_line" => value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var line) && line >= 1,
            "content" => value.ValueKind == JsonValueKind.String,
            "content_hash" or "file_hash" => value.ValueKind == JsonValueKind.String && value.GetString()!.Length == 64,
            _ => value.ValueKind == JsonValueKind.String && value.GetString()!.Length > 0,
        };
    }

    private static List<KeyValuePair<string, object>> Details(params (string Key, double Value)[] numbers) =>
        numbers.Select(n => new KeyValuePair<string, object>(n.Key, n.Value)).ToList();

    private static string Plural(long count, string noun) => count == 1 ? $"1 {noun}" : $"{count} {noun}s";
}
