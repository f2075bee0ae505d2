using System.Net;
using System.Text;
using System.Text.Json;

namespace Vectorizer.Server.Tests;

/// <summary>
/// Static-role replication with real processes on 127.0.0.1: a master and replicas converge to identical data (the
/// checksum endpoint), a killed replica resumes with a partial resync (or a full one once it is outside the master's
/// log), write concern keeps an acknowledged write on a replica through a kill -9 of the master, and replicas forward
/// or refuse writes.
/// </summary>
[Trait("Category", "Slow")]
public sealed class ReplicationTests : IAsyncLifetime
{
    private readonly List<ReplicationNode> nodes = [];
    private readonly HttpClient http = new() { Timeout = TimeSpan.FromSeconds(60) };

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var node in nodes)
        {
            await node.DisposeAsync();
        }

        http.Dispose();
    }

    [Fact]
    public async Task MasterAndTwoReplicasConvergeThroughUpsertsPayloadsDeletesCollectionsAndAliases()
    {
        var master = await StartMasterAsync("m");
        var one = await StartReplicaAsync("r1", master);
        var two = await StartReplicaAsync("r2", master);

        await Send(master, HttpMethod.Put, "/collections/docs", """{"vectors": {"size": 4, "distance": "Cosine"}}""");
        await Send(master, HttpMethod.Put, "/collections/tags", """{"vectors": {"a": {"size": 2, "distance": "Dot"}}, "sparse_vectors": {"s": {}}}""");
        await Send(master, HttpMethod.Put, "/collections/docs/index", """{"field_name": "n", "field_schema": "integer"}""");
        for (var round = 0; round < 20; round++)
        {
            await Send(master, HttpMethod.Put, "/collections/docs/points?wait=true", Points(round * 10, 10));
            await Send(master, HttpMethod.Put, "/collections/tags/points", "{\"points\": [{\"id\": " + round + ", \"vector\": {\"a\": [1, " + round + "], \"s\": {\"indices\": [1, 7], \"values\": [0.5, " + round + "]}}}]}");
            await Send(master, HttpMethod.Post, "/collections/docs/points/payload", $$"""{"payload": {"round": {{round}}}, "points": [{{round * 10}}, {{(round * 10) + 1}}]}""");
            if (round % 3 == 0)
            {
                await Send(master, HttpMethod.Post, "/collections/docs/points/delete", $$"""{"points": [{{(round * 10) + 2}}]}""");
                await Send(master, HttpMethod.Post, "/collections/docs/points/delete", """{"filter": {"must": [{"key": "n", "match": {"value": 5}}]}}""");
            }
        }

        await Send(master, HttpMethod.Post, "/collections/aliases", """{"actions": [{"create_alias": {"collection_name": "docs", "alias_name": "current"}}, {"create_alias": {"collection_name": "tags", "alias_name": "labels"}}]}""");
        await Send(master, HttpMethod.Put, "/collections/scratch", """{"vectors": {"size": 2, "distance": "Euclid"}}""");
        await Send(master, HttpMethod.Put, "/collections/scratch/points?wait=true", """{"points": [{"id": 1, "vector": [1, 2]}]}""");
        await Send(master, HttpMethod.Delete, "/collections/scratch", null);
        await Send(master, HttpMethod.Patch, "/collections/docs", """{"optimizers_config": {"indexing_threshold": 1000}}""");
        await Send(master, HttpMethod.Put, "/collections/tags/vectors", """{"vectors": {"b": {"size": 3, "distance": "Euclid"}}}""", allowFailure: true);
        await Send(master, HttpMethod.Post, "/collections/aliases", """{"actions": [{"delete_alias": {"alias_name": "labels"}}]}""");

        var expected = await ConvergedAsync(master, one, two);
        using var doc = JsonDocument.Parse(expected);
        Assert.Equal(2, doc.RootElement.GetProperty("collections").EnumerateObject().Count());
        Assert.True(doc.RootElement.GetProperty("collections").GetProperty("docs").GetProperty("points").GetInt32() > 150);

        // Reads are served by replicas (through the alias too).
        var count = await Json(one, HttpMethod.Post, "/collections/current/points/count", """{"exact": true}""");
        Assert.Equal(doc.RootElement.GetProperty("collections").GetProperty("docs").GetProperty("points").GetInt32(), count.GetProperty("result").GetProperty("count").GetInt32());

        // Status: the master lists both replicas caught up, each replica knows its master.
        var status = await Json(master, HttpMethod.Get, "/api/replication/status", null);
        Assert.Equal("master", status.GetProperty("role").GetString());
        Assert.Equal(2, status.GetProperty("replicas").GetArrayLength());
        var head = status.GetProperty("applied_position").GetInt64();
        Assert.True(head > 60, $"head {head}");
        var replicaStatus = await Json(one, HttpMethod.Get, "/api/replication/status", null);
        Assert.Equal("replica", replicaStatus.GetProperty("role").GetString());
        Assert.Equal("m", replicaStatus.GetProperty("master").GetString());
        Assert.Equal(head, replicaStatus.GetProperty("applied_position").GetInt64());
    }

    [Fact]
    public async Task AKilledReplicaResumesWithAPartialResyncAndAfterTheLogMovedOnWithAFullOne()
    {
        var master = await StartMasterAsync("m", "  log_size: 300\n");
        var replica = await StartReplicaAsync("r1", master);
        await Send(master, HttpMethod.Put, "/collections/docs", """{"vectors": {"size": 4, "distance": "Dot"}}""");

        // kill -9 during a write stream; the master keeps taking writes meanwhile.
        // (100 operations: well within log_size.)
        var written = 0;
        var writer = Task.Run(async () =>
        {
            for (var i = 0; i < 100; i++)
            {
                await Send(master, HttpMethod.Put, "/collections/docs/points", Points(i, 1));
                Interlocked.Increment(ref written);
                await Task.Delay(10);
            }
        });
        while (Volatile.Read(ref written) < 30)
        {
            await Task.Delay(10);
        }

        replica.Process!.Kill();
        await writer;
        await replica.RestartAsync();
        await ConvergedAsync(master, replica);
        var status = (await Json(replica, HttpMethod.Get, "/api/replication/status", null)).GetProperty("replica");
        Assert.Equal(0, status.GetProperty("full_resyncs").GetInt32());
        Assert.Equal(1, status.GetProperty("partial_resyncs").GetInt32());

        // Down while more operations than log_size happen: a full resync.
        replica.Process!.Kill();
        for (var i = 0; i < 40; i++)
        {
            await Send(master, HttpMethod.Put, "/collections/docs/points", Points(1000 + (i * 10), 10));
            await Send(master, HttpMethod.Post, "/collections/docs/points/payload", $$"""{"payload": {"i": {{i}}}, "points": [{{1000 + (i * 10)}}]}""");
        }

        for (var i = 0; i < 300; i++)
        {
            await Send(master, HttpMethod.Post, "/collections/docs/points/payload", $$"""{"payload": {"j": {{i}}}, "points": [1000]}""");
        }

        // The full resync runs while the master keeps taking writes.
        using var stop = new CancellationTokenSource();
        var during = Task.Run(async () =>
        {
            for (var i = 0; !stop.IsCancellationRequested && i < 2000; i++)
            {
                await Send(master, HttpMethod.Put, "/collections/docs/points", Points(5000 + i, 1));
            }
        });
        await replica.RestartAsync();
        for (var deadline = DateTime.UtcNow.AddSeconds(60); (await Json(replica, HttpMethod.Get, "/api/replication/status", null)).GetProperty("replica").GetProperty("full_resyncs").GetInt32() < 1;)
        {
            Assert.True(DateTime.UtcNow < deadline, "no full resync within 60 s");
            await Task.Delay(50);
        }

        await stop.CancelAsync();
        await during;
        await ConvergedAsync(master, replica);
        status = (await Json(replica, HttpMethod.Get, "/api/replication/status", null)).GetProperty("replica");
        Assert.Equal(1, status.GetProperty("full_resyncs").GetInt32());
    }

    [Theory]
    [InlineData("all")]
    [InlineData("majority")]
    public async Task AWriteAcknowledgedUnderWriteConcernSurvivesAKillOfTheMasterOnAReplica(string concern)
    {
        var master = await StartMasterAsync("m", $"  write_concern: {concern}\n  replica_timeout_secs: 10\n");
        var one = await StartReplicaAsync("r1", master);
        var two = await StartReplicaAsync("r2", master);
        await Send(master, HttpMethod.Put, "/collections/docs", """{"vectors": {"size": 4, "distance": "Dot"}}""");
        await ConvergedAsync(master, one, two);
        await Send(master, HttpMethod.Put, "/collections/docs/points?wait=true", Points(0, 50));
        master.Process!.Kill();

        // all: both replicas hold it; majority (of 3): at least one does.
        var holding = 0;
        foreach (var replica in new[] { one, two })
        {
            var count = await Json(replica, HttpMethod.Post, "/collections/docs/points/count", """{"exact": true}""");
            holding += count.GetProperty("result").GetProperty("count").GetInt32() == 50 ? 1 : 0;
        }

        Assert.True(concern == "all" ? holding == 2 : holding >= 1, $"{holding} replicas hold the write");
    }

    [Fact]
    public async Task WriteConcernThatCannotBeMetFailsWithTheNumberThatAcknowledged()
    {
        var master = await StartMasterAsync("m", "  write_concern: all\n  replica_timeout_secs: 2\n");
        var replica = await StartReplicaAsync("r1", master);
        await Send(master, HttpMethod.Put, "/collections/docs", """{"vectors": {"size": 4, "distance": "Dot"}}""");
        await ConvergedAsync(master, replica);
        replica.Process!.Kill();
        using var response = await http.SendAsync(Request(master, HttpMethod.Put, "/collections/docs/points?wait=true", Points(0, 1)));
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("0 of 1 known replica(s) acknowledged", body, StringComparison.Ordinal);

        // wait=false never waits.
        await Send(master, HttpMethod.Put, "/collections/docs/points", Points(1, 1));
    }

    [Fact]
    public async Task AReplicaForwardsWritesToTheMasterOrRefusesThemNamingIt()
    {
        var master = await StartMasterAsync("m");
        var forwarding = await StartReplicaAsync("r1", master);
        var refusing = await StartReplicaAsync("r2", master, "  forward_writes: false\n");
        await Send(master, HttpMethod.Put, "/collections/docs", """{"vectors": {"size": 4, "distance": "Dot"}}""");
        await ConvergedAsync(master, forwarding, refusing);

        var before = (await Json(master, HttpMethod.Get, "/api/replication/status", null)).GetProperty("applied_position").GetInt64();
        await Send(forwarding, HttpMethod.Put, "/collections/docs/points?wait=true", Points(0, 5));
        var onMaster = await Json(master, HttpMethod.Post, "/collections/docs/points/count", """{"exact": true}""");
        Assert.Equal(5, onMaster.GetProperty("result").GetProperty("count").GetInt32());

        using var refused = await http.SendAsync(Request(refusing, HttpMethod.Put, "/collections/docs/points?wait=true", Points(10, 1)));
        Assert.Equal(HttpStatusCode.MisdirectedRequest, refused.StatusCode);
        var message = await refused.Content.ReadAsStringAsync();
        Assert.Contains("master m at " + master.Url, message, StringComparison.Ordinal);

        // Status numbers move: the master's head and each replica's acknowledged position.
        await ConvergedAsync(master, forwarding, refusing);
        var status = await Json(master, HttpMethod.Get, "/api/replication/status", null);
        var head = status.GetProperty("applied_position").GetInt64();
        Assert.True(head > before);
        foreach (var replica in status.GetProperty("replicas").EnumerateArray())
        {
            Assert.Equal(head, replica.GetProperty("acknowledged_position").GetInt64());
            Assert.Equal(0, replica.GetProperty("lag_operations").GetInt64());
        }
    }

    // ------------------------------------------------------------------ helpers

    private Task<ReplicationNode> StartMasterAsync(string id, string extra = "") => StartNodeAsync(id, "  role: master\n" + extra);

    private Task<ReplicationNode> StartReplicaAsync(string id, ReplicationNode master, string extra = "") =>
        StartNodeAsync(id, ReplicationNode.Follow(master) + extra);

    private async Task<ReplicationNode> StartNodeAsync(string id, string replication)
    {
        var node = await ReplicationNode.StartAsync("replication-", id, replication);
        nodes.Add(node);
        return node;
    }

    private static string Points(int first, int count)
    {
        var builder = new StringBuilder("""{"points": [""");
        for (var i = 0; i < count; i++)
        {
            var id = first + i;
            builder.Append(i == 0 ? "" : ",").Append(System.Globalization.CultureInfo.InvariantCulture, $$$"""{"id": {{{id}}}, "vector": [{{{(id % 7) + 1}}}, {{{id % 5}}}, 1, {{{id % 3}}}], "payload": {"n": {{{id % 10}}}, "s": "p{{{id}}}"}}""");
        }

        return builder.Append("]}").ToString();
    }

    private static HttpRequestMessage Request(ReplicationNode node, HttpMethod method, string path, string? body) =>
        new(method, node.Url + path) { Content = body is null ? null : new StringContent(body, Encoding.UTF8, "application/json") };

    private async Task Send(ReplicationNode node, HttpMethod method, string path, string? body, bool allowFailure = false)
    {
        using var response = await http.SendAsync(Request(node, method, path, body));
        if (!allowFailure && !response.IsSuccessStatusCode)
        {
            Assert.Fail($"{method} {path} on {node.Id}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    private async Task<JsonElement> Json(ReplicationNode node, HttpMethod method, string path, string? body)
    {
        using var response = await http.SendAsync(Request(node, method, path, body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{method} {path} on {node.Id}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    /// <summary>Waits until every node's checksum equals the first's (and stays so for a moment); returns it.</summary>
    private async Task<string> ConvergedAsync(params ReplicationNode[] group)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        var last = new string[group.Length];
        while (true)
        {
            for (var i = 0; i < group.Length; i++)
            {
                last[i] = (await Json(group[i], HttpMethod.Get, "/api/replication/checksum", null)).GetRawText();
            }

            if (last.All(c => c == last[0]))
            {
                return last[0];
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail("nodes did not converge:\n" + string.Join("\n---\n", last) + "\n" +
                    string.Join("\n===\n", group.Select(n => n.Id + ":\n" + n.Process?.Output[^Math.Min(4000, n.Process.Output.Length)..])));
            }

            await Task.Delay(250);
        }
    }
}
