namespace Vectorizer.Server.Tests;

/// <summary>
/// The collection of Qdrant's REST suite (<c>tests/openapi/helpers/collection_setup.py</c>, <c>basic_collection_setup</c>):
/// one unnamed Dot vector of size 4, a sparse vector <c>sparse-text</c>, ten points (9 and 10 with only the sparse
/// vector) and the payloads Qdrant's tests filter, group and facet on. <see cref="Vectors"/> lets tests compute expected
/// answers independently of the server.
/// </summary>
public static class QdrantBasicCollection
{
    public static readonly IReadOnlyDictionary<int, float[]> Vectors = new Dictionary<int, float[]>
    {
        [1] = [0.05f, 0.61f, 0.76f, 0.74f],
        [2] = [0.19f, 0.81f, 0.75f, 0.11f],
        [3] = [0.36f, 0.55f, 0.47f, 0.94f],
        [4] = [0.18f, 0.01f, 0.85f, 0.80f],
        [5] = [0.24f, 0.18f, 0.22f, 0.44f],
        [6] = [0.35f, 0.08f, 0.11f, 0.44f],
        [7] = [0.25f, 0.98f, 0.14f, 0.43f],
        [8] = [0.79f, 0.53f, 0.72f, 0.15f],
    };

    public const string Points = """
        {"points": [
          {"id": 1, "vector": [0.05, 0.61, 0.76, 0.74], "payload": {"city": "Berlin", "price": 10.0}},
          {"id": 2, "vector": [0.19, 0.81, 0.75, 0.11], "payload": {"city": ["Berlin", "London"], "price": 11.0}},
          {"id": 3, "vector": [0.36, 0.55, 0.47, 0.94], "payload": {"city": ["Berlin", "Moscow"], "price": 9.5}},
          {"id": 4, "vector": [0.18, 0.01, 0.85, 0.80], "payload": {"city": ["London", "Moscow"], "price": 9}},
          {"id": 5, "vector": [0.24, 0.18, 0.22, 0.44], "payload": {"count": 0}},
          {"id": 6, "vector": [0.35, 0.08, 0.11, 0.44]},
          {"id": 7, "vector": [0.25, 0.98, 0.14, 0.43], "payload": {"city": null, "price": null}},
          {"id": 8, "vector": [0.79, 0.53, 0.72, 0.15], "payload": {"city": [], "price": []}},
          {"id": 9, "vector": {"sparse-text": {"indices": [66, 12], "values": [0.5, 0.5]}}},
          {"id": 10, "vector": {"sparse-text": {"indices": [1, 2, 3], "values": [0.1, 0.2, 0.3]}}, "payload": {"city": [], "price": []}}
        ]}
        """;

    public static async Task CreateAsync(TestServer server, string name)
    {
        (await server.Put($"/collections/{name}", """{"vectors": {"size": 4, "distance": "Dot"}, "sparse_vectors": {"sparse-text": {}}}""")).AssertOk();
        (await server.Put($"/collections/{name}/points?wait=true", Points)).AssertOk();
    }

    /// <summary>Dot product, as the server computes it (single precision).</summary>
    public static float Dot(float[] a, float[] b)
    {
        var sum = 0f;
        for (var i = 0; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }
}
