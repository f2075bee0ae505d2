using System.Numerics.Tensors;
using Microsoft.Extensions.AI;
using Vectorizer.Ingestion.Text;

namespace Vectorizer.Ingestion.Embeddings;

/// <summary>
/// Dense embeddings with no model and no setup: signed feature hashing of word unigrams, word bigrams and
/// character 3-grams of each word (with word-boundary markers), into <see cref="Dimension"/> buckets, L2-normalised.
/// Texts that share words, word pairs or word pieces ("index", "indexing") get a high cosine similarity; there is
/// no notion of synonyms. The sign bit of each feature's hash halves the bias of bucket collisions.
/// </summary>
public sealed class HashEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    public const int DefaultDimension = 512;

    private const float UnigramWeight = 1f;
    private const float BigramWeight = 0.7f;
    private const float CharGramWeight = 0.35f;
    private const int CharGram = 3;

    // One tag byte per feature kind keeps "ab" the word apart from "ab" the character n-gram.
    private const byte UnigramTag = 1;
    private const byte BigramTag = 2;
    private const byte CharGramTag = 3;

    private readonly EmbeddingGeneratorMetadata metadata;

    public HashEmbeddingGenerator(int dimension = DefaultDimension)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        Dimension = dimension;
        metadata = new EmbeddingGeneratorMetadata("vectorizer-hash", null, "hash", dimension);
    }

    public int Dimension { get; }

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(
        IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var result = new GeneratedEmbeddings<Embedding<float>>();
        foreach (var value in values)
        {
            cancellationToken.ThrowIfCancellationRequested();
            result.Add(new Embedding<float>(Embed(value)) { ModelId = "hash" });
        }

        return Task.FromResult(result);
    }

    /// <summary>The embedding of one text (all zeros when it has no tokens).</summary>
    public float[] Embed(ReadOnlySpan<char> text)
    {
        var vector = new float[Dimension];
        using var tokens = Tokenizer.Tokenize(text);
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            Add(vector, StableHash.Fnv1a64(token, StableHash.Fnv1a64(UnigramTag, StableHash.Seed)), UnigramWeight);
            if (i > 0)
            {
                var pair = StableHash.Fnv1a64(tokens[i - 1], StableHash.Fnv1a64(BigramTag, StableHash.Seed));
                pair = StableHash.Fnv1a64(token, StableHash.Fnv1a64((byte)' ', pair));
                Add(vector, pair, BigramWeight);
            }

            AddCharGrams(vector, token);
        }

        var norm = TensorPrimitives.Norm(vector);
        if (norm > 0)
        {
            TensorPrimitives.Divide(vector, norm, vector);
        }

        return vector;
    }

    /// <summary>Character n-grams of "&lt;word&gt;"; words shorter than the n-gram count once, as a whole.</summary>
    private void AddCharGrams(float[] vector, ReadOnlySpan<char> token)
    {
        Span<char> padded = stackalloc char[Tokenizer.MaxTokenLength + 2];
        padded[0] = '<';
        token.CopyTo(padded[1..]);
        padded[token.Length + 1] = '>';
        var word = padded[..(token.Length + 2)];
        if (word.Length <= CharGram)
        {
            Add(vector, StableHash.Fnv1a64(word, StableHash.Fnv1a64(CharGramTag, StableHash.Seed)), CharGramWeight);
            return;
        }

        for (var i = 0; i + CharGram <= word.Length; i++)
        {
            Add(vector, StableHash.Fnv1a64(word.Slice(i, CharGram), StableHash.Fnv1a64(CharGramTag, StableHash.Seed)), CharGramWeight);
        }
    }

    private void Add(float[] vector, ulong hash, float weight)
    {
        // FNV's low bits mix poorly; a finaliser (MurmurHash3's fmix64) spreads every input bit over the bucket.
        hash ^= hash >> 33;
        hash *= 0xFF51AFD7ED558CCDUL;
        hash ^= hash >> 33;
        hash *= 0xC4CEB9FE1A85EC53UL;
        hash ^= hash >> 33;
        var bucket = (int)((hash & 0x7FFF_FFFF_FFFF_FFFFUL) % (ulong)Dimension);
        vector[bucket] += (hash >> 63) == 0 ? weight : -weight;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(EmbeddingGeneratorMetadata) ? metadata
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
    }
}
