namespace Vectorizer.Server.Tests;

/// <summary><c>logging.log_requests</c>: one access-log line per request, and a request id on every response.</summary>
public sealed class AccessLogTests
{
    [Fact]
    public async Task OneLinePerRequestWithTheRequestId()
    {
        var dataDir = TestServer.NewDataDir();
        var config = Path.Combine(dataDir + "-config.yml");
        Directory.CreateDirectory(Path.GetDirectoryName(config)!);
        await File.WriteAllTextAsync(config, "logging:\n  log_requests: true\n");
        try
        {
            await using var child = await VectorizerProcess.StartAsync(dataDir, "--config", config);
            using var client = new HttpClient { BaseAddress = new Uri(child.Url) };
            using var request = new HttpRequestMessage(HttpMethod.Put, "/collections/logged?timeout=5")
            {
                Content = new StringContent("""{"vectors": {"size": 2, "distance": "Dot"}}""", System.Text.Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("X-Request-Id", "client-chosen-1");
            using (var response = await client.SendAsync(request))
            {
                Assert.Equal("client-chosen-1", Assert.Single(response.Headers.GetValues("X-Request-Id")));
            }

            string generated;
            using (var response = await client.GetAsync("/collections/missing"))
            {
                Assert.Equal(404, (int)response.StatusCode);
                generated = Assert.Single(response.Headers.GetValues("X-Request-Id"));
                Assert.Matches("^[0-9a-f]{32}$", generated);
                Assert.Equal(response.Content.Headers.ContentLength, (await response.Content.ReadAsByteArrayAsync()).Length);
            }

            var lines = await WaitForLines(child, 2);
            Assert.Matches(@"Vectorizer\.Access\[0\] PUT /collections/logged\?timeout=5 200 [0-9.]+ ms [0-9]+ B client-chosen-1$", lines[0]);
            Assert.Matches($@"Vectorizer\.Access\[0\] GET /collections/missing 404 [0-9.]+ ms [1-9][0-9]* B {generated}$", lines[1]);
            Assert.DoesNotContain("Microsoft.AspNetCore", child.Output, StringComparison.Ordinal); // no per-request framework lines
        }
        finally
        {
            TestServer.TryDelete(dataDir);
            File.Delete(config);
        }
    }

    private static async Task<List<string>> WaitForLines(VectorizerProcess child, int count)
    {
        for (var attempt = 0; ; attempt++)
        {
            var lines = child.Output.Split('\n').Where(l => l.Contains("Vectorizer.Access", StringComparison.Ordinal)).Select(l => l.TrimEnd('\r')).ToList();
            if (lines.Count >= count || attempt == 200)
            {
                Assert.True(lines.Count == count, child.Output);
                return lines;
            }

            await Task.Delay(50); // the child's output arrives asynchronously
        }
    }
}
