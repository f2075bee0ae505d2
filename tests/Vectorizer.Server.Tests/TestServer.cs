using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Hosting;

namespace Vectorizer.Server.Tests;

/// <summary>A real Kestrel server on 127.0.0.1 with a free port and its own temporary data directory.</summary>
public sealed class TestServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly bool ownsDataDir;

    private TestServer(WebApplication app, string url, string dataDir, bool ownsDataDir, VectorizerSettings settings)
    {
        GrpcUrl = Grpc.GrpcHosting.ListeningAddress(app);
        this.app = app;
        this.ownsDataDir = ownsDataDir;
        Url = url;
        DataDir = dataDir;
        Settings = settings;
        Client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(60) };
    }

    public string Url { get; }

    /// <summary>The gRPC endpoint (<c>http://127.0.0.1:port</c>), null when <c>grpc_enabled</c> is false.</summary>
    public string? GrpcUrl { get; }

    public string DataDir { get; }

    public VectorizerSettings Settings { get; }

    public HttpClient Client { get; }

    /// <summary>The server's services (its <c>EndpointDataSource</c>, for one).</summary>
    public IServiceProvider Services => app.Services;

    public static string NewDataDir() => TestPaths.NewPath("data-");

    /// <summary>
    /// Starts a server; with <paramref name="configPath"/> the settings come from that YAML file first (and the
    /// server knows the file, for hot reload); host, port and data directory are always the test's.
    /// </summary>
    public static async Task<TestServer> StartAsync(Action<VectorizerSettings>? configure = null, string? dataDir = null, string? configPath = null)
    {
        var ownsDataDir = dataDir is null;
        dataDir ??= NewDataDir();
        var settings = configPath is null ? new VectorizerSettings() : ConfigLoader.Load(configPath, new Dictionary<string, string?>()).Settings;

        settings.Server.Host = "127.0.0.1";
        settings.Server.Port = 0;
        settings.Server.GrpcPort = 0;
        settings.Server.DataDir = dataDir;
        configure?.Invoke(settings);
        var app = VectorizerHost.Build(settings, logging => logging.SetMinimumLevel(LogLevel.Warning).AddSimpleConsole(), configPath);
        await app.StartAsync();
        return new TestServer(app, VectorizerHost.ListeningAddress(app), dataDir, ownsDataDir, settings);
    }

    /// <summary>Graceful stop: drains requests, checkpoints and closes the engine.</summary>
    public async Task StopAsync()
    {
        Client.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        catch (ObjectDisposedException)
        {
        }

        if (ownsDataDir)
        {
            TryDelete(DataDir);
        }
    }

    public static void TryDelete(string directory) => TestPaths.TryDelete(directory);

    public Task<ApiResponse> Get(string path) => Send(HttpMethod.Get, path, null);

    public Task<ApiResponse> Delete(string path) => Send(HttpMethod.Delete, path, null);

    public Task<ApiResponse> Put(string path, string json) => Send(HttpMethod.Put, path, json);

    public Task<ApiResponse> Post(string path, string json) => Send(HttpMethod.Post, path, json);

    public Task<ApiResponse> Patch(string path, string json) => Send(HttpMethod.Patch, path, json);

    public Task<ApiResponse> Send(HttpMethod method, string path, string? json) => Client.SendJson(method, path, json);

    /// <summary>Creates a single-vector collection.</summary>
    public async Task CreateCollection(string name, int size = 4, string distance = "Cosine", string extra = "")
    {
        var response = await Put($"/collections/{name}", $$"""{"vectors": {"size": {{size}}, "distance": "{{distance}}"}{{extra}}}""");
        response.AssertOk();
    }
}

public static class HttpJson
{
    public static async Task<ApiResponse> SendJson(this HttpClient client, HttpMethod method, string path, string? json)
    {
        var uri = Uri.IsWellFormedUriString(path, UriKind.Absolute)
            ? new Uri(path, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true })
            : new Uri(path, UriKind.Relative);
        using var request = new HttpRequestMessage(method, uri);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        }

        return await client.SendAndRead(request);
    }

    /// <summary>Sends a request and reads the response as an <see cref="ApiResponse"/>.</summary>
    public static async Task<ApiResponse> SendAndRead(this HttpClient client, HttpRequestMessage request)
    {
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonElement body = default;
        if (text.Length > 0 && response.Content.Headers.ContentType?.MediaType == "application/json")
        {
            body = JsonDocument.Parse(text).RootElement.Clone();
        }

        return new ApiResponse((int)response.StatusCode, body, text);
    }
}

/// <summary>A response: status, parsed JSON body and raw text.</summary>
public sealed record ApiResponse(int Status, JsonElement Body, string Text)
{
    /// <summary>The <c>WWW-Authenticate</c> header, when the request was sent by the security tests' helper.</summary>
    public string? WwwAuthenticate { get; init; }

    /// <summary>The <c>Retry-After</c> header (seconds), when the request was sent by the security tests' helper.</summary>
    public TimeSpan? RetryAfter { get; init; }

    public JsonElement Result => Body.GetProperty("result");

    public string Error => Body.GetProperty("status").GetProperty("error").GetString()!;

    public ApiResponse AssertOk()
    {
        Assert.True(Status == 200, $"expected 200, got {Status}: {Text}");
        Assert.Equal("ok", Body.GetProperty("status").GetString());
        Assert.True(Body.GetProperty("time").GetDouble() >= 0);
        return this;
    }

    /// <summary>Asserts an error status, Qdrant's error envelope, and a message containing <paramref name="fragment"/>.</summary>
    public ApiResponse AssertError(int status, string fragment)
    {
        Assert.True(Status == status, $"expected {status}, got {Status}: {Text}");
        Assert.Contains(fragment, Error, StringComparison.Ordinal);
        Assert.False(Body.TryGetProperty("result", out _), "errors carry no result");
        return this;
    }
}
