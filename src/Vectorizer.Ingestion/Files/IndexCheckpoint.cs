using System.Text.Json;
using System.Text.Json.Serialization;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Ingestion.Files;

/// <summary>
/// Progress of a full indexing run (<c>vectorizer index</c>), so a run that was killed resumes where it stopped:
/// the files (relative paths) already handled, for one root and collection. Lives in
/// <c>collections/&lt;name&gt;/ingest/index-checkpoint.json</c>, replaced atomically (write, fsync, rename) every few
/// files, deleted when the run completes. It also carries the run's cumulative embedding tokens and cost, so a run
/// stopped by <c>max_cost</c> and resumed is still held to one cap for the whole run. Losing it costs nothing but time: indexing is idempotent (hash-skip).
/// </summary>
public sealed class IndexCheckpoint
{
    public const int FormatVersion = 1;
    public const string FileName = "index-checkpoint.json";

    [JsonPropertyName("version")]
    public int Version { get; init; } = FormatVersion;

    [JsonPropertyName("root")]
    public required string Root { get; init; }

    [JsonPropertyName("collection")]
    public required string Collection { get; init; }

    [JsonPropertyName("started_at")]
    public DateTimeOffset StartedAt { get; init; } = DateTimeOffset.UtcNow;

    [JsonPropertyName("updated_at")]
    public DateTimeOffset UpdatedAt { get; set; } = DateTimeOffset.UtcNow;

    /// <summary>Embedding tokens this run has used so far, over all its resumes (held to <c>max_cost</c> with <see cref="Cost"/>).</summary>
    [JsonPropertyName("tokens")]
    public long Tokens { get; set; }

    /// <summary>What this run's embedding has cost so far, over all its resumes.</summary>
    [JsonPropertyName("cost")]
    public double Cost { get; set; }

    /// <summary>Relative paths of the files this run has handled (indexed, unchanged or skipped; not failed).</summary>
    [JsonPropertyName("completed")]
    public HashSet<string> Completed { get; init; } = new(StringComparer.Ordinal);

    public static string PathFor(string collectionDirectory) => Path.Combine(collectionDirectory, "ingest", FileName);

    /// <summary>The checkpoint at <paramref name="path"/> when it belongs to this root and collection; else null (unreadable ones too).</summary>
    public static IndexCheckpoint? Load(string path, string root, string collection)
    {
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            var checkpoint = JsonSerializer.Deserialize<IndexCheckpoint>(File.ReadAllBytes(path));
            return checkpoint is { Version: FormatVersion } && checkpoint.Root == root && checkpoint.Collection == collection ? checkpoint : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public void Save(string path)
    {
        UpdatedAt = DateTimeOffset.UtcNow;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        FileUtil.WriteAtomic(path, JsonSerializer.SerializeToUtf8Bytes(this));
    }
}
