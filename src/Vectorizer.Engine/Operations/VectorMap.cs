using System.Collections;
using System.Diagnostics.CodeAnalysis;

namespace Vectorizer.Engine.Operations;

/// <summary>
/// The vectors of one point. Most points carry a single vector, so that case gets a two-field map instead of a
/// <see cref="Dictionary{TKey, TValue}"/> (about 200 bytes less garbage per point on the ingestion path).
/// </summary>
public static class VectorMap
{
    public static IReadOnlyDictionary<string, float[]> Single(string name, float[] vector) => new SingleVector(name, vector);

    private sealed class SingleVector(string name, float[] vector) : IReadOnlyDictionary<string, float[]>
    {
        public float[] this[string key] => key == name ? vector : throw new KeyNotFoundException(key);

        public IEnumerable<string> Keys => [name];

        public IEnumerable<float[]> Values => [vector];

        public int Count => 1;

        public bool ContainsKey(string key) => key == name;

        public bool TryGetValue(string key, [MaybeNullWhen(false)] out float[] value)
        {
            value = key == name ? vector : null;
            return value is not null;
        }

        public IEnumerator<KeyValuePair<string, float[]>> GetEnumerator()
        {
            yield return new KeyValuePair<string, float[]>(name, vector);
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
