using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Vectorizer.Server.Tests;

/// <summary><c>on_disk_payload: true</c> answers exactly like payloads in RAM, across every payload write, an index and a restart.</summary>
public sealed class OnDiskPayloadTests
{
    private static async Task Apply(TestServer server, string collection)
    {
        var points = new StringBuilder("""{"points": [""");
        for (var i = 0; i < 300; i++)
        {
            var v = string.Join(',', Enumerable.Range(0, 4).Select(d => ((((i * 7) + (d * 13)) % 17) / 17.0 + 0.01).ToString("F3", CultureInfo.InvariantCulture)));
            points.Append(i == 0 ? "" : ",").Append(CultureInfo.InvariantCulture, $$"""
                {"id": {{i}}, "vector": [{{v}}], "payload": {"k": "k{{i % 10}}", "n": {{i}}, "text": "point {{i}} {{(i % 3 == 0 ? "fizz" : "buzz")}}", "nested": {"a": [{{i % 4}}, {{i % 5}}]} } }
                """);
        }

        (await server.Put($"/collections/{collection}/points?wait=true", points.Append("]}").ToString())).AssertOk();
        (await server.Post($"/collections/{collection}/points/payload?wait=true", """{"payload": {"extra": true}, "points": [1, 2, 3, 250]}""")).AssertOk();
        (await server.Put($"/collections/{collection}/points/payload?wait=true", """{"payload": {"k": "replaced"}, "filter": {"must": [{"key": "n", "range": {"gte": 290}}]}}""")).AssertOk();
        (await server.Post($"/collections/{collection}/points/payload/delete?wait=true", """{"keys": ["text"], "points": [5, 6]}""")).AssertOk();
        (await server.Post($"/collections/{collection}/points/delete?wait=true", """{"points": [7, 8, 9]}""")).AssertOk();
        (await server.Put($"/collections/{collection}/index?wait=true", """{"field_name": "k", "field_schema": "keyword"}""")).AssertOk();
    }

    private static async Task<string> Answers(TestServer server, string collection)
    {
        var answers = new StringBuilder();
        foreach (var (path, body) in new[]
        {
            ("scroll", """{"limit": 1000, "with_payload": true}"""),
            ("count", """{"filter": {"must": [{"key": "k", "match": {"value": "k3"}}]}, "exact": true}"""),
            ("count", """{"filter": {"must": [{"key": "nested.a[]", "match": {"value": 2}}, {"key": "n", "range": {"lt": 200}}]}, "exact": true}"""),
            ("scroll", """{"filter": {"must": [{"key": "text", "match": {"text": "fizz"}}], "must_not": [{"key": "extra", "match": {"value": true}}]}, "limit": 1000, "with_payload": ["n"]}"""),
            ("query", """{"query": [0.1, 0.9, 0.3, 0.5], "filter": {"should": [{"key": "k", "match": {"any": ["k1", "replaced"]}}]}, "limit": 20, "with_payload": true}"""),
        })
        {
            var result = (await server.Post($"/collections/{collection}/points/{path}", body)).AssertOk().Result;
            answers.AppendLine(JsonSerializer.Serialize(result));
        }

        return answers.ToString();
    }

    [Fact]
    public async Task OnDiskPayloadsAnswerLikePayloadsInRamAndSurviveRestart()
    {
        var dataDir = TestServer.NewDataDir();
        try
        {
            string before;
            await using (var server = await TestServer.StartAsync(dataDir: dataDir))
            {
                (await server.Put("/collections/ram", """{"vectors": {"size": 4, "distance": "Cosine"}, "on_disk_payload": false}""")).AssertOk();
                (await server.Put("/collections/disk", """{"vectors": {"size": 4, "distance": "Cosine"}, "on_disk_payload": true}""")).AssertOk();
                await Apply(server, "ram");
                await Apply(server, "disk");
                before = await Answers(server, "ram");
                Assert.Equal(before, await Answers(server, "disk"));
                Assert.Contains("replaced", before);

                var disk = (await server.Get("/collections/disk")).AssertOk().Result;
                Assert.True(disk.GetProperty("config").GetProperty("params").GetProperty("on_disk_payload").GetBoolean());
                Assert.Equal(0, disk.GetProperty("storage").GetProperty("payload_ram_bytes").GetInt64());
                Assert.True(disk.GetProperty("storage").GetProperty("payload_disk_bytes").GetInt64() > 300 * 40);
                var ram = (await server.Get("/collections/ram")).AssertOk().Result.GetProperty("storage");
                Assert.True(ram.GetProperty("payload_ram_bytes").GetInt64() > 0);
                Assert.Equal(0, ram.GetProperty("payload_disk_bytes").GetInt64());
            }

            await using (var restarted = await TestServer.StartAsync(dataDir: dataDir))
            {
                Assert.Equal(before, await Answers(restarted, "disk"));
                Assert.Equal(before, await Answers(restarted, "ram"));
            }
        }
        finally
        {
            TestServer.TryDelete(dataDir);
        }
    }
}
