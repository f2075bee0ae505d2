using System.Text.Json;
using Vectorizer.Engine.Errors;
using Vectorizer.Engine.Storage;

namespace Vectorizer.Engine.Collections;

/// <summary><c>collection.json</c>: read with every failure reported as damage of that file, written atomically.</summary>
public static class CollectionConfigFile
{
    public const string FileName = "collection.json";

    /// <summary>Reads a collection's config; a missing, unparsable or invalid file throws <see cref="CorruptDataException"/> naming it.</summary>
    public static CollectionConfig Read(IStorage storage, string path)
    {
        byte[] bytes;
        try
        {
            bytes = storage.ReadAllBytes(path);
        }
        catch (FileNotFoundException e)
        {
            throw new CorruptDataException($"{FileName} is missing ({path})", e);
        }

        try
        {
            using var document = JsonDocument.Parse(bytes);
            return CollectionConfigJson.Read(document.RootElement);
        }
        catch (Exception e) when (e is JsonException or VectorizerException or InvalidOperationException or KeyNotFoundException)
        {
            throw new CorruptDataException($"{FileName} is damaged ({path}): {e.Message}", e);
        }
    }

    public static void Write(IStorage storage, string path, CollectionConfig config) =>
        FileUtil.WriteAtomic(storage, path, CollectionConfigJson.ToUtf8(config));
}
