namespace Vectorizer.Server.Tests;

/// <summary>
/// A collection that cannot be opened, over HTTP: reported in <c>/api/status</c> with its reason, refused with 409 in
/// Qdrant's envelope by every route that would create, delete or use it (including <c>/documents</c>, which creates
/// collections on its own), and its files untouched.
/// </summary>
public class FailedCollectionApiTests
{
    [Fact]
    public async Task AFailedCollectionIsReportedRefusedAndKept()
    {
        var dataDir = TestServer.NewDataDir();
        try
        {
            await using (var server = await TestServer.StartAsync(dataDir: dataDir))
            {
                await server.CreateCollection("precious");
                var points = string.Join(",", Enumerable.Range(1, 100).Select(i => $$"""{"id": {{i}}, "vector": [{{i}}, 1, 0, 0]}"""));
                (await server.Put("/collections/precious/points?wait=true", $$"""{"points": [{{points}}]}""")).AssertOk();
            }

            var root = Path.Combine(dataDir, "collections", "precious");
            var config = Path.Combine(root, "collection.json");
            var original = await File.ReadAllBytesAsync(config);
            await File.WriteAllTextAsync(config, "{ damaged");
            var files = Directory.GetFiles(root, "*", SearchOption.AllDirectories).Order().ToList();

            // With embedders configured, /documents creates missing collections on its own: it must not create this one.
            await using (var server = await TestServer.StartAsync(s => s.Embedding.Dense.Provider = "hash", dataDir: dataDir))
            {
                var status = (await server.Get("/api/status")).Body;
                Assert.Equal("degraded", status.GetProperty("status").GetString());
                Assert.Equal(0, status.GetProperty("collections_count").GetInt32());
                var failed = Assert.Single(status.GetProperty("failed_collections").EnumerateArray().ToList());
                Assert.Equal("precious", failed.GetProperty("name").GetString());
                Assert.Equal(Path.GetFullPath(root), failed.GetProperty("path").GetString());
                Assert.Contains("collection.json is damaged", failed.GetProperty("reason").GetString(), StringComparison.Ordinal);

                (await server.Put("/collections/precious", """{"vectors": {"size": 4, "distance": "Cosine"}}""")).AssertError(409, "could not be opened");
                (await server.Post("/collections/precious/documents", """{"documents": [{"text": "hello"}]}""")).AssertError(409, "vectorizer collection check precious");
                (await server.Get("/collections/precious")).AssertError(409, "collection.json is damaged");
                (await server.Delete("/collections/precious")).AssertError(409, "could not be opened");
                (await server.Put("/collections/precious/points?wait=true", """{"points": [{"id": 1, "vector": [1, 0, 0, 0]}]}""")).AssertError(409, "could not be opened");
                Assert.True((await server.Get("/collections/precious/exists")).AssertOk().Result.GetProperty("exists").GetBoolean());
                Assert.Empty((await server.Get("/collections")).AssertOk().Result.GetProperty("collections").EnumerateArray());
            }

            Assert.Equal(files, Directory.GetFiles(root, "*", SearchOption.AllDirectories).Order().ToList());
            await File.WriteAllBytesAsync(config, original);
            await using (var server = await TestServer.StartAsync(dataDir: dataDir))
            {
                Assert.Equal("ok", (await server.Get("/api/status")).Body.GetProperty("status").GetString());
                Assert.Equal(100, (await server.Get("/collections/precious")).AssertOk().Result.GetProperty("points_count").GetInt64());
            }
        }
        finally
        {
            TestServer.TryDelete(dataDir);
        }
    }
}
