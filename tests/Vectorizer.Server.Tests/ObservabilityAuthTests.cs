using Vectorizer.Server.Security;

namespace Vectorizer.Server.Tests;

/// <summary>
/// The observability endpoints on a server with authentication on (API keys and JWTs, over real HTTP):
/// <c>metrics.require_auth</c> true (the default: <c>/metrics</c> needs global read) and false (anonymous scrapes),
/// <c>/health/detailed</c> and <c>/telemetry</c> always needing global read, the probes always open.
/// </summary>
public sealed class ObservabilityAuthTests
{
    [Fact]
    public async Task MetricsNeedAReadCredentialByDefault()
    {
        await using var server = await TestServer.StartAsync(Secure.Configure);
        Assert.True(server.Settings.Metrics.RequireAuth);
        var client = server.Client;
        (await client.Put("/collections/watched", """{"vectors": {"size": 4, "distance": "Cosine"}}""", Secure.FullKey)).AssertOk();

        var missing = await client.Get("/metrics", null);
        missing.AssertError(401, "Must provide an API key");
        Assert.Equal("Bearer", missing.WwwAuthenticate);
        Assert.DoesNotContain("vectorizer_", missing.Text, StringComparison.Ordinal);
        (await client.Get("/metrics", Secure.WrongKey)).AssertError(401, "Invalid API key");
        (await client.Get("/metrics", Secure.WrongKey, bearer: true)).AssertError(401, "Invalid API key");

        // A collection-scoped token may not read server-wide figures (they name every collection).
        var scoped = Secure.Token(new CollectionGrant("watched", Write: true));
        (await client.Get("/metrics", scoped, bearer: true)).AssertError(403, "Access forbidden");

        // The read-only key, as api-key or as a bearer token (what Prometheus's `authorization:` sends), and an `r` token.
        foreach (var (credential, bearer) in new[] { (Secure.ReadKey, false), (Secure.ReadKey, true), (Secure.Token("r"), true), (Secure.FullKey, false) })
        {
            var scrape = await client.Get("/metrics", credential, bearer);
            Assert.True(scrape.Status == 200, $"{scrape.Status}: {scrape.Text}");
            var samples = MetricsTests.Samples(scrape.Text);
            Assert.Contains(samples, s => s.Name == "vectorizer_collection_points" && s.Labels["collection"] == "watched");
        }

        // The refused scrapes were counted too (by route and status), so failing scrapers show up in the metrics.
        var counted = MetricsTests.Samples((await client.Get("/metrics", Secure.ReadKey)).Text);
        Assert.Contains(counted, s => s.Name == "vectorizer_http_requests_total" && s.Labels["route"] == "/metrics" && s.Labels["status"] == "401" && s.Value >= 3);

        await ServerWideEndpointsNeedGlobalRead(server, scoped);
    }

    [Fact]
    public async Task MetricsCanBeOpenedToAnonymousScrapers()
    {
        await using var server = await TestServer.StartAsync(settings =>
        {
            Secure.Configure(settings);
            settings.Metrics.RequireAuth = false;
        });
        var client = server.Client;
        (await client.Put("/collections/open", """{"vectors": {"size": 4, "distance": "Cosine"}}""", Secure.FullKey)).AssertOk();

        var anonymous = await client.Get("/metrics", null);
        Assert.True(anonymous.Status == 200, $"{anonymous.Status}: {anonymous.Text}");
        Assert.Contains(MetricsTests.Samples(anonymous.Text), s => s.Name == "vectorizer_collection_points" && s.Labels["collection"] == "open");

        // A credential is not checked on an anonymous endpoint (a scraper configured with an old key keeps working).
        Assert.Equal(200, (await client.Get("/metrics", Secure.WrongKey)).Status);

        // Only /metrics opens: the detailed health, Qdrant's telemetry and the API still need credentials.
        await ServerWideEndpointsNeedGlobalRead(server, Secure.Token(new CollectionGrant("open", Write: true)));
        (await client.Get("/collections", null)).AssertError(401, "Must provide");
    }

    [Fact]
    public async Task WithoutAuthEverythingIsOpenWhateverRequireAuthSays()
    {
        await using var server = await TestServer.StartAsync(settings => settings.Metrics.RequireAuth = true);
        Assert.False(server.Settings.Auth.Enabled);
        Assert.Equal(200, (await server.Get("/metrics")).Status);
        Assert.Equal(200, (await server.Get("/health/detailed")).Status);
        (await server.Get("/telemetry")).AssertOk();
    }

    private static async Task ServerWideEndpointsNeedGlobalRead(TestServer server, string scopedToken)
    {
        var client = server.Client;
        foreach (var path in new[] { "/health/detailed", "/telemetry" })
        {
            (await client.Get(path, null)).AssertError(401, "Must provide");
            (await client.Get(path, Secure.WrongKey)).AssertError(401, "Invalid API key");
            (await client.Get(path, scopedToken, bearer: true)).AssertError(403, "Access forbidden");
            var read = await client.Get(path, Secure.ReadKey);
            Assert.True(read.Status == 200, $"{path}: {read.Status} {read.Text}");
            Assert.Equal(200, (await client.Get(path, Secure.Token("r"), bearer: true)).Status);
        }

        Assert.Equal("healthy", (await client.Get("/health/detailed", Secure.ReadKey)).Body.GetProperty("status").GetString());
        foreach (var probe in new[] { "/livez", "/readyz", "/healthz", "/" })
        {
            Assert.Equal(200, (await client.Get(probe, null)).Status);
        }
    }
}
