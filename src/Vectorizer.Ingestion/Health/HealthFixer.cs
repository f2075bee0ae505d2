using System.Text.Json;
using Vectorizer.Engine.Collections;
using Vectorizer.Engine.Filters;
using Vectorizer.Engine.Operations;
using Vectorizer.Engine.Payload;
using Vectorizer.Engine.Points;
using Vectorizer.Ingestion.Chunking;

namespace Vectorizer.Ingestion.Health;

/// <summary>A file to (re)index: where it is, the <c>file_path</c> to store, and other spellings whose chunks it replaces.</summary>
public sealed record SourceFileToIndex(string FullPath, string StoredPath, IReadOnlyCollection<string> ReplacedPaths);

/// <summary>
/// The health check's repairs, on top of <see cref="IngestionService"/>: "index this file into the collection,
/// replacing its old chunks" (chunk, embed, upsert, then delete the file's points that the new chunks did not
/// overwrite) and "delete these points". Deliberately small: a file indexer can take its place.
/// </summary>
public sealed class HealthFixer(IngestionService ingestion)
{
    private static readonly JsonPath FilePathKey = JsonPath.Parse("file_path");

    public static async Task DeletePointsAsync(Collection collection, IReadOnlyList<PointId> ids, CancellationToken cancellationToken)
    {
        if (ids.Count > 0)
        {
            await collection.UpdateAsync(new DeletePointsOperation(PointSelector.ForIds(ids)), wait: true, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Indexes one file (the chunkers pick by extension) and removes its stale chunks; returns the points written.</summary>
    public async Task<int> IndexFileAsync(Collection collection, SourceFileToIndex file, CancellationToken cancellationToken)
    {
        var text = await File.ReadAllTextAsync(file.FullPath, cancellationToken).ConfigureAwait(false);
        var mtime = new DateTimeOffset(File.GetLastWriteTimeUtc(file.FullPath), TimeSpan.Zero);
        IReadOnlyList<PointId> ids = [];
        if (!string.IsNullOrWhiteSpace(text))
        {
            var document = new DocumentInput(null, text, Metadata(file.StoredPath, mtime));
            ids = (await ingestion.AddDocumentsAsync(collection, [document], ChunkerOptions.Default, wait: true, cancellationToken).ConfigureAwait(false)).Ids;
        }

        // Chunks of the old version that the new chunks did not overwrite (the file got shorter, or it was indexed
        // under another id scheme or path spelling).
        var paths = new HashSet<string>(file.ReplacedPaths, StringComparer.Ordinal) { file.StoredPath };
        var stale = new Filter
        {
            Must = [new FieldCondition(FilePathKey) { Match = new MatchCondition { Kind = MatchKind.Any, Keywords = paths } }],
            MustNot = ids.Count == 0 ? null : [new HasIdCondition([.. ids])],
        };
        await collection.UpdateAsync(new DeletePointsOperation(PointSelector.ForFilter(stale)), wait: true, cancellationToken).ConfigureAwait(false);
        return ids.Count;
    }

    private static JsonElement Metadata(string filePath, DateTimeOffset mtime)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("file_path", filePath);
            writer.WriteString("mtime", mtime);
            writer.WriteEndObject();
        }

        using var document = JsonDocument.Parse(buffer.WrittenMemory);
        return document.RootElement.Clone();
    }
}
