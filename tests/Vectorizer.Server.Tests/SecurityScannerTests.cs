using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Hosting;
using Vectorizer.Server.Security;
using Xunit.Abstractions;

namespace Vectorizer.Server.Tests;

/// <summary>
/// Every endpoint the server maps, taken from ASP.NET Core's <see cref="EndpointDataSource"/> (so a route added later
/// cannot escape), called with every kind of credential: 401 without one or with a wrong one, 403 where the read-only
/// key, an <c>r</c> token or a collection-scoped token lacks the right, never 401/403 with the full key or an
/// <c>m</c> token. Only the authentication outcome is checked (a request may otherwise fail with 400 or 404).
/// </summary>
public sealed partial class SecurityScannerTests(ITestOutputHelper output)
{
    private const string Collection = "scan";

    [Fact]
    public async Task EveryEndpointRequiresTheRightCredential()
    {
        await using var server = await TestServer.StartAsync(settings =>
        {
            Secure.Configure(settings);
            settings.Security.AllowedRoots = [TestPaths.Root];
        });
        var client = server.Client;
        (await client.Put($"/collections/{Collection}", """{"embedding": {"dense": {"provider": "hash", "dimension": 16}}}""", Secure.FullKey)).AssertOk();
        (await client.Put($"/collections/{Collection}/points?wait=true", """{"points": [{"id": 1, "vector": {"dense": [1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]}, "payload": {"city": "Oslo"}}]}""", Secure.FullKey)).AssertOk();

        var credentials = new (string Name, string? Value, bool Bearer)[]
        {
            ("no credential", null, false),
            ("a wrong key", Secure.WrongKey, false),
            ("a wrong bearer key", Secure.WrongKey, true),
            ("a token with a bad signature", Secure.Handmade("""{"access": "m"}""", secret: Secure.JwtSecret + "x"), true),
        };
        var readToken = Secure.Token("r");
        var manageToken = Secure.Token("m");
        var scopedToken = Secure.Token(new CollectionGrant(Collection, Write: true));

        var endpoints = server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .SelectMany(e => (e.Metadata.GetMetadata<Microsoft.AspNetCore.Routing.IHttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (Endpoint: e, Method: m)))
            .OrderBy(e => e.Method == "DELETE") // deleting the collection last keeps the others meaningful
            .ThenBy(e => e.Endpoint.RoutePattern.RawText, StringComparer.Ordinal)
            .ToList();
        var covered = 0;
        var grpcDeclared = 0;
        foreach (var (endpoint, method) in endpoints)
        {
            var path = Fill(endpoint.RoutePattern.RawText!);
            var name = $"{method} {endpoint.RoutePattern.RawText}";
            var (anonymous, requirement) = EndpointAccess.Declared(endpoint);
            Assert.True(anonymous || requirement is not null, $"{name} declares no access requirement: add .RequireAccess(...)");
            if (endpoint.Metadata.GetMetadata<global::Grpc.AspNetCore.Server.GrpcMethodMetadata>() is not null || endpoint.RoutePattern.RawText!.Contains("unimplemented", StringComparison.Ordinal))
            {
                // gRPC endpoints speak HTTP/2 protobuf, not JSON: declared here, called in GrpcAuthTests.
                Assert.True(!anonymous || endpoint.RoutePattern.RawText == "/qdrant.Qdrant/HealthCheck", $"{name} is open");
                grpcDeclared++;
                continue;
            }

            var http = new HttpMethod(method);
            var body = method is "GET" or "DELETE" ? null : "{}";
            if (anonymous)
            {
                Assert.Contains(endpoint.RoutePattern.RawText, (string[])["/", "/healthz", "/livez", "/readyz"]);
                var open = await client.Send(http, path, body, null);
                Assert.True(open.Status == 200, $"{name} is open: {open.Status} {open.Text}");
                covered++;
                continue;
            }

            foreach (var (what, value, bearer) in credentials)
            {
                var refused = await client.Send(http, path, body, value, bearer);
                Assert.True(refused.Status == 401, $"{name} with {what}: expected 401, got {refused.Status} {refused.Text}");
                Assert.StartsWith("Bearer", refused.WwwAuthenticate, StringComparison.Ordinal);
                Assert.False(string.IsNullOrEmpty(refused.Error));
            }

            var level = requirement!.Level;
            await Expect(name, "the read-only key", await client.Send(http, path, body, Secure.ReadKey), allowed: level == AccessLevel.Read);
            await Expect(name, "an `r` token", await client.Send(http, path, body, readToken, bearer: true), allowed: level == AccessLevel.Read);
            await Expect(name, "an `rw` token for the collection", await client.Send(http, path, body, scopedToken, bearer: true),
                allowed: requirement.PerCollection && level != AccessLevel.Manage);
            await Expect(name, "an `m` token", await client.Send(http, path, body, manageToken, bearer: true), allowed: true);
            await Expect(name, "the full key as a bearer token", await client.Send(http, path, body, Secure.FullKey, bearer: true), allowed: true);
            await Expect(name, "the full key", await client.Send(http, path, body, Secure.FullKey), allowed: true);
            covered++;
        }

        output.WriteLine($"{covered} routes (endpoint and method) scanned, {grpcDeclared} gRPC endpoints declared");
        Assert.True(covered >= 35, $"only {covered} routes found: is the data source complete?");
    }

    /// <summary>A route mapped without a declaration is refused to everyone while authentication is on (fail closed).</summary>
    [Fact]
    public async Task AnUndeclaredRouteIsRefusedEvenWithTheFullKey()
    {
        var settings = new VectorizerSettings();
        settings.Server.Host = "127.0.0.1";
        settings.Server.Port = 0;
        settings.Server.DataDir = TestServer.NewDataDir();
        Secure.Configure(settings);
        var app = VectorizerHost.Build(settings, logging => logging.SetMinimumLevel(LogLevel.Critical));
        app.MapGet("/undeclared", () => "secret");
        app.MapGet("/declared", () => "fine").RequireAccess(AccessLevel.Read);
        await app.StartAsync();
        try
        {
            using var client = new HttpClient { BaseAddress = new Uri(VectorizerHost.ListeningAddress(app)) };
            (await client.Get("/undeclared", null)).AssertError(401, "Must provide an API key");
            (await client.Get("/undeclared", Secure.FullKey)).AssertError(403, "declares no access requirement");
            var fine = await client.Get("/declared", Secure.ReadKey);
            Assert.Equal((200, "fine"), (fine.Status, fine.Text));

            // Unknown routes and methods: a credential first, then the usual 404/405.
            (await client.Get("/nowhere", null)).AssertError(401, "Must provide");
            (await client.Get("/nowhere", Secure.ReadKey)).AssertError(404, "no endpoint");
            Assert.Equal(405, (await client.Send(HttpMethod.Delete, "/api/status", null, Secure.FullKey)).Status);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
            TestPaths.TryDelete(settings.Server.DataDir);
        }
    }

    private static Task Expect(string name, string what, ApiResponse response, bool allowed)
    {
        if (allowed)
        {
            Assert.True(response.Status is not (401 or 403), $"{name} with {what}: expected access, got {response.Status} {response.Text}");
        }
        else
        {
            Assert.True(response.Status == 403, $"{name} with {what}: expected 403, got {response.Status} {response.Text}");
            Assert.StartsWith("Access forbidden", response.Error, StringComparison.Ordinal);
        }

        return Task.CompletedTask;
    }

    /// <summary>The route with its parameters filled in (the health check names the scanned collection).</summary>
    private static string Fill(string pattern)
    {
        var path = Parameter().Replace(pattern, m => m.Groups[1].Value switch
        {
            "collection" => Collection,
            "id" => "1",
            "field" => "city",
            var other => other,
        });
        path = path.StartsWith('/') ? path : "/" + path;
        return path == "/api/health-check" ? path + "?collection=" + Collection : path;
    }

    [GeneratedRegex(@"\{\*{0,2}([A-Za-z_]+)[^}]*\}")]
    private static partial Regex Parameter();
}
