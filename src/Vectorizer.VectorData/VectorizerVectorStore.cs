using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.VectorData;

namespace Vectorizer.VectorData;

/// <summary>Options of a <see cref="VectorizerVectorStore"/>.</summary>
public sealed class VectorizerVectorStoreOptions
{
    /// <summary>Generates the embeddings of vector properties that hold text (or other input) rather than vectors.</summary>
    public IEmbeddingGenerator? EmbeddingGenerator { get; init; }
}

/// <summary>
/// A <see cref="VectorStore"/> over a Vectorizer server, through its REST API (Qdrant's dialect plus Vectorizer's text
/// search). The <see cref="HttpClient"/> carries the address (<see cref="HttpClient.BaseAddress"/>, e.g.
/// <c>http://localhost:15002</c>) and, when the server requires one, the <c>api-key</c> header.
/// </summary>
public sealed class VectorizerVectorStore : VectorStore
{
    private readonly VectorizerRest rest;
    private readonly VectorizerVectorStoreOptions options;

    public VectorizerVectorStore(HttpClient httpClient, VectorizerVectorStoreOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        rest = new VectorizerRest(httpClient);
        this.options = options ?? new VectorizerVectorStoreOptions();
    }

    /// <inheritdoc />
    public override VectorStoreCollection<TKey, TRecord> GetCollection<TKey, TRecord>(string name, VectorStoreCollectionDefinition? definition = null) =>
        new VectorizerCollection<TKey, TRecord>(rest, name, definition, options.EmbeddingGenerator);

    /// <inheritdoc />
    public override VectorStoreCollection<object, Dictionary<string, object?>> GetDynamicCollection(string name, VectorStoreCollectionDefinition definition) =>
        new VectorizerCollection<object, Dictionary<string, object?>>(rest, name, definition, options.EmbeddingGenerator);

    /// <inheritdoc />
    public override async IAsyncEnumerable<string> ListCollectionNamesAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var result = await rest.SendAsync(HttpMethod.Get, "/collections", null, cancellationToken).ConfigureAwait(false);
        foreach (var collection in result.GetProperty("collections").EnumerateArray())
        {
            yield return collection.GetProperty("name").GetString()!;
        }
    }

    /// <inheritdoc />
    public override Task<bool> CollectionExistsAsync(string name, CancellationToken cancellationToken = default) => rest.ExistsAsync(name, cancellationToken);

    /// <inheritdoc />
    public override Task EnsureCollectionDeletedAsync(string name, CancellationToken cancellationToken = default) =>
        rest.SendAsync(HttpMethod.Delete, $"/collections/{Uri.EscapeDataString(name)}", null, cancellationToken);

    /// <inheritdoc />
    public override object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(VectorStoreMetadata) ? new VectorStoreMetadata { VectorStoreSystemName = "vectorizer", VectorStoreName = rest.Name }
        : serviceType == typeof(HttpClient) ? rest.Http
        : serviceType.IsInstanceOfType(this) ? this
        : null;
}

/// <summary>The REST calls of the connector: Qdrant's envelope in, <see cref="VectorStoreException"/> on errors.</summary>
internal sealed class VectorizerRest(HttpClient http)
{
    public HttpClient Http => http;

    public string? Name => http.BaseAddress?.Authority;

    public async Task<bool> ExistsAsync(string collection, CancellationToken cancellationToken)
    {
        var result = await SendAsync(HttpMethod.Get, $"/collections/{Uri.EscapeDataString(collection)}/exists", null, cancellationToken).ConfigureAwait(false);
        return result.GetProperty("exists").GetBoolean();
    }

    /// <summary>Sends a request and returns the envelope's <c>result</c>; a non-success status throws with the server's message.</summary>
    public async Task<JsonElement> SendAsync(HttpMethod method, string path, object? body, CancellationToken cancellationToken, string? collection = null, string? operation = null)
    {
        using var request = new HttpRequestMessage(method, path.TrimStart('/'));
        if (body is not null)
        {
            request.Content = JsonContent.Create(body, body.GetType());
        }

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            throw new VectorStoreException($"Vectorizer: {method} {path} failed: {e.Message}", e) { VectorStoreSystemName = "vectorizer", CollectionName = collection, OperationName = operation };
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            JsonElement root;
            try
            {
                root = JsonDocument.Parse(text).RootElement;
            }
            catch (JsonException)
            {
                throw new VectorStoreException($"Vectorizer: {method} {path} answered {(int)response.StatusCode} without JSON: {text}") { VectorStoreSystemName = "vectorizer", CollectionName = collection, OperationName = operation };
            }

            if (!response.IsSuccessStatusCode)
            {
                var message = root.TryGetProperty("status", out var status) && status.ValueKind == JsonValueKind.Object && status.TryGetProperty("error", out var error)
                    ? error.GetString()
                    : text;
                throw new VectorStoreException($"Vectorizer: {method} {path} answered {(int)response.StatusCode}: {message}") { VectorStoreSystemName = "vectorizer", CollectionName = collection, OperationName = operation };
            }

            return root.TryGetProperty("result", out var result) ? result.Clone() : default;
        }
    }
}
