using System.Text.Json;
using System.Text.Json.Serialization;

namespace Vectorizer.Server.Backups;

/// <summary>
/// <c>manifest.json</c>, the first member of every backup archive (<see cref="BackupArchive"/>). It lists every file of
/// every collection the backup restores, each with its size and SHA-256, and says which archive holds it: this one
/// (<see cref="BackupFile.From"/> null) or an ancestor of an incremental chain.
/// </summary>
public sealed class BackupManifest
{
    [JsonPropertyName("format")]
    public int Format { get; set; } = BackupArchive.FormatVersion;

    /// <summary>Always <c>vectorizer-backup</c>: tells our archives from other tar files.</summary>
    [JsonPropertyName("kind")]
    public string Kind { get; set; } = BackupArchive.Kind;

    [JsonPropertyName("id")]
    public string Id { get; set; } = "";

    /// <summary><c>full</c> or <c>incremental</c>.</summary>
    [JsonPropertyName("type")]
    public string Type { get; set; } = "full";

    /// <summary>An incremental's parent (the backup it builds on).</summary>
    [JsonPropertyName("parent")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Parent { get; set; }

    /// <summary>Every backup this one needs, nearest first (an incremental's parent, its parent, ..., the full one).</summary>
    [JsonPropertyName("chain")]
    public List<string> Chain { get; set; } = [];

    [JsonPropertyName("created_at")]
    public DateTimeOffset CreatedAt { get; set; }

    [JsonPropertyName("server_version")]
    public string ServerVersion { get; set; } = "";

    /// <summary><c>gzip</c> or <c>none</c>.</summary>
    [JsonPropertyName("compression")]
    public string Compression { get; set; } = "gzip";

    /// <summary>What made it: <c>backup</c>, <c>schedule</c>, <c>snapshot</c> (Qdrant's API), <c>safety</c> (before a restore).</summary>
    [JsonPropertyName("origin")]
    public string Origin { get; set; } = "backup";

    /// <summary>True when it holds every collection (and the aliases), not chosen ones.</summary>
    [JsonPropertyName("all_collections")]
    public bool AllCollections { get; set; }

    [JsonPropertyName("collections")]
    public List<BackupCollection> Collections { get; set; } = [];

    /// <summary>Aliases of the collections it holds: alias → collection.</summary>
    [JsonPropertyName("aliases")]
    public SortedDictionary<string, string> Aliases { get; set; } = new(StringComparer.Ordinal);
}

public sealed class BackupCollection
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = "";

    /// <summary>Live points when it was taken.</summary>
    [JsonPropertyName("points")]
    public long Points { get; set; }

    /// <summary>The LSN of the last operation it holds.</summary>
    [JsonPropertyName("lsn")]
    public long Lsn { get; set; }

    /// <summary>An incremental: the LSN its parent held (it holds the operations after it, up to <see cref="Lsn"/>).</summary>
    [JsonPropertyName("parent_lsn")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? ParentLsn { get; set; }

    /// <summary>The collection's <c>collection.json</c>, as stored (also among the files, verified there).</summary>
    [JsonPropertyName("config")]
    public JsonElement Config { get; set; }

    [JsonPropertyName("files")]
    public List<BackupFile> Files { get; set; } = [];
}

public sealed class BackupFile
{
    /// <summary>Relative to the collection's folder, <c>/</c>-separated.</summary>
    [JsonPropertyName("path")]
    public string Path { get; set; } = "";

    [JsonPropertyName("size")]
    public long Size { get; set; }

    /// <summary>Lowercase hex.</summary>
    [JsonPropertyName("sha256")]
    public string Sha256 { get; set; } = "";

    /// <summary>The ancestor that holds the file (an incremental); null: this archive holds it.</summary>
    [JsonPropertyName("from")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? From { get; set; }
}

[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(BackupManifest))]
internal sealed partial class BackupManifestJson : JsonSerializerContext;
