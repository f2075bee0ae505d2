namespace Vectorizer.Server.Tests;

/// <summary><c>vectorizer collection check|repair|quarantine</c> as child processes, on a collection the server reports failed.</summary>
public class CollectionCommandTests
{
    [Fact]
    public async Task CheckRepairAndQuarantineAFailedCollection()
    {
        var dataDir = TestServer.NewDataDir();
        try
        {
            await using (var server = await TestServer.StartAsync(dataDir: dataDir))
            {
                await server.CreateCollection("precious");
                (await server.Put("/collections/precious/points?wait=true", """{"points": [{"id": 1, "vector": [1, 0, 0, 0]}, {"id": 2, "vector": [0, 1, 0, 0]}]}""")).AssertOk();
                await server.CreateCollection("other");
            }

            var config = Path.Combine(dataDir, "collections", "precious", "collection.json");
            var good = Path.Combine(dataDir, "good-collection.json");
            File.Copy(config, good);
            await File.WriteAllTextAsync(config, "{ damaged");

            var (code, output) = await VectorizerProcess.RunAsync("collection", "check", "precious", "--data-dir", dataDir);
            Assert.Equal(1, code);
            Assert.Contains("does not open: collection.json is damaged", output, StringComparison.Ordinal);
            Assert.Contains("--config-file", output, StringComparison.Ordinal);

            (code, output) = await VectorizerProcess.RunAsync("collection", "repair", "precious", "--data-dir", dataDir);
            Assert.Equal(1, code);
            Assert.Contains("not repaired", output, StringComparison.Ordinal);

            (code, output) = await VectorizerProcess.RunAsync("collection", "repair", "precious", "--config-file", good, "--data-dir", dataDir);
            Assert.Equal(0, code);
            Assert.Contains("repaired: `precious` opens (2 points", output, StringComparison.Ordinal);

            (code, output) = await VectorizerProcess.RunAsync("collection", "check", "other", "--data-dir", dataDir);
            Assert.Equal(0, code);
            Assert.Contains("opens, 0 points", output, StringComparison.Ordinal);

            (code, output) = await VectorizerProcess.RunAsync("collection", "quarantine", "other", "--reason", "not needed", "--data-dir", dataDir);
            Assert.Equal(0, code);
            Assert.Contains("quarantine", output, StringComparison.Ordinal);
            Assert.False(Directory.Exists(Path.Combine(dataDir, "collections", "other")));

            (code, output) = await VectorizerProcess.RunAsync("collection", "check", "nothing", "--data-dir", dataDir);
            Assert.Equal(2, code);
            Assert.Contains("no collection `nothing`", output, StringComparison.Ordinal);

            await using (var server = await TestServer.StartAsync(dataDir: dataDir))
            {
                var status = (await server.Get("/api/status")).Body;
                Assert.Equal("ok", status.GetProperty("status").GetString());
                Assert.Equal(2, (await server.Get("/collections/precious")).AssertOk().Result.GetProperty("points_count").GetInt64());
                Assert.Equal(1, status.GetProperty("collections_count").GetInt32());

                // While a server holds the data directory, the commands refuse.
                (code, output) = await VectorizerProcess.RunAsync("collection", "check", "precious", "--data-dir", dataDir);
                Assert.Equal(2, code);
                Assert.Contains("in use", output, StringComparison.Ordinal);
            }
        }
        finally
        {
            TestServer.TryDelete(dataDir);
        }
    }
}
