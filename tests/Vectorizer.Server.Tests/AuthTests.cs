using Vectorizer.Server.Application;
using Vectorizer.Server.Configuration;
using Vectorizer.Server.Security;

namespace Vectorizer.Server.Tests;

/// <summary>API keys and Qdrant's JWTs against a real server: each kind of token, the refused ones, aliases and scopes.</summary>
public sealed class AuthTests
{
    private const string Vectors = """{"vectors": {"size": 2, "distance": "Dot"}}""";
    private const string Upsert = """{"points": [{"id": 1, "vector": [1, 0]}]}""";

    [Fact]
    public async Task KeysAndTokensGrantWhatTheyClaim()
    {
        await using var server = await TestServer.StartAsync(Secure.Configure);
        var c = server.Client;
        foreach (var name in new[] { "alpha", "beta" })
        {
            (await c.Put($"/collections/{name}", Vectors, Secure.FullKey)).AssertOk();
        }

        (await c.Post("/collections/aliases", """{"actions": [{"create_alias": {"collection_name": "alpha", "alias_name": "to-alpha"}}, {"create_alias": {"collection_name": "beta", "alias_name": "to-beta"}}]}""", Secure.FullKey)).AssertOk();

        // The read-only key and an `r` token read everything and change nothing.
        foreach (var (credential, bearer) in new[] { (Secure.ReadKey, false), (Secure.ReadKey, true), (Secure.Token("r"), true), (Secure.Token("r"), false) })
        {
            (await c.Get("/collections/alpha", credential, bearer)).AssertOk();
            (await c.Send(HttpMethod.Put, "/collections/alpha/points?wait=true", Upsert, credential, bearer)).AssertError(403, "read-only access");
            (await c.Send(HttpMethod.Delete, "/collections/beta", null, credential, bearer)).AssertError(403, "Access forbidden");
        }

        // An `m` token (and the full key as a bearer token) do everything.
        var manage = Secure.Token("m");
        (await c.Send(HttpMethod.Put, "/collections/gamma", Vectors, manage, bearer: true)).AssertOk();
        (await c.Send(HttpMethod.Put, "/collections/gamma/points?wait=true", Upsert, Secure.FullKey, bearer: true)).AssertOk();
        (await c.Send(HttpMethod.Delete, "/collections/gamma", null, manage, bearer: true)).AssertOk();

        // Collection-scoped read: its collection (and aliases to it) only; listings show only what it may see.
        var readAlpha = Secure.Token(new CollectionGrant("alpha", Write: false));
        (await c.Get("/collections/alpha", readAlpha, bearer: true)).AssertOk();
        (await c.Get("/collections/to-alpha", readAlpha, bearer: true)).AssertOk();
        (await c.Send(HttpMethod.Post, "/collections/to-alpha/points/count", "{}", readAlpha, bearer: true)).AssertOk();
        (await c.Get("/collections/beta", readAlpha, bearer: true)).AssertError(403, "access to alpha");
        (await c.Get("/collections/to-beta", readAlpha, bearer: true)).AssertError(403, "`beta`");
        (await c.Get("/collections/missing", readAlpha, bearer: true)).AssertError(403, "`missing`"); // no probing outside the scope
        (await c.Send(HttpMethod.Put, "/collections/alpha/points?wait=true", Upsert, readAlpha, bearer: true)).AssertError(403, "write to collection `alpha`");
        var listed = (await c.Get("/collections", readAlpha, bearer: true)).AssertOk().Result.GetProperty("collections");
        Assert.Equal(["alpha"], listed.EnumerateArray().Select(x => x.GetProperty("name").GetString()));
        var aliases = (await c.Get("/aliases", readAlpha, bearer: true)).AssertOk().Result.GetProperty("aliases");
        Assert.Equal(["to-alpha"], aliases.EnumerateArray().Select(x => x.GetProperty("alias_name").GetString()));
        (await c.Get("/api/status", readAlpha, bearer: true)).AssertError(403, "the server");

        // Collection-scoped read-write: points and payloads of its collection; never manage.
        var writeAlpha = Secure.Token(new CollectionGrant("alpha", Write: true));
        (await c.Send(HttpMethod.Put, "/collections/to-alpha/points?wait=true", Upsert, writeAlpha, bearer: true)).AssertOk();
        (await c.Send(HttpMethod.Put, "/collections/beta/points?wait=true", Upsert, writeAlpha, bearer: true)).AssertError(403, "`beta`");
        (await c.Send(HttpMethod.Put, "/collections/alpha/index", """{"field_name": "x", "field_schema": "keyword"}""", writeAlpha, bearer: true)).AssertError(403, "manage");
        (await c.Send(HttpMethod.Delete, "/collections/alpha", null, writeAlpha, bearer: true)).AssertError(403, "manage");
        (await c.Send(HttpMethod.Put, "/collections/delta", Vectors, writeAlpha, bearer: true)).AssertError(403, "manage");

        // An alias moved out of the token's scope takes the access with it; moved in, it gives access.
        (await c.Post("/collections/aliases", """{"actions": [{"delete_alias": {"alias_name": "to-alpha"}}, {"create_alias": {"collection_name": "beta", "alias_name": "to-alpha"}}]}""", Secure.FullKey)).AssertOk();
        (await c.Get("/collections/to-alpha", readAlpha, bearer: true)).AssertError(403, "`beta`");
        (await c.Post("/collections/aliases", """{"actions": [{"delete_alias": {"alias_name": "to-beta"}}, {"create_alias": {"collection_name": "alpha", "alias_name": "to-beta"}}]}""", Secure.FullKey)).AssertOk();
        (await c.Get("/collections/to-beta", readAlpha, bearer: true)).AssertOk();
    }

    [Fact]
    public async Task BadTokensAreRefusedWithTheReason()
    {
        await using var server = await TestServer.StartAsync(Secure.Configure);
        var c = server.Client;
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var cases = new (string What, string Token, string Reason)[]
        {
            ("expired", Secure.Tokens.Create("m", null, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(-1)), "expired"),
            ("bad signature", Secure.Handmade("""{"access": "m"}""", secret: "another-secret-of-at-least-32-bytes!!"), "bad signature"),
            ("alg none", Secure.Handmade("""{"access": "m"}""", secret: null, alg: "none"), "alg: none"),
            ("HS512", Secure.Handmade("""{"access": "m"}""", alg: "HS512"), "HS256"),
            ("garbage", "abc.def.ghi", "malformed"),
            ("no access claim", Secure.Handmade($$"""{"exp": {{now + 60}}}"""), "`access` claim is missing"),
            ("unknown access", Secure.Handmade("""{"access": "x"}"""), "must be \"r\", \"m\""),
            ("payload restriction", Secure.Handmade("""{"access": [{"collection": "a", "access": "r", "payload": {"k": "v"}}]}"""), "not supported"),
            ("value_exists", Secure.Handmade("""{"access": "r", "value_exists": {"collection": "u", "matches": []}}"""), "not supported"),
            ("not before", Secure.Handmade($$"""{"access": "m", "nbf": {{now + 3600}}}"""), "not valid yet"),
        };
        foreach (var (what, token, reason) in cases)
        {
            foreach (var bearer in new[] { true, false })
            {
                var refused = await c.Get("/collections", token, bearer);
                Assert.True(refused.Status == 401, $"{what}: {refused.Status} {refused.Text}");
                Assert.Contains(reason, refused.Error, StringComparison.Ordinal);
                Assert.Contains("invalid_token", refused.WwwAuthenticate, StringComparison.Ordinal);
                Assert.DoesNotContain(token, refused.Text, StringComparison.Ordinal);
            }
        }

        var missing = await c.Get("/collections", null);
        missing.AssertError(401, "Must provide an API key or an Authorization bearer token");
        Assert.Equal("Bearer", missing.WwwAuthenticate);
        (await c.Get("/collections", "not-a-key")).AssertError(401, "Invalid API key or JWT");
        using var basic = new HttpRequestMessage(HttpMethod.Get, "/collections");
        basic.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic", "dXNlcjpwYXNz");
        Assert.Equal(401, (await c.SendAndRead(basic)).Status);

        // A token without exp is accepted (Qdrant's rule: exp is checked when present); probes need nothing.
        (await c.Get("/collections", Secure.Handmade("""{"access": "r"}"""), bearer: true)).AssertOk();
        foreach (var probe in new[] { "/", "/healthz", "/livez", "/readyz" })
        {
            Assert.Equal(200, (await c.Get(probe, null)).Status);
        }
    }

    /// <summary>Validated tokens are remembered (clients resend the same one), but never past their <c>exp</c>.</summary>
    [Fact]
    [Trait("Category", "Slow")]
    public async Task ARememberedTokenStillExpires()
    {
        await using var server = await TestServer.StartAsync(Secure.Configure);
        // Long enough that the first two requests finish before exp on a loaded machine (they took 1.3 s at load 90).
        var exp = DateTimeOffset.UtcNow.AddSeconds(8);
        var token = Secure.Tokens.Create("r", null, exp, DateTimeOffset.UtcNow);
        (await server.Client.Get("/collections", token, bearer: true)).AssertOk();
        (await server.Client.Get("/collections", token, bearer: true)).AssertOk();
        var wait = DateTimeOffset.FromUnixTimeSeconds(exp.ToUnixTimeSeconds()) - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(300);
        await Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
        (await server.Client.Get("/collections", token, bearer: true)).AssertError(401, "expired");

        // A token that differs in one character of its signature is not the remembered one.
        var fresh = Secure.Token("m");
        (await server.Client.Get("/collections", fresh, bearer: true)).AssertOk();
        var tampered = fresh[..^2] + (fresh[^2] == 'A' ? 'B' : 'A') + fresh[^1];
        (await server.Client.Get("/collections", tampered, bearer: true)).AssertError(401, "Invalid JWT");
    }

    [Fact]
    public async Task OnlyKeysWithoutJwtSecretRefuseTokens()
    {
        await using var server = await TestServer.StartAsync(s =>
        {
            s.Auth.Enabled = true;
            s.Auth.ApiKey = Secure.FullKey;
        });
        (await server.Client.Get("/collections", Secure.FullKey)).AssertOk();
        (await server.Client.Get("/collections", Secure.Handmade("""{"access": "m"}""", secret: Secure.FullKey), bearer: true)).AssertError(401, "Invalid API key or JWT");
    }

    [Fact]
    public async Task JwtRbacSignsWithTheApiKeyAsQdrantDoes()
    {
        await using var server = await TestServer.StartAsync(s =>
        {
            s.Auth.Enabled = true;
            s.Auth.ApiKey = Secure.FullKey;
            s.Auth.JwtRbac = true;
        });
        (await server.Client.Get("/collections", Secure.Handmade("""{"access": "r"}""", secret: Secure.FullKey), bearer: true)).AssertOk();
        (await server.Client.Get("/collections", Secure.Handmade("""{"access": "r"}""", secret: Secure.JwtSecret), bearer: true)).AssertError(401, "bad signature");
    }

    [Theory]
    [InlineData("auth:\n  enabled: true\n", "auth.api_key", "no credential is configured")]
    [InlineData("auth:\n  enabled: true\n  read_only_api_key: abc\n", "auth.api_key", "VECTORIZER_API_KEY")]
    [InlineData("auth:\n  enabled: true\n  jwt_secret: short\n", "auth.jwt_secret", "at least 32 bytes")]
    [InlineData("auth:\n  enabled: true\n  api_key: short\n  jwt_rbac: true\n", "auth.api_key", "at least 32 bytes")]
    [InlineData("auth:\n  api_key: same\n  read_only_api_key: same\n", "auth.read_only_api_key", "must differ")]
    [InlineData("auth:\n  jwt_rbac: false\n  jwt_secret: 0123456789abcdef0123456789abcdef\n", "auth.jwt_secret", "jwt_rbac")]
    [InlineData("rate_limit:\n  enabled: true\n  requests_per_minute: 0\n", "rate_limit.requests_per_minute", "between")]
    [InlineData("server:\n  tls:\n    cert_path: /nonexistent/cert.pem\n", "server.tls.key_path", "give both")]
    [InlineData("server:\n  tls:\n    cert_path: /nonexistent/cert.pem\n    key_path: /nonexistent/key.pem\n", "server.tls.cert_path", "does not exist")]
    [InlineData("limits:\n  max_concurrent_requests: -1\n", "limits.max_concurrent_requests", "0 (no limit)")]
    public void ProtectionThatCannotBeEnforcedStopsTheServer(string yaml, string key, string fragment)
    {
        var issues = ConfigLoader.ValidateYaml(yaml).Where(i => !i.IsWarning).ToList();
        Assert.Contains(issues, i => i.Key == key && i.Message.Contains(fragment, StringComparison.Ordinal));
        Assert.DoesNotContain(issues, i => i.ToString().Contains("0123456789abcdef", StringComparison.Ordinal));
    }

    [Fact]
    public void SecretsComeFromTheEnvironmentAndAreNotIgnored()
    {
        var environment = new Dictionary<string, string?>
        {
            ["VECTORIZER_API_KEY"] = Secure.FullKey,
            ["VECTORIZER_READ_ONLY_API_KEY"] = Secure.ReadKey,
            ["VECTORIZER_JWT_SECRET"] = Secure.JwtSecret,
            ["VECTORIZER_AUTH__ENABLED"] = "true",
            ["VECTORIZER_RATE_LIMIT__ENABLED"] = "true",
            ["VECTORIZER_SECURITY__ALLOWED_ROOTS__0"] = "/srv/docs",
        };
        var (settings, _, warnings) = ConfigLoader.Load(null, environment);
        Assert.Empty(warnings);
        Assert.Equal((true, Secure.FullKey, Secure.ReadKey, Secure.JwtSecret), (settings.Auth.Enabled, settings.Auth.ApiKey, settings.Auth.ReadOnlyApiKey, settings.Auth.JwtSecret));
        Assert.True(settings.RateLimit.Enabled);
        Assert.Equal(["/srv/docs"], settings.Security.AllowedRoots);

        var shown = ConfigLoader.ToYaml(settings);
        Assert.DoesNotContain(Secure.FullKey, shown, StringComparison.Ordinal);
        Assert.DoesNotContain(Secure.ReadKey, shown, StringComparison.Ordinal);
        Assert.DoesNotContain(Secure.JwtSecret, shown, StringComparison.Ordinal);
        Assert.Contains("api_key: '***'", shown, StringComparison.Ordinal);

        // The sections that ask for protection are no longer "accepted with a warning and ignored".
        var issues = ConfigLoader.ValidateYaml("auth:\n  enabled: false\nrate_limit:\n  enabled: false\nsecurity:\n  allowed_roots: []\n");
        Assert.Empty(issues);
        Assert.Contains(ConfigLoader.ValidateYaml("tls:\n  enabled: true\n"), i => !i.IsWarning && i.Key == "tls");
        Assert.Contains(ConfigLoader.ValidateYaml("auth:\n  enabled: true\n  api_key: k\n  users: [alice]\n"), i => !i.IsWarning && i.Key == "auth.users");
    }
}
