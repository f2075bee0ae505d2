using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Vectorizer.Server.Tests;

public class DurabilityTests
{
    [Fact]
    public async Task RestartKeepsCollectionsPointsPayloadsAndAliases()
    {
        var dataDir = TestServer.NewDataDir();
        try
        {
            string before;
            await using (var server = await TestServer.StartAsync(dataDir: dataDir))
            {
                await server.CreateCollection("one", size: 3, distance: "Euclid");
                (await server.Put("/collections/two", """{"vectors": {"a": {"size": 2, "distance": "Dot"}, "b": {"size": 2, "distance": "Cosine"}}}""")).AssertOk();
                (await server.Put("/collections/one/points?wait=true", """
                    {"points": [{"id": 1, "vector": [1, 2, 3], "payload": {"x": {"y": [1, 2]}}}, {"id": "6d1b8ff0-0b5d-4c07-9d43-1b56ab6f0f4a", "vector": [3, 2, 1]}]}
                    """)).AssertOk();
                (await server.Put("/collections/two/points?wait=true", """{"points": [{"id": 7, "vector": {"a": [1, 1], "b": [0, 1]}, "payload": {"t": "seven"}}]}""")).AssertOk();
                (await server.Post("/collections/one/points/payload?wait=true", """{"payload": {"z": true}, "points": [1]}""")).AssertOk();
                (await server.Post("/collections/aliases", """{"actions": [{"create_alias": {"collection_name": "two", "alias_name": "latest"}}]}""")).AssertOk();
                before = await Snapshot(server);
            }

            await using (var restarted = await TestServer.StartAsync(dataDir: dataDir))
            {
                Assert.Equal(before, await Snapshot(restarted));
            }
        }
        finally
        {
            TestServer.TryDelete(dataDir);
        }
    }

    private static async Task<string> Snapshot(TestServer server)
    {
        var builder = new StringBuilder();
        builder.AppendLine((await server.Get("/collections")).Result.GetRawText());
        builder.AppendLine((await server.Get("/aliases")).Result.GetRawText());
        foreach (var name in new[] { "one", "two", "latest" })
        {
            var info = (await server.Get($"/collections/{name}")).Result;
            builder.AppendLine(info.GetProperty("config").GetRawText()).AppendLine(info.GetProperty("points_count").GetRawText());
            builder.AppendLine((await server.Post($"/collections/{name}/points/scroll", """{"with_vector": true, "with_payload": true}""")).Result.GetRawText());
        }

        return builder.ToString();
    }

    /// <summary>
    /// A child server is SIGKILLed while four clients upsert batches of ten with wait=true. After a restart every
    /// acknowledged point is there, with its payload and vector; every batch is there whole or not at all (one
    /// request is one WAL record); nothing is there that was never sent; and no write failed before the kill.
    /// </summary>
    [Fact]
    [Trait("Category", "Slow")]
    public async Task EveryAcknowledgedWriteSurvivesSigkill()
    {
        const int BatchSize = 10;
        var dataDir = TestServer.NewDataDir();
        try
        {
            var acknowledged = new ConcurrentDictionary<int, bool>();
            var sent = new ConcurrentDictionary<int, bool>();
            var failures = new ConcurrentQueue<string>();
            await using (var child = await VectorizerProcess.StartAsync(dataDir))
            {
                using var client = new HttpClient { BaseAddress = new Uri(child.Url) };
                (await client.SendJson(HttpMethod.Put, "/collections/crash", """{"vectors": {"size": 4, "distance": "Dot"}}""")).AssertOk();
                using var stop = new CancellationTokenSource();
                var writers = Enumerable.Range(0, 4).Select(writer => Task.Run(async () =>
                {
                    for (var batch = 0; !stop.IsCancellationRequested; batch++)
                    {
                        var ids = Enumerable.Range(0, BatchSize).Select(i => (writer * 1_000_000) + (batch * BatchSize) + i).ToList();
                        var body = "{\"points\": [" + string.Join(",", ids.Select(id =>
                            string.Create(CultureInfo.InvariantCulture, $$$"""{"id": {{{id}}}, "vector": [{{{id % 7}}}, 1, 2, 3], "payload": {"writer": {{{writer}}}, "id": {{{id}}}}}"""))) + "]}";
                        foreach (var id in ids)
                        {
                            sent[id] = true;
                        }

                        try
                        {
                            var response = await client.SendJson(HttpMethod.Put, "/collections/crash/points?wait=true", body);
                            if (response.Status != 200)
                            {
                                failures.Enqueue($"writer {writer}, batch {batch}: {response.Status} {response.Text}");
                                return;
                            }

                            foreach (var id in ids)
                            {
                                acknowledged[id] = true;
                            }
                        }
                        catch (HttpRequestException)
                        {
                            return; // the server died mid-request: this batch was never acknowledged
                        }
                    }
                })).ToList();

                // Until 2,000 points are acknowledged, every writer has stopped (a failure), or a minute has passed.
                var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(1);
                while (acknowledged.Count < 2000 && !writers.TrueForAll(w => w.IsCompleted) && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(20);
                }

                child.Kill();
                await stop.CancelAsync();
                await Task.WhenAll(writers).WaitAsync(TimeSpan.FromMinutes(1));
                Assert.True(failures.IsEmpty, "writes failed before the kill:\n" + string.Join("\n", failures));
                Assert.True(acknowledged.Count >= 2000, $"only {acknowledged.Count} points acknowledged in a minute");
            }

            await using var restarted = await VectorizerProcess.StartAsync(dataDir);
            using var check = new HttpClient { BaseAddress = new Uri(restarted.Url) };
            var ids = acknowledged.Keys.ToList();
            for (var start = 0; start < ids.Count; start += 1000)
            {
                var chunk = ids.Skip(start).Take(1000).ToList();
                var records = (await check.SendJson(HttpMethod.Post, "/collections/crash/points", $$"""{"ids": [{{string.Join(",", chunk)}}], "with_vector": true}""")).AssertOk().Result;
                Assert.Equal(chunk.Count, records.GetArrayLength());
                foreach (var record in records.EnumerateArray())
                {
                    var id = record.GetProperty("id").GetInt32();
                    Assert.Equal(id, record.GetProperty("payload").GetProperty("id").GetInt32());
                    Assert.Equal(id % 7, record.GetProperty("vector")[0].GetSingle());
                }
            }

            // Everything present after recovery, acknowledged or not: whole batches of points that were sent.
            var present = new List<int>();
            string offset = "null";
            do
            {
                var page = (await check.SendJson(HttpMethod.Post, "/collections/crash/points/scroll", $$"""{"limit": 1000, "with_payload": true, "offset": {{offset}}}""")).AssertOk().Result;
                foreach (var point in page.GetProperty("points").EnumerateArray())
                {
                    var id = point.GetProperty("id").GetInt32();
                    Assert.Equal(id, point.GetProperty("payload").GetProperty("id").GetInt32());
                    present.Add(id);
                }

                var next = page.GetProperty("next_page_offset");
                offset = next.ValueKind == JsonValueKind.Null ? "" : next.GetRawText();
            }
            while (offset.Length > 0);

            Assert.Equal(present.Count, (await check.SendJson(HttpMethod.Post, "/collections/crash/points/count", """{"exact": true}""")).AssertOk().Result.GetProperty("count").GetInt32());
            Assert.True(present.TrueForAll(sent.ContainsKey), "points recovered that were never sent");
            var partial = present.GroupBy(id => id / BatchSize).Where(batch => batch.Count() != BatchSize).Select(batch => batch.Key * BatchSize).ToList();
            Assert.True(partial.Count == 0, "batches recovered in part, first ids: " + string.Join(", ", partial.Take(10)));
        }
        finally
        {
            TestServer.TryDelete(dataDir);
        }
    }

    [Fact]
    [Trait("Category", "Slow")]
    public async Task SigtermShutsDownGracefullyWithACheckpoint()
    {
        var dataDir = TestServer.NewDataDir();
        try
        {
            await using (var child = await VectorizerProcess.StartAsync(dataDir))
            {
                using var client = new HttpClient { BaseAddress = new Uri(child.Url) };
                (await client.SendJson(HttpMethod.Put, "/collections/g", """{"vectors": {"size": 2, "distance": "Dot"}}""")).AssertOk();
                (await client.SendJson(HttpMethod.Put, "/collections/g/points", """{"points": [{"id": 1, "vector": [1, 2]}]}""")).AssertOk();
                Assert.Equal(0, await child.TerminateAsync());
                Assert.Contains("checkpointed", child.Output, StringComparison.Ordinal);
            }

            var checkpoints = Directory.GetDirectories(Path.Combine(dataDir, "collections", "g", "checkpoints"));
            Assert.Single(checkpoints);
            await using var restarted = await VectorizerProcess.StartAsync(dataDir);
            Assert.Contains("0 WAL records replayed", restarted.Output, StringComparison.Ordinal);
            using var check = new HttpClient { BaseAddress = new Uri(restarted.Url) };
            Assert.Equal(2f, (await check.SendJson(HttpMethod.Get, "/collections/g/points/1", null)).AssertOk().Result.GetProperty("vector")[1].GetSingle());
        }
        finally
        {
            TestServer.TryDelete(dataDir);
        }
    }

    [Fact]
    public async Task TornWalTailAndCorruptCheckpointRecoverThroughTheServer()
    {
        var dataDir = TestServer.NewDataDir();
        try
        {
            await using (var server = await TestServer.StartAsync(dataDir: dataDir))
            {
                await server.CreateCollection("r", size: 2, distance: "Dot");
                for (var i = 0; i < 5; i++)
                {
                    (await server.Put("/collections/r/points?wait=true", $$$"""{"points": [{"id": {{{i}}}, "vector": [{{{i}}}, 1]}]}""")).AssertOk();
                }
            }

            // Graceful stop wrote a checkpoint; damage it, and tear the last WAL record written afterwards.
            var collection = Path.Combine(dataDir, "collections", "r");
            var checkpoint = Directory.GetDirectories(Path.Combine(collection, "checkpoints")).Single();
            File.WriteAllText(Path.Combine(checkpoint, "manifest.json"), "garbage");
            var wal = Directory.GetFiles(Path.Combine(collection, "wal"), "*.wal").Single();
            using (var stream = new FileStream(wal, FileMode.Open))
            {
                stream.SetLength(stream.Length - 3);
            }

            await using var restarted = await TestServer.StartAsync(dataDir: dataDir);
            var ids = (await restarted.Post("/collections/r/points/scroll", "{}")).AssertOk().Result.GetProperty("points")
                .EnumerateArray().Select(p => p.GetProperty("id").GetInt32()).ToList();
            Assert.Equal([0, 1, 2, 3], ids); // the torn fifth record is gone, the checkpoint fell back to a full replay
            (await restarted.Put("/collections/r/points?wait=true", """{"points": [{"id": 9, "vector": [9, 1]}]}""")).AssertOk();
            Assert.Equal(5, (await restarted.Post("/collections/r/points/count", "{}")).Result.GetProperty("count").GetInt32());
        }
        finally
        {
            TestServer.TryDelete(dataDir);
        }
    }
}
