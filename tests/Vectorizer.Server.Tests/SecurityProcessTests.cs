using System.Text.Json;

namespace Vectorizer.Server.Tests;

/// <summary>Security through the real <c>vectorizer</c> executable: startup refusals, <c>token create</c>, secrets kept out of every log.</summary>
public sealed class SecurityProcessTests
{
    [Fact]
    public async Task AuthWithoutAKeyStopsTheServerNamingTheKey()
    {
        var dir = TestPaths.NewDirectory("auth-nokey-");
        var config = Path.Combine(dir, "config.yml");
        await File.WriteAllTextAsync(config, "auth:\n  enabled: true\n");
        var (code, output) = await VectorizerProcess.RunInAsync(dir, [], "serve", "--config", config, "--port", "0", "--data-dir", Path.Combine(dir, "data"));
        Assert.True(code == 2, output);
        Assert.Contains("`auth.api_key`", output, StringComparison.Ordinal);
        Assert.Contains("VECTORIZER_API_KEY", output, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", output, StringComparison.Ordinal);
    }

    /// <summary>
    /// A server run with keys from its file and the environment, debug logging and the access log, called with every kind
    /// of credential (right, wrong, minted by <c>vectorizer token create</c>, expired); then its whole output, and
    /// <c>config show</c>'s, are searched for the secrets.
    /// </summary>
    [Fact]
    [Trait("Category", "Slow")]
    public async Task SecretsNeverReachLogsErrorsOrConfigShow()
    {
        var dir = TestPaths.NewDirectory("auth-logs-");
        var config = Path.Combine(dir, "config.yml");
        await File.WriteAllTextAsync(config, $"""
            logging:
              level: debug
              log_requests: true
            auth:
              enabled: true
              api_key: "{Secure.FullKey}"
              read_only_api_key: "{Secure.ReadKey}"
              jwt_secret: "{Secure.JwtSecret}"
            """);
        var environment = new Dictionary<string, string> { ["VECTORIZER_CONFIG"] = config };

        // token create reads the same configuration as the server.
        var (code, stdout, stderr) = await RunSplit(dir, environment, "token", "create", "--access", "r", "--expires", "30m");
        Assert.True(code == 0, stderr);
        var readToken = stdout.Trim();
        Assert.Equal(2, readToken.Count(ch => ch == '.'));
        (code, stdout, stderr) = await RunSplit(dir, environment, "token", "create", "--collection", "notes:rw", "--collection", "docs");
        Assert.True(code == 0, stderr);
        var scopedToken = stdout.Trim();
        var payload = JsonDocument.Parse(Microsoft.IdentityModel.Tokens.Base64UrlEncoder.Decode(scopedToken.Split('.')[1])).RootElement;
        Assert.Equal("""[{"collection":"notes","access":"rw"},{"collection":"docs","access":"r"}]""", payload.GetProperty("access").GetRawText());
        var lifetime = payload.GetProperty("exp").GetInt64() - payload.GetProperty("iat").GetInt64();
        Assert.Equal(3600, lifetime); // auth.token_expiry
        (code, _, stderr) = await RunSplit(dir, environment, "token", "create", "--access", "x");
        Assert.Equal(2, code);
        Assert.Contains("--access must be r or m", stderr, StringComparison.Ordinal);
        (code, _, stderr) = await RunSplit(dir, environment, "token", "create", "--access", "r", "--expires", "soon");
        Assert.Equal(2, code);
        Assert.Contains("--expires", stderr, StringComparison.Ordinal);
        (code, _, stderr) = await RunSplit(TestPaths.NewDirectory("no-config-"), [], "token", "create", "--access", "r");
        Assert.Equal(2, code);
        Assert.Contains("auth.jwt_secret", stderr, StringComparison.Ordinal);

        var expired = Secure.Tokens.Create("m", null, DateTimeOffset.UtcNow.AddMinutes(-10), DateTimeOffset.UtcNow.AddHours(-1));
        await using (var server = await VectorizerProcess.StartAsync(Path.Combine(dir, "data"), "--config", config))
        {
            using var client = new HttpClient { BaseAddress = new Uri(server.Url) };
            (await client.Put("/collections/notes", """{"vectors": {"size": 2, "distance": "Dot"}}""", Secure.FullKey)).AssertOk();
            (await client.Get("/collections/notes", Secure.ReadKey, bearer: true)).AssertOk();
            (await client.Get("/collections/notes", readToken, bearer: true)).AssertOk();
            (await client.Put("/collections/notes/points?wait=true", """{"points": [{"id": 1, "vector": [1, 0]}]}""", scopedToken)).AssertOk();
            (await client.Get("/collections/notes", Secure.WrongKey)).AssertError(401, "Invalid API key");
            (await client.Get("/collections/notes", expired, bearer: true)).AssertError(401, "expired");
            (await client.Get("/collections/notes", Secure.FullKey[..^4], bearer: true)).AssertError(401, "Invalid");
            (await client.Delete("/collections/notes", readToken)).AssertError(403, "read-only");
            Assert.Equal(200, (await client.Get("/api/status", Secure.FullKey)).Status);
            Assert.Equal(0, await server.TerminateAsync());
            var log = server.Output;
            Assert.Contains("GET /collections/notes 401", log, StringComparison.Ordinal); // the access log ran
            Assert.Contains("dbug: Vectorizer.Security", log, StringComparison.Ordinal); // and so did debug logging, of every credential
            Assert.Contains("Invalid API key or JWT", log, StringComparison.Ordinal);
            Assert.Contains("has read-only access", log, StringComparison.Ordinal);
            AssertNoSecret(log, readToken, scopedToken, expired);
        }

        (code, stdout, stderr) = await RunSplit(dir, environment, "config", "show");
        Assert.True(code == 0, stderr);
        AssertNoSecret(stdout + stderr);
        Assert.Contains("jwt_secret: '***'", stdout, StringComparison.Ordinal);

        // From the environment too.
        (code, stdout, stderr) = await RunSplit(dir, new Dictionary<string, string> { ["VECTORIZER_API_KEY"] = Secure.FullKey, ["VECTORIZER_JWT_SECRET"] = Secure.JwtSecret }, "config", "show");
        Assert.True(code == 0, stderr);
        AssertNoSecret(stdout + stderr);
    }

    private static void AssertNoSecret(string text, params string[] tokens)
    {
        foreach (var secret in tokens.Concat([Secure.FullKey, Secure.ReadKey, Secure.JwtSecret, Secure.WrongKey, Secure.FullKey[..^4]]))
        {
            Assert.False(text.Contains(secret, StringComparison.Ordinal), $"a secret ({secret[..6]}…) is in the output:\n{text}");
        }

        // A token's signature alone is a secret too.
        foreach (var token in tokens)
        {
            Assert.DoesNotContain(token.Split('.')[2], text, StringComparison.Ordinal);
        }
    }

    private static Task<(int ExitCode, string Stdout, string Stderr)> RunSplit(string directory, Dictionary<string, string> environment, params string[] arguments) =>
        VectorizerProcess.RunSplitInAsync(directory, environment, arguments);
}
